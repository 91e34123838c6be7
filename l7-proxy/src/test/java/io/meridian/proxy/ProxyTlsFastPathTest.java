package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.http.HttpServerRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS on the proxy's own engine: HTTP/1.1 and h2 (ALPN) served by the same engine as plaintext HTTP/1.1 — curl
 * verifying a certificate made by {@code openssl} for this test, a real upstream that reports what it was sent
 * (X-Forwarded-Proto, Forwarded, the body's size), keep-alive across requests, request bodies, limits; the
 * {@code meridian_proxy_tls_connections_total} counter tells which engine served the connection.
 * {@code meridian.proxy.engine=vertx} puts both back on the Vert.x server.
 */
class ProxyTlsFastPathTest {
  @TempDir
  static Path certDir;
  private static Path cert;
  private static Path key;
  private Testbed bed;

  @BeforeAll
  static void certificate() throws Exception {
    Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "proxy.key", "-out", "proxy.pem", "-days", "2",
        "-subj", "/O=Meridian Test/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-addext", "basicConstraints=critical,CA:TRUE").directory(certDir.toFile()).redirectErrorStream(true)
        .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl hung");
    assertEquals(0, p.exitValue(), out);
    cert = certDir.resolve("proxy.pem");
    key = certDir.resolve("proxy.key");
  }

  @AfterEach
  void stop() throws Exception {
    if (bed != null) {
      bed.close();
    }
  }

  /** The upstream answers with what reached it: the forwarding fields and the size of the body. */
  private static void report(HttpServerRequest req) {
    req.body().onSuccess(b -> req.response().end("proto=" + req.getHeader("x-forwarded-proto") + "\nforwarded="
        + req.getHeader("forwarded") + "\nbody=" + b.length() + "\n"));
  }

  private Testbed bed(String extraYaml) throws Exception {
    return new Testbed("tls: {cert_file: '" + cert + "', key_file: '" + key + "'}\n" + extraYaml,
        ProxyTlsFastPathTest::report);
  }

  /** curl verifying the proxy's certificate against the test's own CA file (no -k); output and exit code. */
  private String curl(String... args) throws IOException, InterruptedException {
    int port = bed.proxy.port();
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "--cacert", cert.toString(),
        "--resolve", "localhost:" + port + ":127.0.0.1"));
    cmd.addAll(Arrays.asList(args));
    Process p = new ProcessBuilder(cmd).directory(certDir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "curl hung: " + cmd);
    assertEquals(0, p.exitValue(), cmd + "\n" + out);
    return out;
  }

  private String url(String path) {
    return "https://localhost:" + bed.proxy.port() + path;
  }

  /** The {@code meridian_proxy_tls_connections_total} sample of one protocol and engine (0 when absent). */
  private double tlsConnections(String protocol, String engine) throws Exception {
    for (String line : bed.metrics().split("\n")) {
      if (line.startsWith("meridian_proxy_tls_connections_total{") && line.contains("protocol=\"" + protocol + "\"")
          && line.contains("engine=\"" + engine + "\"")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }

  @Test
  void http11OverTlsIsServedByTheHttp11PathWithHttpsForwardingAndKeepAlive() throws Exception {
    bed = bed("");
    // two requests in one curl run: the second reuses the first's connection (num_connects 0)
    String out = curl("--http1.1", "-D", "-", "-w", "version=%{http_version} connects=%{num_connects}\n",
        url("/a"), url("/b?q=1"));
    assertEquals(2, out.split("proto=https\n", -1).length - 1, out);
    assertEquals(2, out.split("forwarded=for=127.0.0.1;proto=https;host=\"localhost:" + bed.proxy.port() + "\"",
        -1).length - 1, out);
    assertTrue(out.contains("version=1.1 connects=1\n"), out);
    assertTrue(out.contains("version=1.1 connects=0\n"), out);
    assertTrue(out.toLowerCase().contains("x-meridian-region: eu-west"), out);
    assertEquals(1.0, tlsConnections("http/1.1", "h1"), bed.metrics());
    assertEquals(0.0, tlsConnections("http/1.1", "vertx"));

    // a request body of 1 MiB relayed through TLS both ways, as framed
    Path body = certDir.resolve("body.bin");
    Files.write(body, new byte[1 << 20]);
    String post = curl("--http1.1", "--data-binary", "@" + body, url("/upload"));
    assertTrue(post.contains("body=1048576\n"), post);
    assertTrue(post.contains("proto=https\n"), post);
    assertEquals(2.0, tlsConnections("http/1.1", "h1"));
  }

  @Test
  void limitsHoldOverTls() throws Exception {
    bed = bed("limits: {max_uri_bytes: 256}");
    String out = curl("--http1.1", "-o", "/dev/null", "-w", "%{http_code}", url("/" + "x".repeat(400)));
    assertEquals("414", out);
    assertEquals(1.0, tlsConnections("http/1.1", "h1"));
  }

  @Test
  void h2OverTheSameListenerIsServedByTheSameEngine() throws Exception {
    bed = bed("");
    String out = curl("--http2", "-w", "version=%{http_version}\n", url("/a"));
    assertTrue(out.contains("proto=https\n"), out);
    assertTrue(out.contains("forwarded=for=127.0.0.1;proto=https;host=\"localhost:" + bed.proxy.port() + "\""), out);
    assertTrue(out.endsWith("version=2\n"), out);
    // a 1 MiB request body in DATA frames (more than the 64 KiB stream window: flow control moves it along)
    Path body = certDir.resolve("body-h2.bin");
    Files.write(body, new byte[1 << 20]);
    String post = curl("--http2", "--data-binary", "@" + body, "-w", "version=%{http_version}\n", url("/upload"));
    assertTrue(post.contains("body=1048576\n"), post);
    assertTrue(post.endsWith("version=2\n"), post);
    assertEquals(2.0, tlsConnections("h2", "h2"));
    assertEquals(0.0, tlsConnections("h2", "vertx"));
    assertEquals(0.0, tlsConnections("http/1.1", "h1"));
  }

  @Test
  void theVertxEngineStillServesHttp11OverTlsWhenAskedTo() throws Exception {
    System.setProperty("meridian.proxy.engine", "vertx");
    try {
      bed = bed("");
    } finally {
      System.clearProperty("meridian.proxy.engine");
    }
    String out = curl("--http1.1", url("/a"));
    assertTrue(out.contains("proto=https\n"), out);
    assertEquals(1.0, tlsConnections("http/1.1", "vertx"));
    assertEquals(0.0, tlsConnections("http/1.1", "h1"));
    String h2 = curl("--http2", "-w", "version=%{http_version}\n", url("/a"));
    assertTrue(h2.endsWith("version=2\n"), h2);
    assertEquals(1.0, tlsConnections("h2", "vertx"));
    assertEquals(0.0, tlsConnections("h2", "h2"));
  }
}
