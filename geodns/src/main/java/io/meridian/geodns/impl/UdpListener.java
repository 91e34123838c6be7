package io.meridian.geodns.impl;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A batched UDP listener: {@link NativeUdpListener} (blocking {@code recvmmsg}/{@code sendmmsg} on threads of its
 * own, as gdnsd does) where the JVM has a {@link LibcBinding} (Java 17 or 22+ with the flags {@code ./meridian}
 * passes), else {@link EpollUdpListener} (Netty's epoll datagram channel on the event loops). {@link DnsListeners} falls back to Vert.x's {@code DatagramSocket} when neither is available.
 *
 * <p>{@code -Dmeridian.geodns.udp=native|epoll|vertx} picks one (tests and the A/B benchmark use it); the default
 * is the first available in that order.
 */
interface UdpListener {
  Logger LOG = LoggerFactory.getLogger(UdpListener.class);

  /** Binds {@code sockets} sockets to host:port (port 0: one the kernel picks); the future has the bound port. */
  Future<Integer> bind(String host, int port, int sockets);

  /** "native" or "epoll": the {@code listener} label of {@code meridian_geodns_udp_listener_info}. */
  String kind();

  /** Closes the sockets and stops their threads, if any. */
  Future<Void> close();

  /** The transport asked for with {@code -Dmeridian.geodns.udp} ({@code vertxUdp=true} is the older spelling). */
  static String requested() {
    if (Boolean.getBoolean("meridian.geodns.vertxUdp")) {
      return "vertx";
    }
    return System.getProperty("meridian.geodns.udp", "auto");
  }

  /** The best batched listener this JVM can run, or null when UDP has to go through Vert.x's socket. */
  static UdpListener create(Vertx vertx, AnswerPipeline pipeline, int sockets) {
    String wanted = requested();
    if (wanted.equals("vertx")) {
      return null;
    }
    if (wanted.equals("auto") || wanted.equals("native")) {
      String why = LibcBinding.unavailableReason();
      if (why == null) {
        return NativeUdpListener.create(vertx, pipeline);
      }
      if (wanted.equals("native")) {
        LOG.warn("native UDP listener requested but unavailable ({}); trying epoll", why);
      } else {
        LOG.info("native UDP listener unavailable ({}); trying Netty's epoll channel", why);
      }
    }
    if (EpollUdpListener.available()) {
      return EpollUdpListener.create(vertx, pipeline, sockets);
    }
    return null;
  }
}
