package io.meridian.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free ports for servers that a process (the demo, a test, the drill) starts on loopback.
 *
 * <p>A port taken with {@code new ServerSocket(0)} comes from the kernel's ephemeral range
 * ({@code net.ipv4.ip_local_port_range}, 32768–60999 by default), the same range every outgoing connection's local
 * port comes from. Between choosing the port and the server binding it, any client connection on the machine (to etcd,
 * to an app, a health probe) may be given that port as its local end, and the server then fails with "Address already
 * in use" — CI failed once exactly so. Ports here are chosen below the ephemeral range, where the kernel never assigns
 * local ports on its own, and each is handed out once per JVM.
 */
public final class LoopbackPorts {
  /** Lowest port handed out: above the well-known and most registered service ports. */
  static final int LOWEST = 15000;

  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private LoopbackPorts() {}

  /** A TCP port free on {@code host} (an IP literal), outside the ephemeral range where possible. */
  public static int tcp(String host) {
    return choose(host, false);
  }

  /** A TCP port free on 127.0.0.1. */
  public static int tcp() {
    return tcp("127.0.0.1");
  }

  /** A port free for both UDP and TCP on 127.0.0.1 (a DNS listener binds both). */
  public static int udpAndTcp() {
    return choose("127.0.0.1", true);
  }

  private static int choose(String host, boolean udpToo) {
    InetAddress address;
    try {
      address = InetAddress.getByName(host);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int[] ephemeral = ephemeralRange();
    int below = ephemeral[0];
    if (below - LOWEST >= 1000) {
      for (int attempt = 0; attempt < 200; attempt++) {
        int port = ThreadLocalRandom.current().nextInt(LOWEST, below);
        if (!HANDED_OUT.contains(port) && bindable(address, port, udpToo) && HANDED_OUT.add(port)) {
          return port;
        }
      }
    }
    // No room below the ephemeral range (or it is crowded): let the kernel choose.
    for (int attempt = 0; attempt < 50; attempt++) {
      int port;
      try (ServerSocket s = new ServerSocket(0, 1, address)) {
        port = s.getLocalPort();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (!HANDED_OUT.contains(port) && (!udpToo || bindable(address, port, true)) && HANDED_OUT.add(port)) {
        return port;
      }
    }
    throw new IllegalStateException("no free " + (udpToo ? "UDP+TCP" : "TCP") + " port on " + host);
  }

  private static boolean bindable(InetAddress address, int port, boolean udpToo) {
    try (ServerSocket tcp = new ServerSocket()) {
      // No SO_REUSEADDR: a port with a connection in TIME_WAIT is skipped, not handed to a server that may not set it.
      tcp.setReuseAddress(false);
      tcp.bind(new InetSocketAddress(address, port), 1);
      if (udpToo) {
        try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(address, port))) {
          return true;
        }
      }
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** {@code net.ipv4.ip_local_port_range} on Linux; the IANA dynamic range elsewhere. */
  static int[] ephemeralRange() {
    try {
      String[] parts = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
      return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
    } catch (IOException | RuntimeException e) {
      return new int[] {49152, 65535};
    }
  }
}
