package io.meridian.geodns.impl;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.net.InetAddress;

/** {@code GET /v1/explain?client=IP&name=NAME}: the JSON form of the explain TXT answer. */
final class ExplainHandler implements Handler<RoutingContext> {
  private final GeoDnsServer server;

  ExplainHandler(GeoDnsServer server) {
    this.server = server;
  }

  @Override
  public void handle(RoutingContext rc) {
    // dns.explain, as for the explain TXT name: the caller's own address decides. Over HTTP a plain 403 (no
    // resolver caches it), saying which key to change
    ClientNetworks allowed = server.pipeline().settings().explainClients();
    io.vertx.core.net.SocketAddress remote = rc.request().remoteAddress();
    byte[] caller = remote == null ? null : ClientAddress.parse(remote.hostAddress());
    if (caller == null || !allowed.contains(caller)) {
      error(rc, 403, allowed.isOff() ? "explanations are off (dns.explain: off)"
          : "explanations are not offered to " + (remote == null ? "this caller" : remote.hostAddress())
              + " (dns.explain lists the client networks allowed)");
      return;
    }
    String client = rc.request().getParam("client");
    String name = rc.request().getParam("name");
    if (client == null || name == null) {
      error(rc, 400, "query parameters client and name are required, e.g. ?client=198.51.100.7&name=www.example.com");
      return;
    }
    InetAddress addr;
    try {
      addr = InetAddress.getByAddress(GeoDnsServer.addressBytes(client.trim()));
    } catch (java.net.UnknownHostException e) {
      error(rc, 400, "client: '" + client + "' (expected: an IPv4 or IPv6 address literal)");
      return;
    }
    server.explain(addr, name.trim()).onSuccess(e -> rc.response().putHeader("content-type", "application/json")
        .end(e.toJson().encodePrettily())).onFailure(e -> error(rc, 404, e.getMessage()));
  }

  private static void error(RoutingContext rc, int status, String message) {
    rc.response().setStatusCode(status).putHeader("content-type", "application/json")
        .end(new io.vertx.core.json.JsonObject().put("error", message).encode());
  }
}
