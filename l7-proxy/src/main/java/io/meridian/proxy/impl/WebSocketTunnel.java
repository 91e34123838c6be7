package io.meridian.proxy.impl;

import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import java.util.Arrays;
import java.util.Map;

/**
 * WebSocket pass-through (RFC 6455): the upstream handshake is completed first, so a refused or failed upstream
 * can still be retried elsewhere or answered with an HTTP error; only then is the client upgraded. Frames are
 * relayed as frames (text stays text, fragmentation is kept) with back-pressure in both directions; a close on
 * either side closes the other.
 */
final class WebSocketTunnel {
  private WebSocketTunnel() {}

  static boolean isUpgrade(HttpServerRequest req) {
    String up = req.getHeader("upgrade");
    return up != null && up.equalsIgnoreCase("websocket");
  }

  /** Connects to the upstream with the client's end-to-end headers and subprotocols. */
  static Future<WebSocket> connectUpstream(WebSocketClient client, HttpServerRequest req, Upstream up,
      long connectTimeoutMs, Map<String, String> forwarding) {
    WebSocketConnectOptions o = new WebSocketConnectOptions().setHost(up.host).setPort(up.port).setSsl(up.ssl)
        .setURI(req.uri()).setConnectTimeout(connectTimeoutMs);
    String protocols = req.getHeader("sec-websocket-protocol");
    if (protocols != null) {
      o.setSubProtocols(Arrays.stream(protocols.split(",")).map(String::trim).toList());
    }
    for (Map.Entry<String, String> e : req.headers()) {
      String n = e.getKey();
      if (!Headers.isHopByHop(n) && !n.regionMatches(true, 0, "sec-websocket-", 0, 14)) {
        o.addHeader(n, e.getValue());
      }
    }
    if (req.authority() != null) {
      o.addHeader("host", req.authority().toString());
    }
    forwarding.forEach(o::putHeader);
    return client.connect(o);
  }

  /** Upgrades the client and relays frames until either side closes; completes when both are closed. */
  static Future<Void> splice(HttpServerRequest req, WebSocket upstream) {
    return req.toWebSocket().map(client -> {
      relay(client, upstream);
      relay(upstream, client);
      client.closeHandler(v -> upstream.close());
      upstream.closeHandler(v -> client.close());
      return null;
    }).onFailure(err -> upstream.close()).mapEmpty();
  }

  private static void relay(WebSocketBase from, WebSocketBase to) {
    from.frameHandler(frame -> {
      if (frame.isClose()) {
        return; // closeHandler closes the other side with its own close frame
      }
      to.writeFrame(frame);
      if (to.writeQueueFull()) {
        from.pause();
        to.drainHandler(v -> from.resume());
      }
    });
  }
}
