package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import io.vertx.core.Vertx;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * TLS towards upstreams ({@code proxy.upstream_tls}): a real Vert.x HTTPS server behind the proxy, certificates
 * made by {@code openssl} at test time. Verification (chain and host name) is on by default; {@code ca_file}
 * names the CA upstreams are signed by; {@code client_cert_file}/{@code client_key_file} authenticate the proxy
 * to upstreams that require client certificates; {@code verify: false} (unsafe, tests only) accepts anything.
 *
 * <p>Every case is sent through both client listeners: the plain HTTP/1.1 listener (whatever engine serves it)
 * and the h2c listener (HTTP/2), so it holds for every upstream path the proxy has. A refused upstream must never
 * see a request, and the client must get the proxy's own 502/503 JSON error, counted by outcome in /metrics.
 */
class ProxyUpstreamTlsTest {
  private static final String CLIENT_SUBJECT = "CN=meridian-proxy,O=Meridian Test";
  /** Outcomes a failed TLS hop to the only upstream may legitimately end in (after retries or ejection). */
  private static final Set<String> UPSTREAM_FAILURES =
      Set.of("upstream_unreachable", "upstream_failed", "no_region");

  @TempDir
  static Path dir;

  private static Path caCert;
  private static Path serverCert;
  private static Path serverKey;
  private static Path selfSignedCert;
  private static Path selfSignedKey;
  private static Path wrongHostCert;
  private static Path wrongHostKey;
  private static Path clientCaCert;
  private static Path clientCert;
  private static Path clientKey;

