package io.meridian.checker;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A vantage point's network link in tests: forwards TCP connections to a target; {@link #cut()} blocks it
 * (connections accepted but never forwarded nor answered — a black hole, as a partition looks to a prober).
 */
final class TcpForwarder {
  private final NetServer server;
  private volatile boolean cut;
  private final Set<NetSocket> open = ConcurrentHashMap.newKeySet();

  private TcpForwarder(NetServer server) {
    this.server = server;
  }

  static Future<TcpForwarder> start(Vertx vertx, int targetPort) {
    TcpForwarder[] self = new TcpForwarder[1];
    NetServer server = vertx.createNetServer().connectHandler(in -> {
      if (self[0].cut) {
        self[0].open.add(in); // swallow: the probe sees a hang, then its timeout
        in.handler(b -> { });
        return;
      }
      in.pause();
      vertx.createNetClient().connect(targetPort, "127.0.0.1").onComplete(ar -> {
        if (ar.failed()) {
          in.close();
          return;
        }
        NetSocket out = ar.result();
        in.pipeTo(out);
        out.pipeTo(in);
        in.resume();
      });
    });
    self[0] = new TcpForwarder(server);
    return server.listen(0, "127.0.0.1").map(s -> self[0]);
  }

  int port() {
    return server.actualPort();
  }

  void cut() {
    cut = true;
  }
}
