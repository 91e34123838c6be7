package io.meridian.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A TCP forwarder on loopback that the drill can cut: one checker's probes of one region go through it, so that the
 * drill can partition that checker from that region without root. While cut it accepts connections and never
 * answers or forwards a byte — a black hole, as behind a firewall that silently drops — so the probe times out the
 * way it would across a real partition. Healing closes the held connections and forwards again.
 */
final class CuttableForwarder implements AutoCloseable {
  private final ServerSocket server;
  private final InetSocketAddress target;
  private final Set<Socket> held = ConcurrentHashMap.newKeySet();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "drill-forwarder");
    t.setDaemon(true);
    return t;
  });
  private volatile boolean cut;
  private volatile boolean closed;

  private CuttableForwarder(ServerSocket server, InetSocketAddress target) {
    this.server = server;
    this.target = target;
  }

  /** Listens on a free port of {@code host} and forwards to {@code target}. */
  static CuttableForwarder start(String host, InetSocketAddress target) throws IOException {
    CuttableForwarder f = new CuttableForwarder(new ServerSocket(0, 50, InetAddress.getByName(host)), target);
    f.threads.execute(f::acceptLoop);
    return f;
  }

  int port() {
    return server.getLocalPort();
  }

  void cut() {
    cut = true;
  }

  void heal() {
    cut = false;
    for (Socket s : held) {
      closeQuietly(s);
    }
    held.clear();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      if (cut) {
        held.add(client); // accepted, never read, never answered
        continue;
      }
      threads.execute(() -> forward(client));
    }
  }

  private void forward(Socket client) {
    Socket upstream = new Socket();
    open.add(client);
    open.add(upstream);
    try {
      upstream.connect(target, 2000);
      threads.execute(() -> pump(upstream, client));
      pump(client, upstream);
    } catch (IOException e) {
      // the region's app is down: the probe sees the connection closed, as it would see it refused
      closeQuietly(client);
      closeQuietly(upstream);
    }
  }

  private void pump(Socket from, Socket to) {
    byte[] buf = new byte[8192];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // either side closed
    } finally {
      closeQuietly(from);
      closeQuietly(to);
      open.remove(from);
      open.remove(to);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    heal();
    open.forEach(CuttableForwarder::closeQuietly);
    threads.shutdownNow();
  }
}