  private Vertx vertx;
  private HttpServer upstream;
  private ProxyRole proxy;
  /** Requests the upstream's handler received (only ever after a completed handshake). */
  private final AtomicInteger served = new AtomicInteger();
  /** Client-certificate subject of each request the upstream served ("none" without one). */
  private final List<String> subjects = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final HttpClient h1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2)
      .connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void certificates() throws Exception {
    caCert = dir.resolve("ca.pem");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/O=Meridian Test/CN=Meridian Test Upstream CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    leaf("server", "/O=Meridian Test/CN=localhost", "ca", "serverAuth", "IP:127.0.0.1,DNS:localhost");
    serverCert = dir.resolve("server.pem");
    serverKey = dir.resolve("server.key");
    // signed by the trusted CA, but for another host: only host-name verification can refuse it
    leaf("wronghost", "/O=Meridian Test/CN=other.example", "ca", "serverAuth", "DNS:other.example");
    wrongHostCert = dir.resolve("wronghost.pem");
    wrongHostKey = dir.resolve("wronghost.key");
    // self-signed, yet for the right host names: only chain verification can refuse it
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key", "-out", "self.pem", "-days",
        "2", "-subj", "/O=Nobody/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    selfSignedCert = dir.resolve("self.pem");
    selfSignedKey = dir.resolve("self.key");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "clientca.key", "-out", "clientca.pem",
        "-days", "2", "-subj", "/O=Meridian Test/CN=Meridian Test Client CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    clientCaCert = dir.resolve("clientca.pem");
    leaf("client", "/O=Meridian Test/CN=meridian-proxy", "clientca", "clientAuth", null);
    clientCert = dir.resolve("client.pem");
    clientKey = dir.resolve("client.key");
  }

  /** A key and a certificate {@code name}.pem signed by {@code ca}.pem / {@code ca}.key. */
  private static void leaf(String name, String subject, String ca, String usage, String san) throws Exception {
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
        "-subj", subject);
    String ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        + "extendedKeyUsage=" + usage + "\n" + (san == null ? "" : "subjectAltName=" + san + "\n");
    Files.writeString(dir.resolve(name + ".ext"), ext);
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
        "-set_serial", Long.toString(ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE)),
        "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem");
  }

  private static void openssl(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(Arrays.asList(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl hung: " + cmd);
    assertEquals(0, p.exitValue(), cmd + "\n" + out);
  }

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /** A real HTTPS upstream with {@code cert}/{@code key}; requiring a client certificate from {@code clientCa}. */
  private void startUpstream(Path cert, Path key, Path clientCa) throws Exception {
    vertx = Vertx.vertx();
    HttpServerOptions o = new HttpServerOptions().setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString()));
    if (clientCa != null) {
      o.setClientAuth(ClientAuth.REQUIRED).setTrustOptions(new PemTrustOptions().addCertPath(clientCa.toString()));
    }
    upstream = vertx.createHttpServer(o).requestHandler(req -> {
      served.incrementAndGet();
      String subject = "none";
      try {
        Certificate[] chain = req.connection().sslSession().getPeerCertificates();
        subject = ((X509Certificate) chain[0]).getSubjectX500Principal().getName();
      } catch (Exception e) {
        // no client certificate presented
      }
      subjects.add(subject);
      String s = subject;
      req.body().onSuccess(b -> req.response().putHeader("x-client-subject", s)
          .end("served over tls, client " + s));
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** The proxy in front of the upstream, addressed as https://{@code host}:port, with {@code upstreamTls}. */
  private void startProxy(String host, String upstreamTls) throws Exception {
    String url = "https://" + host + ":" + upstream.actualPort();
    String yaml = """
        regions:
          - id: eu-west
            latitude: 53.3
            longitude: -6.3
            capacity_rps: 1000
            residency_group: eu
            upstreams: [%s]
            health_check: {url: '%s/health'}
        geo:
          nets:
            - {cidr: 127.0.0.0/8, latitude: 50.1, longitude: 8.7, country: DE, continent: EU}
        proxy:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          h2c_listen: 127.0.0.1:0
          connect_timeout: 2s
          response_timeout: 5s
        """.formatted(url, url) + (upstreamTls == null ? "" : "  upstream_tls: " + upstreamTls + "\n");
    MeridianConfig config = ConfigLoader.parse("test.yaml", yaml, dir, dir.resolve("test.yaml"));
    ControlBus bus = ControlBus.inProcess(RoutingPlan.initial(config));
    OpsEndpoints ops = OpsEndpoints.create(vertx, "proxy");
    GeoLocator geo = GeoLocator.open(vertx, config.geo());
    proxy = ProxyRole.create(new RoleContext(vertx, config, bus, geo, ops));
    proxy.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static String q(Path p) {
    return "'" + p.toAbsolutePath() + "'";
  }

  /** GET through the plain HTTP/1.1 listener. */
  private HttpResponse<String> viaHttp1(String path) throws Exception {
    HttpResponse<String> r = h1.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
        .timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(HttpClient.Version.HTTP_1_1, r.version());
    return r;
  }

  /** GET through the h2c listener (HTTP/2 after Upgrade: h2c). */
  private HttpResponse<String> viaH2c(String path) throws Exception {
    return h2.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.h2cPort() + path))
        .timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private List<HttpResponse<String>> viaBothListeners(String path) throws Exception {
    return List.of(viaHttp1(path), viaH2c(path));
  }

  private String metrics() throws Exception {
    return h1.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.opsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static double sample(String metrics, String name) {
    for (String line : metrics.split("\n")) {
      if (line.startsWith(name + " ")) {
        return Double.parseDouble(line.substring(name.length() + 1).trim());
      }
    }
    return 0;
  }

  /** Served by the upstream: 200 and its body, through eu-west. */
  private static void assertServed(HttpResponse<String> r, String clientSubject) {
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("served over tls, client " + clientSubject, r.body());
    assertEquals("eu-west", r.headers().firstValue("x-meridian-region").orElseThrow());
  }

  /**
   * Refused by the proxy, never served: a 502/503 JSON error whose outcome is an upstream failure, with the
   * status that outcome stands for, counted in meridian_proxy_refused_total under that outcome label.
   */
  private void assertRefused(HttpResponse<String> r) throws Exception {
    assertTrue(r.statusCode() == 502 || r.statusCode() == 503, r.statusCode() + " " + r.body());
    assertFalse(r.body().contains("served over tls"), r.body());
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"),
        r.headers().map().toString());
    assertTrue(r.headers().firstValue("x-meridian-region").isPresent(), r.headers().map().toString());
    Matcher m = Pattern.compile("\"error\"\\s*:\\s*\"([a-z_]+)\"").matcher(r.body());
    assertTrue(m.find(), r.body());
    String label = m.group(1);
    assertTrue(UPSTREAM_FAILURES.contains(label), "outcome " + label + ": " + r.body());
    ProxyOutcome outcome = Arrays.stream(ProxyOutcome.values()).filter(o -> o.label().equals(label)).findFirst()
        .orElseThrow();
    assertEquals(outcome.status(), r.statusCode(), r.body());
    String metrics = metrics();
    assertTrue(sample(metrics, "meridian_proxy_refused_total{outcome=\"" + label + "\"}") >= 1, metrics);
  }

  /** 1. No upstream_tls section: the JVM trust store, which does not hold a self-signed certificate. */
  @Test
  void verificationIsOnByDefault() throws Exception {
    startUpstream(selfSignedCert, selfSignedKey, null);
    startProxy("127.0.0.1", null);
    for (HttpResponse<String> r : viaBothListeners("/hello")) {
      assertRefused(r);
    }
    assertEquals(0, served.get(), "an unverified upstream was sent the request");
  }

  /** 1b. A ca_file replaces the default trust: a self-signed certificate outside it is still refused. */
  @Test
  void selfSignedUpstreamIsRefusedWithAnotherCa() throws Exception {
    startUpstream(selfSignedCert, selfSignedKey, null);
    startProxy("127.0.0.1", "{ca_file: " + q(caCert) + "}");
    for (HttpResponse<String> r : viaBothListeners("/hello")) {
      assertRefused(r);
    }
    assertEquals(0, served.get());
  }

  /** 2. ca_file naming the CA that signed the upstream's certificate: served, by IP address or by name. */
  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1", "localhost"})
  void upstreamSignedByConfiguredCaIsServed(String host) throws Exception {
    startUpstream(serverCert, serverKey, null);
    startProxy(host, "{verify: true, ca_file: " + q(caCert) + "}");
    for (HttpResponse<String> r : viaBothListeners("/hello")) {
      assertServed(r, "none");
    }
    assertServed(viaHttp1("/again"), "none"); // on the kept-alive pooled connection
    assertEquals(3, served.get());
    // curl, as a real client would
    Process p = new ProcessBuilder("curl", "-s", "-w", "\nstatus=%{http_code}",
        "http://127.0.0.1:" + proxy.port() + "/curl").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(20, TimeUnit.SECONDS);
    assertEquals("served over tls, client none\nstatus=200", out);
  }

  /** 3. Signed by the trusted CA but for other.example: refused by host-name verification. */
  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1", "localhost"})
  void certificateForAnotherHostIsRefused(String host) throws Exception {
    startUpstream(wrongHostCert, wrongHostKey, null);
    startProxy(host, "{ca_file: " + q(caCert) + "}");
    for (HttpResponse<String> r : viaBothListeners("/hello")) {
      assertRefused(r);
    }
    assertEquals(0, served.get(), "an upstream with another host's certificate was sent the request");
  }

  /** 4a. An upstream requiring a client certificate: refused when the proxy has none. */
  @Test
  void upstreamRequiringClientCertificateRefusesProxyWithoutOne() throws Exception {
    startUpstream(serverCert, serverKey, clientCaCert);
    startProxy("127.0.0.1", "{ca_file: " + q(caCert) + "}");
    for (HttpResponse<String> r : viaBothListeners("/hello")) {
      assertRefused(r);
    }
    assertEquals(0, served.get(), "served without a client certificate");
  }

  /** 4b. With client_cert_file/client_key_file: served, and the upstream sees the proxy's certificate. */
  @Test
  void clientCertificateIsPresentedToUpstream() throws Exception {
    startUpstream(serverCert, serverKey, clientCaCert);
    startProxy("127.0.0.1", "{ca_file: " + q(caCert) + ", client_cert_file: " + q(clientCert)
        + ", client_key_file: " + q(clientKey) + "}");
    for (HttpResponse<String> r : viaBothListeners("/hello")) {
      assertServed(r, CLIENT_SUBJECT);
      assertEquals(CLIENT_SUBJECT, r.headers().firstValue("x-client-subject").orElseThrow());
    }
    assertEquals(2, served.get());
    assertEquals(List.of(CLIENT_SUBJECT, CLIENT_SUBJECT), subjects);
  }

  /** 5. verify: false (unsafe, documented for tests only): a self-signed upstream is served. */
  @Test
  void verifyFalseAcceptsSelfSignedUpstream() throws Exception {
    startUpstream(selfSignedCert, selfSignedKey, null);
    startProxy("127.0.0.1", "{verify: false}");
    for (HttpResponse<String> r : viaBothListeners("/hello")) {
      assertServed(r, "none");
    }
    assertEquals(2, served.get());
  }

  /** 5b. verify: false skips host-name verification too. */
  @Test
  void verifyFalseAcceptsCertificateForAnotherHost() throws Exception {
    startUpstream(wrongHostCert, wrongHostKey, null);
    startProxy("localhost", "{verify: false}");
    for (HttpResponse<String> r : viaBothListeners("/hello")) {
      assertServed(r, "none");
    }
    assertEquals(2, served.get());
  }
}
