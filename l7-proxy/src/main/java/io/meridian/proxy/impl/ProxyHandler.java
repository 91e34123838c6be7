package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.core.geo.ClientLocation;
import io.meridian.core.geo.Zones;
import io.meridian.proxy.ProxyOutcome;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SocketAddress;

/**
 * Entry of the request pipeline on one event loop: limits → route match → locate client → hand over to an
 * {@link Exchange}, which chooses the region and streams the request. Each event loop has its own handler and
 * its own upstream {@link HttpClient}, so a request and its upstream connection stay on one thread.
 */
final class ProxyHandler implements Handler<HttpServerRequest> {
  final ProxyEngine engine;
  final HttpClient client;
  final AccessLog accessLog;
  final io.vertx.core.Vertx vertx;
  private Sessions sessions;
  /** Exchanges waiting for response headers, in deadline order (one timeout value per config). */
  private final java.util.ArrayDeque<Exchange> awaiting = new java.util.ArrayDeque<>();
  private long sweeper = -1;

  ProxyHandler(io.vertx.core.Vertx vertx, ProxyEngine engine, HttpClient client, AccessLog accessLog) {
    this.vertx = vertx;
    this.engine = engine;
    this.client = client;
    this.accessLog = accessLog;
  }

  @Override
  public void handle(HttpServerRequest req) {
    ProxyEngine.Snapshot s = engine.snapshot();
    ProxyConfig cfg = s.proxy();
    long start = System.nanoTime();
    req.pause(); // the body waits until an upstream is connected: nothing is read that could not be re-sent

    ProxyOutcome bad = RequestChecks.check(req, cfg.limits());
    if (bad != null) {
      Exchange.refuse(this, req, bad, null, start, true);
      return;
    }
    String host = req.authority() == null ? null : req.authority().host();
    ProxyEngine.RouteRuntime route = s.route(host, req.path(), req.method().name());
    SocketAddress peer = req.remoteAddress();
    byte[] ip = ClientAddress.of(peer == null ? null : peer.hostAddress(), req.headers().getAll("x-forwarded-for"),
        cfg.trustedHops());
    ClientLocation loc = ip == null ? null : engine.geo.locate(ip);
    int zone = loc == null ? Zones.UNKNOWN : loc.zone();
    Exchange x = new Exchange(this, s, req, route, ip, zone, ClientAddress.subnetHash(ip), start);
    x.begin();
  }

  private io.vertx.core.http.WebSocketClient webSockets;

  io.vertx.core.http.WebSocketClient webSockets() {
    if (webSockets == null) {
      webSockets = vertx.createWebSocketClient(new io.vertx.core.http.WebSocketClientOptions()
          .setMaxFrameSize(1 << 20).setMaxMessageSize(16 << 20));
    }
    return webSockets;
  }

  void awaitResponse(Exchange x) {
    awaiting.addLast(x);
    if (sweeper < 0) {
      // 50 ms granularity is ample for timeouts of seconds; one timer per event loop, not per request
      sweeper = vertx.setPeriodic(50, id -> sweep());
    }
  }

  private void sweep() {
    long now = System.nanoTime();
    Exchange head;
    while ((head = awaiting.peekFirst()) != null && head.checkResponseDeadline(now)) {
      awaiting.pollFirst();
    }
  }

  void close() {
    if (sweeper >= 0) {
      vertx.cancelTimer(sweeper);
      sweeper = -1;
    }
  }

  /** This event loop's identity/token state for the snapshot's config, rebuilt when the config changes. */
  Sessions sessions(ProxyEngine.Snapshot s) {
    Sessions ss = sessions;
    if (ss == null || ss.cfg != s.proxy()) {
      ss = new Sessions(engine.config(), engine.metrics);
      sessions = ss;
    }
    return ss;
  }

  static boolean isHttp2(HttpServerRequest req) {
    return req.version() == HttpVersion.HTTP_2;
  }
}
