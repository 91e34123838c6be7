package io.meridian.checker;

import io.meridian.checker.impl.DnsProbe;
import io.meridian.checker.impl.HttpProbe;
import io.meridian.checker.impl.TcpProbe;
import io.meridian.config.HealthCheckConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;

/**
 * One active probe of one endpoint: HTTP(S), TCP connect or DNS. A probe only observes and reports what it saw
 * ({@link ProbeResult}); whether that makes the endpoint or region down is decided elsewhere
 * ({@link EndpointThresholds}, {@link RegionHealthRule}, {@link FlapDamper}, {@link HealthQuorum}).
 *
 * <p>Probes are non-blocking and must be called from one Vert.x context; each call opens a fresh connection
 * (a health check must see what a new client would see, including the connect), and the returned future always
 * succeeds: failures are results, never exceptions.
 *
 * <pre>{@code
 * HealthProbe p = HealthProbe.of(vertx, HealthCheckConfig.Endpoint.http(URI.create("http://10.0.0.1:8080/health")),
 *     HealthProbe.Settings.of(config.healthCheck()));
 * p.probe().onSuccess(r -> log.info("{}", r)); // "ok: HTTP 200 in 1.2ms (connect 0.3ms, first byte 0.8ms)"
 * }</pre>
 */
public interface HealthProbe {

  /**
   * @param timeout       the whole probe (connect, TLS, request, response) must finish within this, unless the
   *                      caller passes another timeout to {@link #probe(Duration)}
   * @param userAgent     HTTP User-Agent
   * @param bodyMaxBytes  at most this much body is read
   * @param timeoutMax    the longest timeout a caller may pass (the connect timeout of the probe's client)
   */
  record Settings(Duration timeout, String userAgent, int bodyMaxBytes, Duration timeoutMax) {
    public Settings(Duration timeout, String userAgent, int bodyMaxBytes) {
      this(timeout, userAgent, bodyMaxBytes, timeout);
    }

    public static Settings of(HealthCheckConfig c) {
      return new Settings(c.timeout(), c.userAgent(), c.bodyMaxBytes(), c.timeoutMax());
    }
  }

  static HealthProbe of(Vertx vertx, HealthCheckConfig.Endpoint endpoint, Settings settings) {
    return switch (endpoint.kind()) {
      case HTTP -> HttpProbe.create(vertx, endpoint, settings);
      case TCP -> TcpProbe.create(vertx, endpoint, settings);
      case DNS -> DnsProbe.create(vertx, endpoint, settings);
    };
  }

  HealthCheckConfig.Endpoint endpoint();

  /** Runs the probe once with the settings' timeout; the future always succeeds with the result. */
  Future<ProbeResult> probe();

  /**
   * Runs the probe once with {@code timeout} (at most the settings' {@code timeoutMax}); the future always
   * succeeds with the result. The checker passes an adaptive timeout here (see {@code EndpointChecker}).
   */
  Future<ProbeResult> probe(Duration timeout);

  /** Releases the probe's client. */
  void close();
}
