package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.core.geo.ClientLocation;
import io.meridian.core.geo.Zones;
import io.meridian.proxy.ProxyOutcome;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;

/**
 * Entry of the Vert.x transport on one event loop: limits → route match → locate client → hand over to a
 * {@link VertxExchange}. Each event loop has its own handler and its own upstream {@link HttpClient}, so a
 * request and its upstream connection stay on one thread.
 */
final class ProxyHandler extends ProxyLoop implements Handler<HttpServerRequest> {
  final HttpClient client;
  final io.vertx.core.Vertx vertx;
  private final java.util.List<Long> timers = new java.util.ArrayList<>();

  ProxyHandler(io.vertx.core.Vertx vertx, ProxyEngine engine, HttpClient client, AccessLog accessLog) {
    super(engine, accessLog);
    this.vertx = vertx;
    this.client = client;
  }

  @Override
  public void handle(HttpServerRequest req) {
    ProxyEngine.Snapshot s = engine.snapshot();
    ProxyConfig cfg = s.proxy();
    long start = System.nanoTime();
    req.pause(); // the body waits until an upstream is connected: nothing is read that could not be re-sent
    RequestView view = new VertxExchange.View(req);
    ProxyOutcome bad = RequestChecks.check(req, cfg.limits());
    if (bad != null) {
      Exchange.countRefusal(this, view, bad, start);
      VertxExchange.writeError(req, bad, null, cfg, true);
      return;
    }
    ProxyEngine.RouteRuntime route = s.route(view.host(), req.path(), req.method().name());
    SocketAddress peer = req.remoteAddress();
    byte[] ip = ClientAddress.of(peer == null ? null : peer.hostAddress(), req.headers().getAll("x-forwarded-for"),
        cfg.trustedHops());
    ClientLocation loc = ip == null ? null : engine.geo.locate(ip);
    int zone = loc == null ? Zones.UNKNOWN : loc.zone();
    new VertxExchange(this, s, req, view, route, ip, zone, start).begin();
  }

  private io.vertx.core.http.WebSocketClient webSockets;

  io.vertx.core.http.WebSocketClient webSockets() {
    if (webSockets == null) {
      webSockets = vertx.createWebSocketClient(new io.vertx.core.http.WebSocketClientOptions()
          .setMaxFrameSize(1 << 20).setMaxMessageSize(16 << 20));
    }
    return webSockets;
  }

  @Override
  void schedule(long delayMs, Runnable task) {
    vertx.setTimer(delayMs, id -> task.run());
  }

  @Override
  void periodic(long periodMs, Runnable task) {
    timers.add(vertx.setPeriodic(periodMs, id -> task.run()));
  }

  @Override
  void close() {
    timers.forEach(vertx::cancelTimer);
    timers.clear();
  }
}
