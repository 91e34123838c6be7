package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.meridian.core.testing.SelfSignedPem;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS towards clients: HTTP/2 negotiated by ALPN, HTTP/1.1 for clients that only offer it; HTTP/1.1 over TLS gets
 * the same framing validation as the plain listener from its very first request.
 */
class ProxyTlsTest {
  private Testbed bed;
  @TempDir
  Path dir;

  @BeforeEach
  void start() throws Exception {
    SelfSignedPem cert = SelfSignedPem.create(dir);
    bed = new Testbed("tls: {cert_file: '" + cert.certificate() + "', key_file: '" + cert.key() + "'}",
        null);
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  private static HttpClient client(HttpClient.Version v) throws Exception {
    // the test's self-signed certificate: trust it without a CA (never in production)
    TrustManager trustAll = new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] c, String a) {}

      @Override
      public void checkServerTrusted(X509Certificate[] c, String a) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    };
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[] {trustAll}, null);
    SSLParameters params = new SSLParameters();
    params.setEndpointIdentificationAlgorithm(null);
    return HttpClient.newBuilder().version(v).sslContext(ctx).sslParameters(params).build();
  }

  @Test
  void http2AndHttp11OverTls() throws Exception {
    URI uri = URI.create("https://localhost:" + bed.proxy.port() + "/hello"); // the certificate's CN
    // curl offers h2 by ALPN (-k: the test's self-signed certificate)
    Process p = new ProcessBuilder("curl", "-sk", "--http2", "-D", "-", "-w", "\nversion=%{http_version}",
        "https://127.0.0.1:" + bed.proxy.port() + "/hello").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    p.waitFor();
    org.junit.jupiter.api.Assertions.assertTrue(out.endsWith("hello from eu-west\nversion=2"), out);
    org.junit.jupiter.api.Assertions.assertTrue(out.contains("x-meridian-region: eu-west"), out);
    HttpResponse<String> h1 = client(HttpClient.Version.HTTP_1_1).send(HttpRequest.newBuilder(uri).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(HttpClient.Version.HTTP_1_1, h1.version());
    assertEquals("hello from eu-west", h1.body());
  }

  /** Raw bytes over TLS (ALPN http/1.1), as no well-behaved client would send them; what came back. */
  private String rawOverTls(String request) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] c, String a) {}

      @Override
      public void checkServerTrusted(X509Certificate[] c, String a) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ctx.getSocketFactory()
        .createSocket("127.0.0.1", bed.proxy.port())) {
      SSLParameters p = s.getSSLParameters();
      p.setApplicationProtocols(new String[] {"http/1.1"});
      s.setSSLParameters(p);
      s.setSoTimeout(3000);
      s.startHandshake();
      s.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      try {
        int n;
        while ((n = s.getInputStream().read(buf)) >= 0) {
          got.write(buf, 0, n);
        }
      } catch (java.net.SocketTimeoutException | javax.net.ssl.SSLException quietOrClosed) {
        // whatever arrived is the answer
      }
      return got.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
    }
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.ValueSource(strings = {
      "GET /a HTTP/1.1\nHost: x\r\n\r\n", // bare LF: the HTTP decoder alone would accept it
      "GET /a HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", // obs-fold: the decoder alone would unfold it
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n"})
  void firstRequestOverTlsIsValidated(String request) throws Exception {
    String out = rawOverTls(request);
    org.junit.jupiter.api.Assertions.assertTrue(out.startsWith("HTTP/1.1 400 "), out);
    org.junit.jupiter.api.Assertions.assertTrue(out.contains("\"error\":\"bad_request\""), out);
  }
}
