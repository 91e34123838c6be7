package io.meridian.launcher;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A simulated regional application for the demo and the end-to-end tests. It answers every request with its
 * region's name, reports health on {@code /healthz} (with replication watermarks, as a real regional app may),
 * and can be broken and restored on request:
 *
 * <pre>
 *   curl -X POST http://127.0.0.1:18081/admin/break     # /healthz answers 503 and requests get 503
 *   curl -X POST http://127.0.0.1:18081/admin/restore
 * </pre>
 */
public final class DemoApp {
  /**
   * The demo apps' writes, by region: each app's commit position, which every peer has applied as soon as it is
   * made (a healthy demo region never lags). The checkers read both from {@code /healthz}, so the controller can
   * tell the data-loss risk of a home promotion ({@code none} here) instead of {@code unknown}.
   */
  public static final class Replication {
    private final Map<String, AtomicLong> positions = new ConcurrentHashMap<>();

    AtomicLong position(String region) {
      return positions.computeIfAbsent(region, r -> new AtomicLong());
    }
  }

  private final Vertx vertx;
  private final String region;
  private final List<String> peers;
  private final Replication replication;
  private final AtomicBoolean broken = new AtomicBoolean();
  private final AtomicLong commitPosition;
  private HttpServer server;

  /** The service this app is in its region: "web" (the region's own upstreams) or "api". */
  private final String service;

  private DemoApp(Vertx vertx, String region, List<String> peers, Replication replication, String service) {
    this.service = service;
    this.vertx = vertx;
    this.region = region;
    this.peers = peers;
    this.replication = replication;
    this.commitPosition = replication.position(region);
  }

  public static DemoApp create(Vertx vertx, String region, List<String> peers) {
    return create(vertx, region, peers, new Replication());
  }

  /** An app whose writes {@code replication} shares with its peers. */
  public static DemoApp create(Vertx vertx, String region, List<String> peers, Replication replication) {
    return new DemoApp(vertx, region, peers, replication, "web");
  }

  /** The region's API service: answers JSON naming its service and region (the demo's second service). */
  public static DemoApp api(Vertx vertx, String region) {
    return new DemoApp(vertx, region, List.of(), new Replication(), "api");
  }

  public String region() {
    return region;
  }

  public int port() {
    return server.actualPort();
  }

  public boolean isBroken() {
    return broken.get();
  }

  public void setBroken(boolean value) {
    broken.set(value);
  }

  public Future<DemoApp> listen(String host, int port) {
    return vertx.createHttpServer().requestHandler(req -> {
      String path = req.path();
      if (path.equals("/admin/break") || path.equals("/admin/restore")) {
        broken.set(path.endsWith("break"));
        req.response().end(region + (broken.get() ? " is now broken\n" : " is restored\n"));
        return;
      }
      if (broken.get()) {
        req.response().setStatusCode(503).end(region + " is broken\n");
        return;
      }
      if (path.equals("/healthz")) {
        // its own commit position and every peer's, applied as soon as made: a healthy demo region never lags
        JsonObject applied = new JsonObject().put(region, commitPosition.get());
        peers.forEach(p -> applied.put(p, replication.position(p).get()));
        req.response().putHeader("content-type", "application/json")
            .end(new JsonObject().put("status", "ok").put("region", region).put("applied", applied).encode());
        return;
      }
      req.body().onSuccess(body -> {
        var resp = req.response().putHeader("X-App-Region", region).putHeader("content-type", "text/plain");
        if (!req.method().name().equals("GET") && !req.method().name().equals("HEAD")) {
          resp.putHeader("X-Commit-Position", Long.toString(commitPosition.incrementAndGet()));
        }
        if (service.equals("api")) {
          resp.putHeader("content-type", "application/json").end(new JsonObject().put("service", service)
              .put("region", region).put("path", path).encode() + "\n");
        } else {
          resp.end("hello from " + region + "\n");
        }
      });
    }).listen(port, host).map(s -> {
      server = s;
      return this;
    });
  }

  public Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }
}
