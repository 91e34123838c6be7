package io.meridian.checker.impl;

import io.meridian.checker.HealthProbe;
import io.meridian.checker.ProbeFailure;
import io.meridian.checker.ProbeResult;
import io.meridian.config.HealthCheckConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.time.Instant;
import java.util.Map;

/** TCP connect probe: the endpoint passes when a connection is accepted within the timeout. */
public final class TcpProbe implements HealthProbe {
  private final Vertx vertx;
  private final HealthCheckConfig.Endpoint endpoint;
  private final HealthProbe.Settings settings;
  private final NetClient client;

  private TcpProbe(Vertx vertx, HealthCheckConfig.Endpoint endpoint, HealthProbe.Settings settings) {
    this.vertx = vertx;
    this.endpoint = endpoint;
    this.settings = settings;
    this.client = vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) Math.max(1, settings.timeoutMax().toMillis())));
  }

  public static TcpProbe create(Vertx vertx, HealthCheckConfig.Endpoint endpoint, HealthProbe.Settings settings) {
    return new TcpProbe(vertx, endpoint, settings);
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
    Promise<ProbeResult> p = Promise.promise();
    Instant at = Instant.now();
    long start = System.nanoTime();
    long timeoutMs = Math.max(1, Math.min(timeout.toMillis(), settings.timeoutMax().toMillis()));
    // the connect timeout alone would do, but a SYN queue that accepts late must not exceed the probe timeout
    long timer = vertx.setTimer(timeoutMs, id -> p.tryComplete(new ProbeResult(ProbeFailure.TIMEOUT, at, -1, -1, -1,
        System.nanoTime() - start, -1, "timeout after " + timeoutMs + "ms waiting for connect", Map.of())));
    client.connect(endpoint.port(), endpoint.host()).onComplete(ar -> {
      vertx.cancelTimer(timer);
      long took = System.nanoTime() - start;
      if (ar.succeeded()) {
        ar.result().close();
        p.tryComplete(new ProbeResult(null, at, took, -1, -1, took, -1, "connected in " + ProbeResult.ms(took),
            Map.of()));
      } else {
        p.tryComplete(new ProbeResult(Probes.classify(ar.cause()), at, -1, -1, -1, took, -1,
            Probes.describe(ar.cause()) + " connecting to " + endpoint.host() + ":" + endpoint.port() + " after "
                + ProbeResult.ms(took), Map.of()));
      }
    });
    return p.future();
  }

  @Override
  public void close() {
    client.close();
  }
}
