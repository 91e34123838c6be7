package io.meridian.geodns.impl;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A batched UDP listener: {@link NativeUdpListener} (blocking {@code recvmmsg}/{@code sendmmsg} on threads of its
 * own, as gdnsd does) where the JVM allows it, else {@link EpollUdpListener} (Netty's epoll datagram channel on the
 * event loops). {@link DnsListeners} falls back to Vert.x's {@code DatagramSocket} when neither is available.
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
      String why = nativeUnavailableReason();
      if (why == null) {
        try {
          return (UdpListener) nativeListener().getDeclaredMethod("create", Vertx.class, AnswerPipeline.class)
              .invoke(null, vertx, pipeline);
        } catch (ReflectiveOperationException e) {
          why = e.toString();
        }
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

  /**
   * Null when {@link NativeUdpListener} can run here, else why not. Checked before that class is touched: its
   * code links against {@code jdk.incubator.foreign}, which is only there on Java 17 started with
   * {@code --add-modules jdk.incubator.foreign --enable-native-access=ALL-UNNAMED} (what {@code ./meridian} does).
   */
  static String nativeUnavailableReason() {
    String os = System.getProperty("os.name", "");
    String arch = System.getProperty("os.arch", "");
    if (!os.equals("Linux") || !(arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"))) {
      return "needs Linux on x86_64 or aarch64, this is " + os + "/" + arch;
    }
    if (ModuleLayer.boot().findModule("jdk.incubator.foreign").isEmpty()) {
      return "the JVM was not started with --add-modules jdk.incubator.foreign (Java 17)";
    }
    try {
      nativeListener().getDeclaredMethod("probe").invoke(null);
      return null;
    } catch (java.lang.reflect.InvocationTargetException e) {
      Throwable cause = e.getCause() instanceof ExceptionInInitializerError ei ? ei.getCause() : e.getCause();
      return cause instanceof IllegalCallerException
          ? "the JVM was not started with --enable-native-access=ALL-UNNAMED" : String.valueOf(cause);
    } catch (ReflectiveOperationException | LinkageError e) {
      // built on a JDK other than 17 (the class is left out), or an incubator API that differs: not here
      return e.toString();
    }
  }

  /**
   * Reached by name: it is compiled only on Java 17 (the one JDK with that incubator API), and linking it must not
   * be attempted before {@link #nativeUnavailableReason()} has checked the JVM's flags.
   */
  private static Class<?> nativeListener() throws ClassNotFoundException {
    return Class.forName("io.meridian.geodns.impl.NativeUdpListener");
  }
}
