package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.net.SelfSignedCertificate;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;

/**
 * {@code proxy.max_connections}: with the limit's worth of keep-alive client connections open, the next client
 * (curl) is closed without an answer and counted; once one of them closes, a new client is served. On the
 * HTTP/1.1 path (plain listener) and on the Vert.x TLS listener.
 */
class ProxyMaxConnectionsTest {
  private static final String REFUSED = "meridian_proxy_connections_refused_total{reason=\"max_connections\"}";
  private static final String OPEN = "meridian_proxy_client_connections";

  /** One keep-alive request on {@code s}: the status line and the body, read by Content-Length. */
  private static String request(Socket s) throws Exception {
    s.getOutputStream().write("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    s.getOutputStream().flush();
    InputStream in = s.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new java.io.EOFException("closed after " + head.toString(StandardCharsets.ISO_8859_1));
      }
      head.write(b);
    }
    String h = head.toString(StandardCharsets.ISO_8859_1);
    int len = 0;
    for (String line : h.split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        len = Integer.parseInt(line.substring(15).trim());
      }
    }
    String body = new String(in.readNBytes(len), StandardCharsets.ISO_8859_1);
    return h.substring(0, h.indexOf("\r\n")) + " " + body;
  }

  /** curl's exit code and what it printed (-w: the status code, 000 when no answer came). */
  private static String[] curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
        "10"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(20, TimeUnit.SECONDS));
    return new String[] {Integer.toString(p.exitValue()), out};
  }

  /** Waits (polling, no fixed sleep) until the metric reaches {@code value}; then asserts it. */
  private static void awaitMetric(Testbed bed, String sample, double value) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (bed.metric(sample) != value && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(value, bed.metric(sample), sample);
  }

  @Test
  void http11PathClosesConnectionsBeyondTheLimitAndServesAgainWhenOneCloses() throws Exception {
    try (Testbed bed = new Testbed("max_connections: 5", null)) {
      List<Socket> open = new ArrayList<>();
      try {
        for (int i = 0; i < 5; i++) {
          Socket s = new Socket("127.0.0.1", bed.proxy.port());
          s.setSoTimeout(10_000);
          open.add(s);
          assertEquals("HTTP/1.1 200 OK hello from eu-west", request(s));
        }
        assertEquals(5, bed.metric(OPEN));
        assertEquals(0, bed.metric(REFUSED));

        String[] refused = curl("http://127.0.0.1:" + bed.proxy.port() + "/hello");
        assertNotEquals("0", refused[0], "curl must fail: " + refused[1]); // 52 empty reply or 56 reset
        assertTrue(refused[1].endsWith("000"), refused[1]); // no status: no answer came
        assertEquals(1, bed.metric(REFUSED));
        assertEquals(5, bed.metric(OPEN));
        // the connections inside the limit are untouched
        assertEquals("HTTP/1.1 200 OK hello from eu-west", request(open.get(4)));

        open.remove(0).close();
        awaitMetric(bed, OPEN, 4);
        String[] served = curl("http://127.0.0.1:" + bed.proxy.port() + "/hello");
        assertEquals("0", served[0], served[1]);
        assertEquals("200", served[1]);
        assertEquals(1, bed.metric(REFUSED));
        awaitMetric(bed, OPEN, 4); // curl's connection closed again
      } finally {
        for (Socket s : open) {
          s.close();
        }
      }
      awaitMetric(bed, OPEN, 0);
    }
  }

  @Test
  void tlsListenerClosesConnectionsBeyondTheLimit() throws Exception {
    SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
    try (Testbed bed = new Testbed("max_connections: 2\ntls: {cert_file: '" + cert.certificatePath()
        + "', key_file: '" + cert.privateKeyPath() + "'}", null)) {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {new X509TrustManager() { // the test's self-signed certificate
        @Override
        public void checkClientTrusted(X509Certificate[] c, String a) {}

        @Override
        public void checkServerTrusted(X509Certificate[] c, String a) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, null);
      List<Socket> open = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", bed.proxy.port());
          s.setSoTimeout(10_000);
          javax.net.ssl.SSLParameters p = s.getSSLParameters();
          p.setApplicationProtocols(new String[] {"http/1.1"});
          s.setSSLParameters(p);
          open.add(s);
          assertEquals("HTTP/1.1 200 OK hello from eu-west", request(s));
        }
        assertEquals(2, bed.metric(OPEN));
        String[] refused = curl("-k", "https://127.0.0.1:" + bed.proxy.port() + "/hello");
        assertNotEquals("0", refused[0], "curl must fail: " + refused[1]);
        assertTrue(refused[1].endsWith("000"), refused[1]); // no status: no answer came
        assertEquals(1, bed.metric(REFUSED));

        open.remove(0).close();
        awaitMetric(bed, OPEN, 1);
        String[] served = curl("-k", "https://127.0.0.1:" + bed.proxy.port() + "/hello");
        assertEquals("0", served[0], served[1]);
        assertEquals("200", served[1]);
        assertEquals(1, bed.metric(REFUSED));
      } finally {
        for (Socket s : open) {
          s.close();
        }
      }
      awaitMetric(bed, OPEN, 0);
    }
  }
}
