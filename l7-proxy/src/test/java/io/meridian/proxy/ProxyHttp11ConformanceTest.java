package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RFC 9112 points beyond framing, on both transports (the HTTP/1.1 path and the Vert.x path that TLS uses):
 * Host required once (§3.2), the absolute form accepted and routed by its authority (§3.2.2), HTTP/1.0
 * keep-alive honoured (Appendix C.2.2). Raw sockets for what well-behaved clients do not send, curl for the rest.
 */
class ProxyHttp11ConformanceTest {
  private static final String ROUTES = """
      routes:
        - {name: api, host: api.example, path_prefix: /}
        - {name: rest, path_prefix: /only-this}
      """;
  private static Testbed h1;
  private static Testbed vertx;
  private static final List<String> seen = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    h1 = new Testbed(ROUTES, ProxyHttp11ConformanceTest::echo);
    System.setProperty("meridian.proxy.engine", "vertx");
    try {
      vertx = new Testbed(ROUTES, ProxyHttp11ConformanceTest::echo);
    } finally {
      System.clearProperty("meridian.proxy.engine");
    }
  }

  private static void echo(io.vertx.core.http.HttpServerRequest req) {
    String line = "host=" + req.headers().getAll("host") + " uri=" + req.uri();
    seen.add(line);
    req.response().end(line);
  }

  @AfterAll
  static void stop() throws Exception {
    h1.close();
    vertx.close();
  }

  private static int port(String engine) {
    return (engine.equals("h1") ? h1 : vertx).proxy.port();
  }

  private static void refused(String engine, String request) throws Exception {
    int before = seen.size();
    RawHttp.Result r = RawHttp.exchange(port(engine), request, 3000);
    assertTrue(r.statusLine().startsWith("HTTP/1.1 400"), r.text());
    assertTrue(r.closed(), "closed after 400");
    assertEquals(before, seen.size(), "nothing reached an upstream");
  }

  @ParameterizedTest
  @ValueSource(strings = {"h1", "vertx"})
  void missingHostIs400(String engine) throws Exception {
    refused(engine, "GET /x HTTP/1.1\r\nAccept: */*\r\n\r\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"h1", "vertx"})
  void twoHostFieldsAre400(String engine) throws Exception {
    refused(engine, "GET /x HTTP/1.1\r\nHost: api.example\r\nHost: evil.example\r\n\r\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"h1", "vertx"})
  void hostDisagreeingWithTheAbsoluteTargetIs400(String engine) throws Exception {
    refused(engine, "GET http://api.example/x HTTP/1.1\r\nHost: evil.example\r\n\r\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"h1", "vertx"})
  void absoluteFormIsRoutedByItsAuthorityAndForwardedInOriginForm(String engine) throws Exception {
    RawHttp.Result r = RawHttp.exchange(port(engine),
        "GET http://API.example:80/x?q=1 HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n\r\n", 3000);
    assertTrue(r.statusLine().startsWith("HTTP/1.1 200"), r.text());
    assertTrue(r.text().endsWith("host=[api.example] uri=/x?q=1"), r.text());
    RawHttp.Result empty = RawHttp.exchange(port(engine),
        "GET http://api.example HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n\r\n", 3000);
    assertTrue(empty.text().endsWith("uri=/"), empty.text());
  }

  @ParameterizedTest
  @ValueSource(strings = {"h1", "vertx"})
  void http10KeepAliveKeepsTheConnection(String engine) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port(engine))) {
      s.setSoTimeout(3000);
      for (int i = 0; i < 2; i++) {
        s.getOutputStream().write(("GET /k" + i + " HTTP/1.0\r\nHost: api.example\r\nConnection: keep-alive\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
        String resp = readResponse(s.getInputStream());
        assertTrue(resp.startsWith("HTTP/1."), resp);
        assertTrue(resp.contains(" 200 "), resp);
        assertTrue(resp.toLowerCase(Locale.ROOT).contains("connection: keep-alive"), resp);
        assertTrue(resp.endsWith("uri=/k" + i), resp);
      }
    }
  }

  /**
   * A keep-alive connection idle for longer than the 5 s after which the HTTP/1.1 path drops what it keeps only to
   * save work (the spare exchange, the forwarding fields, the peer's text form) still serves its next request. A
   * refactoring once dropped the whole client peer there, and the next request on such a connection closed it
   * (the multi-process drill saw "Connection was closed" on reused connections).
   */
  @org.junit.jupiter.api.Test
  void keepAliveConnectionServesAgainAfterIdling() throws Exception {
    try (Testbed quick = new Testbed(ROUTES + "limits: {body_idle_timeout: 300ms}\n", ProxyHttp11ConformanceTest::echo);
         Socket s = new Socket("127.0.0.1", quick.proxy.port())) {
      s.setSoTimeout(3000);
      for (int i = 0; i < 2; i++) {
        if (i == 1) {
          Thread.sleep(6_000); // past the 5-s release, checked every body_idle_timeout
        }
        s.getOutputStream().write(("GET /idle" + i + " HTTP/1.1\r\nHost: api.example\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
        String resp = readResponse(s.getInputStream());
        assertTrue(resp.startsWith("HTTP/1.1 200 "), "request " + i + ": " + resp);
        assertTrue(resp.endsWith("uri=/idle" + i), resp);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"h1", "vertx"})
  void http10WithoutKeepAliveCloses(String engine) throws Exception {
    RawHttp.Result r = RawHttp.exchange(port(engine), "GET /c HTTP/1.0\r\nHost: api.example\r\n\r\n", 3000);
    assertTrue(r.text().contains(" 200 "), r.text());
    assertTrue(r.closed(), "an HTTP/1.0 request without keep-alive gets one response and a close");
  }

  @Test
  void curlAbsoluteFormAndHttp10KeepAlive() throws Exception {
    String base = "http://127.0.0.1:" + h1.proxy.port();
    String abs = curl("-i", "--request-target", "http://api.example/abs", "-H", "Host: api.example", base);
    assertTrue(abs.startsWith("HTTP/1.1 200"), abs);
    assertTrue(abs.endsWith("uri=/abs"), abs);
    String noHost = curl("-i", "-H", "Host:", base + "/only-this");
    assertTrue(noHost.startsWith("HTTP/1.1 400"), noHost);
    // two URLs in one curl run: with HTTP/1.0 keep-alive honoured, the second reuses the first's connection
    String two = curl("-v", "-0", "-H", "Connection: keep-alive", "-H", "Host: api.example", base + "/one",
        base + "/two");
    assertTrue(two.contains("uri=/one") && two.contains("uri=/two"), two);
    assertTrue(two.contains("Re-using existing connection") || two.contains("Reusing existing"), two);
  }

  private static String curl(String... args) throws Exception {
    String[] cmd = new String[args.length + 2];
    cmd[0] = "curl";
    cmd[1] = "-sS";
    System.arraycopy(args, 0, cmd, 2, args.length);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertTrue(p.waitFor(20, TimeUnit.SECONDS), "curl timed out");
    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }

  /** One response framed by Content-Length (what the echo upstream sends). */
  private static String readResponse(InputStream in) throws Exception {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    int headEnd = -1;
    int length = -1;
    while (true) {
      int b = in.read();
      assertFalse(b < 0, "closed early: " + got);
      got.write(b);
      String t = got.toString(StandardCharsets.ISO_8859_1);
      if (headEnd < 0 && t.endsWith("\r\n\r\n")) {
        headEnd = t.length();
        String lower = t.toLowerCase(Locale.ROOT);
        int i = lower.indexOf("content-length:");
        length = Integer.parseInt(lower.substring(i + 15, lower.indexOf("\r\n", i)).trim());
      }
      if (headEnd >= 0 && got.size() == headEnd + length) {
        return got.toString(StandardCharsets.ISO_8859_1);
      }
    }
  }
}
