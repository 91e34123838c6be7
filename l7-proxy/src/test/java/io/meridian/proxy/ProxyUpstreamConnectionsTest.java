package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The upstream side of the HTTP/1.1 path against a scripted raw upstream (a plain socket server, so every
 * framing can be produced): keep-alive connections are pooled and reused; a response delimited by the
 * connection's close reaches the client whole (and closes the client's connection, the only way to say where it
 * ends); chunked, HEAD and 204 responses keep both connections usable; a client that stops reading stops the
 * upstream (back-pressure) instead of the proxy buffering the response.
 */
class ProxyUpstreamConnectionsTest {
  private static final long BIG = 128L << 20;

  private ServerSocket server;
  private Thread acceptor;
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicLong bigWritten = new AtomicLong();
  private volatile boolean bigDone;
  private Vertx vertx;
  private ProxyRole proxy;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeEach
  void start() throws Exception {
    server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          int id = connections.incrementAndGet();
          Thread t = new Thread(() -> serve(s, id));
          t.setDaemon(true);
          t.start();
        } catch (IOException closed) {
          return;
        }
      }
    });
    acceptor.setDaemon(true);
    acceptor.start();
    String url = "http://127.0.0.1:" + server.getLocalPort();
    String yaml = """
        regions:
          - id: eu-west
            latitude: 53.3
            longitude: -6.3
            capacity_rps: 1000
            upstreams: [%s]
            health_check: {url: '%s/health'}
        geo:
          nets:
            - {cidr: 127.0.0.0/8, latitude: 50.1, longitude: 8.7, country: DE, continent: EU}
        proxy:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
        """.formatted(url, url);
    MeridianConfig config = ConfigLoader.parse("test.yaml", yaml, Path.of("."), Path.of("test.yaml"));
    vertx = Vertx.vertx();
    proxy = ProxyRole.create(new RoleContext(vertx, config, ControlBus.inProcess(RoutingPlan.initial(config)),
        GeoLocator.open(vertx, config.geo()), OpsEndpoints.create(vertx, "proxy")));
    proxy.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    proxy.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** One upstream connection: reads request heads (and Content-Length bodies), answers by path. */
  private void serve(Socket s, int id) {
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      while (true) {
        String head = readHead(in);
        if (head == null) {
          return;
        }
        String target = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
        String lower = head.toLowerCase();
        int cl = lower.indexOf("content-length: ");
        if (cl >= 0) {
          in.readNBytes(Integer.parseInt(lower.substring(cl + 16, lower.indexOf("\r\n", cl)).trim()));
        }
        String body = "connection " + id;
        switch (target) {
          case "/close-delimited" -> {
            out.write(("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + body + " until close").getBytes());
            out.flush();
            return;
          }
          case "/chunked" -> out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
              + Integer.toHexString(body.length() + 1) + "\r\n " + body + "\r\n0\r\n\r\n").getBytes());
          case "/no-content" -> out.write("HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n".getBytes());
          case "/big" -> {
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + BIG + "\r\n\r\n").getBytes());
            byte[] block = new byte[64 * 1024];
            for (long sent = 0; sent < BIG; sent += block.length) {
              out.write(block); // blocks once the proxy stops reading: that is the back-pressure under test
              bigWritten.addAndGet(block.length);
            }
            bigDone = true;
          }
          default -> {
            // HEAD gets the length of the body it would have had, and no body (RFC 9110 §9.3.2)
            String len = "Content-Length: " + body.length() + "\r\n\r\n";
            out.write(("HTTP/1.1 200 OK\r\n" + len + (head.startsWith("HEAD ") ? "" : body)).getBytes());
          }
        }
        out.flush();
      }
    } catch (IOException gone) {
      // the proxy closed the connection
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) >= 0) {
      b.write(c);
      byte[] a = b.toByteArray();
      int n = a.length;
      if (n >= 4 && a[n - 4] == '\r' && a[n - 3] == '\n' && a[n - 2] == '\r' && a[n - 1] == '\n') {
        return b.toString(StandardCharsets.ISO_8859_1);
      }
    }
    return null;
  }

  private HttpResponse<String> send(String method, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void keepAliveConnectionsArePooledAndReused() throws Exception {
    String first = send("GET", "/a").body();
    for (int i = 0; i < 5; i++) {
      HttpResponse<String> r = send("GET", "/b" + i);
      assertEquals(200, r.statusCode());
      assertEquals(first, r.body(), "one upstream connection serves the client's sequential requests");
    }
    assertEquals(1, connections.get());
  }

  @Test
  void closeDelimitedResponseArrivesWholeAndTheNextUsesAFreshConnection() throws Exception {
    String pooled = send("GET", "/a").body();
    RawHttp.Result r = RawHttp.exchange(proxy.port(), "GET /close-delimited HTTP/1.1\r\nHost: x\r\n\r\n", 3000);
    assertTrue(r.closed(), "the client's connection ends where the body ends");
    assertTrue(r.text().toLowerCase().contains("\r\nconnection: close\r\n"), r.text());
    assertTrue(r.text().endsWith(" until close"), r.text());
    String after = send("GET", "/c").body();
    assertTrue(after.startsWith("connection "), after);
    assertNotEquals(r.text().substring(r.text().indexOf("connection ")), after + " until close");
    assertTrue(pooled.startsWith("connection "));
  }

  @Test
  void chunkedHeadAndNoContentKeepConnectionsUsable() throws Exception {
    HttpResponse<String> chunked = send("GET", "/chunked");
    assertEquals(200, chunked.statusCode());
    assertTrue(chunked.body().startsWith("hello connection "), chunked.body());
    HttpResponse<String> head = send("HEAD", "/h");
    assertEquals(200, head.statusCode());
    assertEquals("", head.body());
    assertEquals(String.valueOf("connection 1".length()), head.headers().firstValue("content-length").orElseThrow());
    HttpResponse<String> empty = send("GET", "/no-content");
    assertEquals(204, empty.statusCode());
    assertEquals("yes", empty.headers().firstValue("x-empty").orElseThrow());
    assertEquals("eu-west", empty.headers().firstValue("x-meridian-region").orElseThrow());
    assertEquals("connection 1", send("GET", "/d").body());
    assertEquals(1, connections.get(), "every response was framed: the one upstream connection stayed in use");
  }

  @Test
  void aClientThatStopsReadingStopsTheUpstream() throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxy.port())) {
      s.setReceiveBufferSize(64 * 1024);
      s.getOutputStream().write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
      s.getOutputStream().flush();
      // not reading: the proxy must stop reading the upstream once the client's socket and its own bounded
      // write buffer are full, so the upstream's writes block far below the body's size
      long stalled = waitForStall();
      assertTrue(stalled < BIG / 4, "upstream wrote " + (stalled >> 20) + " MiB to a client that reads nothing");
      assertTrue(!bigDone);
      // reading resumes the flow: the whole body arrives
      InputStream in = s.getInputStream();
      byte[] buf = new byte[256 * 1024];
      long total = 0;
      String head = null;
      ByteArrayOutputStream headBytes = new ByteArrayOutputStream();
      while (head == null) {
        int c = in.read();
        headBytes.write(c);
        if (headBytes.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
          head = headBytes.toString(StandardCharsets.ISO_8859_1);
        }
      }
      assertTrue(head.startsWith("HTTP/1.1 200 "), head);
      s.setSoTimeout(20_000);
      int n;
      while (total < BIG && (n = in.read(buf)) > 0) {
        total += n;
      }
      assertEquals(BIG, total);
    }
  }

  /** Waits until the upstream's written count stops growing for 500 ms; returns it. */
  private long waitForStall() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    long last = -1;
    while (System.nanoTime() < deadline) {
      Thread.sleep(500);
      long now = bigWritten.get();
      if (now == last && now > 0) {
        return now;
      }
      last = now;
    }
    return bigWritten.get();
  }
}
