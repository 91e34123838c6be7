package io.meridian.checker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.HealthCheckConfig;
import io.meridian.config.HealthCheckConfig.Endpoint;
import io.meridian.config.HealthCheckConfig.StatusRange;
import io.meridian.core.testing.SelfSignedPem;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import io.vertx.junit5.VertxExtension;

/** One HTTP(S) probe against real servers failing in each way: the result kind and its readable output. */
@ExtendWith(VertxExtension.class)
class HttpProbeOutcomesTest {
  /** Generous where the timeout is not the subject: a cold JVM on a loaded machine must not turn 500 into timeout. */
  static final HealthProbe.Settings SETTINGS = new HealthProbe.Settings(Duration.ofSeconds(3), "Meridian-Test/1", 256);
  static final HealthProbe.Settings SHORT = new HealthProbe.Settings(Duration.ofMillis(300), "Meridian-Test/1", 256);

  static <T> T get(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static ProbeResult probe(Vertx vertx, Endpoint ep, HealthProbe.Settings s) throws Exception {
    HealthProbe p = HealthProbe.of(vertx, ep, s);
    try {
      // probes run on a Vert.x context, as the role runs them
      return get(Future.<ProbeResult>future(pr -> vertx.runOnContext(v -> p.probe().onComplete(pr))));
    } finally {
      p.close();
    }
  }

  static Endpoint http(String url, String bodyMatch) {
    URI u = URI.create(url);
    return new Endpoint(HealthCheckConfig.ProbeKind.HTTP, url, u, u.getHost(), u.getPort(), "GET", null,
        StatusRange.SUCCESS, bodyMatch, true, null, null);
  }

  @Test
  void passingProbeReportsLatencySplitAndWatermarks(Vertx vertx) throws Exception {
    RegionApp app = get(RegionApp.start(vertx, "eu-west"));
    app.watermarks("{\"us-east\": 1234, \"ap-south\": 99}");
    ProbeResult r = probe(vertx, http(app.url(), "\"status\":\"ok\""), SETTINGS);
    assertTrue(r.ok(), r.toString());
    assertEquals(200, r.status());
    assertTrue(r.output().matches("HTTP 200 in [0-9.]+ms \\(connect [0-9.]+ms, first byte [0-9.]+ms\\)"), r.output());
    assertTrue(r.connectNanos() >= 0 && r.firstByteNanos() >= 0 && r.totalNanos() >= r.connectNanos());
    assertEquals(-1, r.tlsNanos());
    assertEquals(Map.of("us-east", 1234L, "ap-south", 99L), r.watermarks());
  }

  @Test
  void status500(Vertx vertx) throws Exception {
    RegionApp app = get(RegionApp.start(vertx, "eu-west"));
    app.mode(RegionApp.Mode.ERROR_500);
    ProbeResult r = probe(vertx, http(app.url(), null), SETTINGS);
    assertEquals(ProbeFailure.STATUS, r.failure());
    assertEquals(500, r.status());
    assertTrue(r.output().startsWith("HTTP 500 (expected 200-299) in "), r.output());
    assertTrue(r.output().endsWith("body: '{\"status\":\"broken\"}'"), r.output());
  }

  @Test
  void hangingServerTimesOutWaitingForTheFirstByte(Vertx vertx) throws Exception {
    RegionApp app = get(RegionApp.start(vertx, "eu-west"));
    app.mode(RegionApp.Mode.HANG);
    ProbeResult r = probe(vertx, http(app.url(), null), SHORT);
    assertEquals(ProbeFailure.TIMEOUT, r.failure());
    assertTrue(r.output().startsWith("timeout after 300ms waiting for first byte"), r.output());
    assertTrue(r.connectNanos() >= 0, "it did connect");
    assertTrue(r.totalNanos() >= Duration.ofMillis(300).toNanos(), "not before the timeout");
  }

  @Test
  void slowServerWithinAndBeyondTheTimeout(Vertx vertx) throws Exception {
    RegionApp app = get(RegionApp.start(vertx, "eu-west"));
    app.slow(100);
    ProbeResult within = probe(vertx, http(app.url(), null), SETTINGS);
    assertTrue(within.ok(), within.toString());
    assertTrue(within.firstByteNanos() >= Duration.ofMillis(100).toNanos(), "first byte after the server's delay");
    app.slow(600);
    ProbeResult beyond = probe(vertx, http(app.url(), null), SHORT);
    assertEquals(ProbeFailure.TIMEOUT, beyond.failure());
  }

  @Test
  void wrongBody(Vertx vertx) throws Exception {
    RegionApp app = get(RegionApp.start(vertx, "eu-west"));
    app.mode(RegionApp.Mode.WRONG_BODY);
    ProbeResult r = probe(vertx, http(app.url(), "\"status\":\"ok\""), SETTINGS);
    assertEquals(ProbeFailure.BODY, r.failure());
    assertTrue(r.output().startsWith("HTTP 200 but the body does not contain '\"status\":\"ok\"'"), r.output());
    assertTrue(r.output().contains("body: '{\"status\":\"maintenance\"}'"), r.output());
  }

  @Test
  void refusedWhenNothingListens(Vertx vertx) throws Exception {
    // a free port below the ephemeral range, where nothing listens: a port freed by a stopped server is in the
    // ephemeral range, and there the probe's own connection could be given that port as its local end (Linux then
    // connects the socket to itself) or another process take it; CI once saw such a probe "closed", not refused
    int port = io.meridian.core.LoopbackPorts.tcp();
    ProbeResult r = probe(vertx, http("http://127.0.0.1:" + port + "/health", null), SETTINGS);
    assertEquals(ProbeFailure.REFUSED, r.failure(), r.output());
    assertEquals("connection refused connecting to 127.0.0.1:" + port, r.output());
  }

  @Test
  void sendsUserAgentHostAndMethodAndAcceptsConfiguredStatuses(Vertx vertx) throws Exception {
    AtomicReference<String> seen = new AtomicReference<>();
    HttpServer s = get(vertx.createHttpServer().requestHandler(req -> {
      seen.set(req.method() + " " + req.uri() + " host=" + req.authority() + " ua=" + req.getHeader("user-agent"));
      req.response().setStatusCode(204).end();
    }).listen(0, "127.0.0.1"));
    URI u = URI.create("http://127.0.0.1:" + s.actualPort() + "/ready?deep=1");
    Endpoint ep = new Endpoint(HealthCheckConfig.ProbeKind.HTTP, u.toString(), u, "127.0.0.1", s.actualPort(), "HEAD",
        "app.example.com", List.of(new StatusRange(204, 204)), null, true, null, null);
    ProbeResult r = probe(vertx, ep, SETTINGS);
    assertTrue(r.ok(), r.toString());
    assertEquals("HEAD /ready?deep=1 host=app.example.com ua=Meridian-Test/1", seen.get());
    Endpoint only200 = new Endpoint(HealthCheckConfig.ProbeKind.HTTP, u.toString(), u, "127.0.0.1", s.actualPort(),
        "GET", null, List.of(new StatusRange(200, 200)), null, true, null, null);
    assertEquals(ProbeFailure.STATUS, probe(vertx, only200, SETTINGS).failure());
  }

  @Test
  void chunkedBodyIsMatchedWithinTheCap(Vertx vertx) throws Exception {
    HttpServer s = get(vertx.createHttpServer().requestHandler(req -> {
      req.response().setChunked(true);
      req.response().write("{\"applied\": {\"us-east\": 42}, ");
      vertx.setTimer(20, t -> req.response().end("\"status\": \"ok\", \"pad\": \"" + "x".repeat(1000) + "\"}"));
    }).listen(0, "127.0.0.1"));
    String url = "http://127.0.0.1:" + s.actualPort() + "/health";
    ProbeResult r = probe(vertx, http(url, "\"status\": \"ok\""), SETTINGS);
    assertTrue(r.ok(), r.toString());
    assertEquals(Map.of(), r.watermarks(), "body truncated at 256 bytes: not valid JSON, so no watermarks");
    ProbeResult miss = probe(vertx, http(url, "\"pad\": \"xxxxx\"}"), SETTINGS);
    assertEquals(ProbeFailure.BODY, miss.failure(), "the end of the body is beyond the cap");
    assertTrue(miss.output().contains("(truncated at 256 bytes)"), miss.output());
  }

  @Test
  void httpsReportsTheTlsHandshakeAndVerifiesCertificates(Vertx vertx, @TempDir Path dir) throws Exception {
    SelfSignedPem cert = SelfSignedPem.create(dir);
    HttpServer s = get(vertx.createHttpServer(new HttpServerOptions().setSsl(true)
        .setKeyCertOptions(cert.keyCertOptions())).requestHandler(req -> req.response().end("ok"))
        .listen(0, "127.0.0.1"));
    URI u = URI.create("https://127.0.0.1:" + s.actualPort() + "/health");
    Endpoint insecure = new Endpoint(HealthCheckConfig.ProbeKind.HTTP, u.toString(), u, "127.0.0.1", s.actualPort(),
        "GET", "localhost", StatusRange.SUCCESS, "ok", false, null, null);
    // the JVM's first TLS handshake initialises its providers: allow for it once, then use a short timeout
    probe(vertx, insecure, SETTINGS);
    ProbeResult r = probe(vertx, insecure, SETTINGS);
    assertTrue(r.ok(), r.toString());
    assertTrue(r.tlsNanos() >= 0, "TLS handshake timed separately");
    assertTrue(r.output().matches("HTTP 200 in [0-9.]+ms \\(connect [0-9.]+ms, tls [0-9.]+ms, first byte [0-9.]+ms\\)"),
        r.output());
    Endpoint verifying = new Endpoint(HealthCheckConfig.ProbeKind.HTTP, u.toString(), u, "127.0.0.1", s.actualPort(),
        "GET", "localhost", StatusRange.SUCCESS, null, true, null, null);
    ProbeResult bad = probe(vertx, verifying, SETTINGS);
    assertEquals(ProbeFailure.TLS, bad.failure(), bad.toString());
    assertTrue(bad.output().startsWith("TLS handshake failed"), bad.output());
    assertNull(bad.watermarks().get("x"));
  }
}
