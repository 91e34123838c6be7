package io.meridian.checker.impl;

import io.meridian.checker.HealthProbe;
import io.meridian.checker.ProbeFailure;
import io.meridian.checker.ProbeResult;
import io.meridian.config.HealthCheckConfig;
import io.meridian.config.RegionConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import java.net.URI;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * HTTP(S) probe over a raw connection, so that connect, TLS handshake and time to first byte are measured
 * separately (an HTTP client library hides them) and a response that hangs half-way is seen for what it is.
 * One request per connection ({@code Connection: close}, RFC 9112 §9.6): the probe sees what a new client sees.
 */
public final class HttpProbe implements HealthProbe {
  private final Vertx vertx;
  private final HealthCheckConfig.Endpoint endpoint;
  private final HealthProbe.Settings settings;
  private final NetClient client;
  private final ClientSSLOptions ssl;
  private final String serverName;
  private final Buffer request;
  private final boolean head;

  private HttpProbe(Vertx vertx, HealthCheckConfig.Endpoint endpoint, HealthProbe.Settings settings) {
    this.vertx = vertx;
    this.endpoint = endpoint;
    this.settings = settings;
    this.client = vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) Math.max(1, settings.timeoutMax().toMillis())).setTcpNoDelay(true));
    URI url = endpoint.url();
    this.serverName = endpoint.hostHeader() != null ? endpoint.hostHeader() : url.getHost();
    this.ssl = endpoint.https()
        ? new ClientSSLOptions().setTrustAll(!endpoint.tlsVerify())
            .setHostnameVerificationAlgorithm(endpoint.tlsVerify() ? "HTTPS" : "")
        : null;
    boolean defaultPort = url.getPort() < 0 || url.getPort() == (endpoint.https() ? 443 : 80);
    String hostHeader = endpoint.hostHeader() != null ? endpoint.hostHeader()
        : (url.getHost().contains(":") && !url.getHost().startsWith("[") ? "[" + url.getHost() + "]" : url.getHost())
            + (defaultPort ? "" : ":" + RegionConfig.portOf(url));
    String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
    if (url.getRawQuery() != null) {
      path = path + "?" + url.getRawQuery();
    }
    this.head = "HEAD".equals(endpoint.method());
    StringBuilder req = new StringBuilder(160).append(endpoint.method()).append(' ').append(path)
        .append(" HTTP/1.1\r\nHost: ").append(hostHeader).append("\r\nUser-Agent: ").append(settings.userAgent())
        .append("\r\nAccept: */*\r\nConnection: close\r\n");
    if ("POST".equals(endpoint.method())) {
      req.append("Content-Length: 0\r\n");
    }
    this.request = Buffer.buffer(req.append("\r\n").toString());
  }

  public static HttpProbe create(Vertx vertx, HealthCheckConfig.Endpoint endpoint, HealthProbe.Settings settings) {
    if (endpoint.https()) {
      warmUpTls(vertx);
    }
    return new HttpProbe(vertx, endpoint, settings);
  }

  private static volatile boolean tlsWarm;

  /**
   * The JVM's first TLS engine takes hundreds of milliseconds to initialise (provider and cipher tables); done on
   * the event loop inside the first probe it would both fail that probe by timeout and stall the loop. Do it once
   * on a worker instead.
   */
  private static void warmUpTls(Vertx vertx) {
    if (tlsWarm) {
      return;
    }
    tlsWarm = true;
    vertx.executeBlocking(() -> {
      javax.net.ssl.SSLContext c = javax.net.ssl.SSLContext.getInstance("TLS");
      c.init(null, null, null);
      c.createSSLEngine().beginHandshake();
      return null;
    });
  }

  @Override
  public HealthCheckConfig.Endpoint endpoint() {
    return endpoint;
  }

  @Override
  public Future<ProbeResult> probe() {
    return probe(settings.timeout());
  }

  @Override
  public Future<ProbeResult> probe(java.time.Duration timeout) {
    return new Attempt(Math.max(1, Math.min(timeout.toMillis(), settings.timeoutMax().toMillis()))).run();
  }

  @Override
  public void close() {
    client.close();
  }

  /** One probe's state; all callbacks run on the caller's context. */
  private final class Attempt {
    private final Promise<ProbeResult> promise = Promise.promise();
    private final Instant at = Instant.now();
    private final long start = System.nanoTime();
    private final HttpResponseParser parser = new HttpResponseParser(settings.bodyMaxBytes(), head);
    private long timer;
    private boolean done;
    private NetSocket socket;
    private long connect = -1;
    private long tls = -1;
    private long sent = -1;
    private long firstByte = -1;
    private String phase = "connect";
    private final long timeoutMs;

    Attempt(long timeoutMs) {
      this.timeoutMs = timeoutMs;
    }

    Future<ProbeResult> run() {
      timer = vertx.setTimer(timeoutMs, id -> finish(ProbeFailure.TIMEOUT, -1,
          "timeout after " + timeoutMs + "ms waiting for " + phase + split()));
      client.connect(endpoint.port(), endpoint.host(), serverName).onComplete(ar -> {
        if (ar.failed()) {
          finish(Probes.classify(ar.cause()), -1, Probes.describe(ar.cause()) + " connecting to "
              + endpoint.host() + ":" + endpoint.port());
          return;
        }
        socket = ar.result();
        connect = System.nanoTime() - start;
        if (done) {
          socket.close();
          return;
        }
        if (ssl != null) {
          phase = "TLS handshake";
          long t0 = System.nanoTime();
          socket.upgradeToSsl(ssl, serverName).onComplete(tr -> {
            if (tr.failed()) {
              finish(ProbeFailure.TLS, -1, "TLS handshake failed: " + Probes.describe(tr.cause()) + split());
              return;
            }
            tls = System.nanoTime() - t0;
            send();
          });
        } else {
          send();
        }
      });
      return promise.future();
    }

    private void send() {
      if (done) {
        return;
      }
      phase = "first byte";
      socket.handler(b -> {
        if (firstByte < 0) {
          firstByte = System.nanoTime() - sent;
          phase = "rest of the response";
        }
        parser.feed(b);
        check();
      });
      socket.closeHandler(v -> {
        parser.eof();
        if (!check() && !done) {
          finish(ProbeFailure.CLOSED, parser.status(), "connection closed after " + parser.bytesReceived()
              + " bytes while waiting for " + phase + split());
        }
      });
      socket.exceptionHandler(e -> finish(Probes.classify(e), -1, Probes.describe(e) + " while waiting for "
          + phase + split()));
      sent = System.nanoTime();
      socket.write(request);
    }

    /** Evaluates the response when it is complete; true when finished. */
    private boolean check() {
      if (done) {
        return true;
      }
      if (parser.error() != null) {
        finish(ProbeFailure.PROTOCOL, parser.status(), parser.error() + split());
        return true;
      }
      if (!parser.complete()) {
        return false;
      }
      int status = parser.status();
      String body = parser.body();
      if (endpoint.expectStatus().stream().noneMatch(r -> r.contains(status))) {
        finish(ProbeFailure.STATUS, status, "HTTP " + status + " (expected " + endpoint.expectStatus().stream()
            .map(Object::toString).collect(Collectors.joining(", ")) + ")" + split() + bodyExcerpt(body));
        return true;
      }
      if (endpoint.bodyMatch() != null && !body.contains(endpoint.bodyMatch())) {
        finish(ProbeFailure.BODY, status, "HTTP " + status + " but the body does not contain '"
            + HttpResponseParser.truncate(endpoint.bodyMatch(), 40) + "'" + split() + bodyExcerpt(body));
        return true;
      }
      complete(null, status, "HTTP " + status + split(), Watermarks.parse(body));
      return true;
    }

    private String bodyExcerpt(String body) {
      return body.isEmpty() ? ", empty body" : ", body: '" + HttpResponseParser.truncate(body, 120) + "'"
          + (parser.bodyTruncated() ? " (truncated at " + settings.bodyMaxBytes() + " bytes)" : "");
    }

    private String split() {
      long total = System.nanoTime() - start;
      StringBuilder sb = new StringBuilder(" in ").append(ProbeResult.ms(total)).append(" (connect ")
          .append(ProbeResult.ms(connect));
      if (ssl != null) {
        sb.append(", tls ").append(ProbeResult.ms(tls));
      }
      return sb.append(", first byte ").append(ProbeResult.ms(firstByte)).append(')').toString();
    }

    private void finish(ProbeFailure failure, int status, String output) {
      complete(failure, status, output, Map.of());
    }

    private void complete(ProbeFailure failure, int status, String output, Map<String, Long> watermarks) {
      if (done) {
        return;
      }
      done = true;
      vertx.cancelTimer(timer);
      if (socket != null) {
        socket.handler(null);
        socket.closeHandler(null);
        socket.close();
      }
      promise.complete(new ProbeResult(failure, at, connect, tls, firstByte, System.nanoTime() - start, status,
          output, watermarks));
    }
  }
}
