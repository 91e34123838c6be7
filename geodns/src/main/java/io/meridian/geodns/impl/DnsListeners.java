package io.meridian.geodns.impl;

import io.meridian.config.DnsConfig;
import io.meridian.config.ListenAddress;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.parsetools.RecordParser;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The DNS sockets: UDP ({@link UdpListener}: {@link NativeUdpListener} or {@link EpollUdpListener} — batched
 * {@code recvmmsg}/{@code sendmmsg}, {@code udp_sockets} sockets sharing the port with SO_REUSEPORT — where the JVM
 * and the kernel allow; else one
 * Vert.x {@code DatagramSocket}, or {@code udp_sockets} of them when Vert.x runs on the native transport) and TCP with RFC 7766 framing, pipelining and an
 * idle timeout. Both hand every message to the {@link AnswerPipeline} on the event loop that read it.
 */
final class DnsListeners {
  private static final Logger LOG = LoggerFactory.getLogger(DnsListeners.class);
  /** Attempts at finding a port free for both UDP and TCP when the config asks for port 0. */
  private static final int PORT_ATTEMPTS = 20;

  private final Vertx vertx;
  private final AnswerPipeline pipeline;
  private final DnsConfig config;
  private final List<DatagramSocket> udp = new ArrayList<>();
  /** UDP with batched reads and writes ({@link UdpListener#create}), when available; else {@link #udp} is used. */
  private UdpListener batchedUdp;
  private NetServer tcp;
  private volatile int port = -1;

  DnsListeners(Vertx vertx, AnswerPipeline pipeline, DnsConfig config) {
    this.vertx = vertx;
    this.pipeline = pipeline;
    this.config = config;
  }

  ListenAddress configured() {
    return config.listen();
  }

  int port() {
    return port;
  }

  Future<Void> bind() {
    return bind(PORT_ATTEMPTS);
  }

  private Future<Void> bind(int attemptsLeft) {
    ListenAddress at = config.listen();
    return bindUdp(at.host(), at.port()).compose(udpPort -> bindTcp(at.host(), udpPort).map(udpPort)
        .recover(e -> {
          // port 0: the kernel gave UDP a port that TCP cannot have; try another
          Future<Void> closing = closeUdp();
          if (at.port() == 0 && attemptsLeft > 1) {
            return closing.compose(v -> bind(attemptsLeft - 1)).map(-1);
          }
          return closing.compose(v -> Future.failedFuture(e));
        }))
        .map(p -> {
          if (p >= 0) {
            port = p;
          }
          return null;
        });
  }

  private Future<Integer> bindUdp(String host, int wantedPort) {
    batchedUdp = UdpListener.create(vertx, pipeline, config.udpSockets());
    if (batchedUdp != null) {
      pipeline.metrics().udpListener(batchedUdp.kind());
      UdpListener listener = batchedUdp;
      // a failed bind (port in use) must not leave the listener's threads behind
      return listener.bind(host, wantedPort, config.udpSockets())
          .recover(e -> listener.close().transform(closed -> Future.<Integer>failedFuture(e)));
    }
    pipeline.metrics().udpListener("vertx");
    LOG.info("no batched UDP listener here: UDP on Vert.x DatagramSocket (one packet per syscall)");
    boolean native_ = vertx.isNativeTransportEnabled();
    int n = native_ ? config.udpSockets() : 1;
    if (!native_ && config.udpSockets() > 1) {
      LOG.warn("dns.udp_sockets={} needs the native transport (SO_REUSEPORT); using 1 socket",
          config.udpSockets());
    }
    DatagramSocketOptions options = new DatagramSocketOptions().setReuseAddress(true)
        .setReusePort(native_ && n > 1)
        .setIpV6(host.contains(":"));
    return listenUdp(options, host, wantedPort).compose(first -> {
      int actual = first.localAddress().port();
      List<Future<DatagramSocket>> more = new ArrayList<>();
      for (int i = 1; i < n; i++) {
        more.add(listenUdp(options, host, actual));
      }
      return Future.all(more).map(actual);
    });
  }

  private Future<DatagramSocket> listenUdp(DatagramSocketOptions options, String host, int p) {
    DatagramSocket socket = vertx.createDatagramSocket(options);
    socket.handler(packet -> {
      SocketAddress sender = packet.sender();
      byte[] src = ClientAddress.parse(sender.hostAddress());
      if (src == null) {
        return;
      }
      byte[] out = pipeline.handle(packet.data().getBytes(), src, Transport.UDP);
      if (out != null) {
        socket.send(Buffer.buffer(out), sender.port(), sender.hostAddress());
      }
    });
    socket.exceptionHandler(e -> LOG.debug("udp socket error", e));
    return socket.listen(p, host).onSuccess(udp::add);
  }

  private Future<Void> bindTcp(String host, int p) {
    NetServerOptions options = new NetServerOptions().setHost(host).setPort(p).setReuseAddress(true)
        .setTcpNoDelay(true).setIdleTimeout((int) Math.max(1, config.tcpIdleTimeout().toSeconds()))
        .setIdleTimeoutUnit(TimeUnit.SECONDS);
    NetServer server = vertx.createNetServer(options);
    server.connectHandler(this::serveTcp);
    return server.listen().map(s -> {
      tcp = s;
      return null;
    });
  }

  /**
   * RFC 1035 §4.2.2 framing (two-byte length, then the message); RFC 7766 §6.2.1.1: queries pipelined on one
   * connection are each answered as soon as done — here synchronously, so in order.
   */
  private void serveTcp(NetSocket socket) {
    byte[] src = ClientAddress.parse(socket.remoteAddress().hostAddress());
    if (src == null) {
      socket.close();
      return;
    }
    RecordParser parser = RecordParser.newFixed(2);
    parser.handler(new io.vertx.core.Handler<>() {
      int expected = -1;

      @Override
      public void handle(Buffer chunk) {
        if (expected < 0) {
          expected = chunk.getUnsignedShort(0);
          if (expected == 0) {
            socket.close(); // a zero-length message is not DNS
            return;
          }
          parser.fixedSizeMode(expected);
        } else {
          expected = -1;
          parser.fixedSizeMode(2);
          byte[] out = pipeline.handle(chunk.getBytes(), src, Transport.TCP);
          if (out != null) {
            socket.write(GeoDnsServer.frame(out));
          }
        }
      }
    });
    socket.handler(parser);
    socket.exceptionHandler(e -> socket.close());
  }

  private Future<Void> closeUdp() {
    List<Future<Void>> all = new ArrayList<>();
    if (batchedUdp != null) {
      all.add(batchedUdp.close());
      batchedUdp = null;
    }
    for (DatagramSocket s : udp) {
      all.add(s.close());
    }
    udp.clear();
    return Future.join(all).mapEmpty();
  }

  Future<Void> close() {
    List<Future<?>> all = new ArrayList<>();
    all.add(closeUdp());
    if (tcp != null) {
      all.add(tcp.close());
    }
    return Future.join(all).mapEmpty();
  }
}
