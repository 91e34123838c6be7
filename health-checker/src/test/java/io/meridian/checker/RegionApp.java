package io.meridian.checker;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real regional app for tests: an HTTP server on an ephemeral port whose health endpoint can be switched to
 * fail in each of the ways a region fails — 500, hang (accept and never answer), slow, wrong body — or be
 * stopped and restarted on the same port.
 */
final class RegionApp {
  enum Mode { OK, ERROR_500, HANG, SLOW, WRONG_BODY }

  private final Vertx vertx;
  private final String region;
  private volatile Mode mode = Mode.OK;
  private volatile long slowMs = 0;
  private volatile String watermarksJson = null;
  final AtomicInteger served = new AtomicInteger();
  private HttpServer server;
  private int port;

  private RegionApp(Vertx vertx, String region) {
    this.vertx = vertx;
    this.region = region;
  }

  static Future<RegionApp> start(Vertx vertx, String region) {
    RegionApp app = new RegionApp(vertx, region);
    return app.listen(0).map(app);
  }

  private Future<Void> listen(int p) {
    return vertx.createHttpServer(new HttpServerOptions().setReuseAddress(true)).requestHandler(req -> {
      served.incrementAndGet();
      Mode m = mode;
      switch (m) {
        case OK -> req.response().putHeader("content-type", "application/json").end(body());
        case ERROR_500 -> req.response().setStatusCode(500).end("{\"status\":\"broken\"}");
        case HANG -> { } // accept, read the request, never answer
        case SLOW -> vertx.setTimer(slowMs, t -> req.response().end(body()));
        case WRONG_BODY -> req.response().end("{\"status\":\"maintenance\"}");
      }
    }).listen(p, "127.0.0.1").onSuccess(s -> {
      server = s;
      port = s.actualPort();
    }).mapEmpty();
  }

  private String body() {
    String marks = watermarksJson;
    return "{\"status\":\"ok\",\"region\":\"" + region + "\"" + (marks == null ? "" : ",\"applied\":" + marks) + "}";
  }

  int port() {
    return port;
  }

  String url() {
    return "http://127.0.0.1:" + port + "/health";
  }

  void mode(Mode m) {
    mode = m;
  }

  void slow(long ms) {
    slowMs = ms;
    mode = Mode.SLOW;
  }

  void watermarks(String json) {
    watermarksJson = json;
  }

  /** Stops listening: new connections are refused. */
  Future<Void> stop() {
    return server.close();
  }

  /** Listens again on the same port. */
  Future<Void> restart() {
    return listen(port);
  }
}
