package io.meridian.checker.impl;

import io.meridian.checker.EndpointStatus;
import io.meridian.checker.EndpointThresholds;
import io.meridian.checker.HealthProbe;
import io.meridian.checker.ProbeResult;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * Runs one probe on its interval (after a random start jitter, so that probes of many targets and checkers
 * do not synchronise) and feeds the results to the thresholds. Lives on its vantage point's context.
 */
final class EndpointChecker {
  static final int KEEP_OUTPUTS = 5;

  final String region;
  final HealthProbe probe;
  EndpointThresholds thresholds;
  private final Vertx vertx;
  private final long intervalMs;
  private final AdaptiveTimeout timeout;
  private final Deque<ProbeResult> recent = new ArrayDeque<>(KEEP_OUTPUTS);
  private final Consumer<EndpointChecker> onChange;
  private final CounterDataPoint ok;
  private final Map<String, CounterDataPoint> failures;
  private final DistributionDataPoint duration;
  private final GaugeDataPoint up;
  private final GaugeDataPoint timeoutGauge;
  private Map<String, Long> watermarks = Map.of();
  private Instant failingSince;
  private long timer = -1;
  private boolean inFlight;
  private boolean stopped;

  EndpointChecker(Vertx vertx, String vantagePoint, String region, HealthProbe probe, EndpointThresholds thresholds,
      long intervalMs, AdaptiveTimeout timeout, CheckerMetrics metrics, Consumer<EndpointChecker> onChange) {
    this.timeout = timeout;
    this.vertx = vertx;
    this.region = region;
    this.probe = probe;
    this.thresholds = thresholds;
    this.intervalMs = intervalMs;
    this.onChange = onChange;
    String target = probe.endpoint().name();
    this.ok = metrics.probes.labelValues(vantagePoint, region, target, "ok");
    this.failures = new java.util.HashMap<>();
    for (io.meridian.checker.ProbeFailure f : io.meridian.checker.ProbeFailure.values()) {
      failures.put(f.label(), metrics.probes.labelValues(vantagePoint, region, target, f.label()));
    }
    this.duration = metrics.probeDuration.labelValues(vantagePoint, region, target);
    this.up = metrics.targetUp.labelValues(vantagePoint, region, target);
    this.timeoutGauge = metrics.probeTimeout.labelValues(vantagePoint, region, target);
    timeoutGauge.set(timeout.current().toNanos() / 1e9);
    up.set(gaugeValue(thresholds.status()));
  }

  void start() {
    long jitter = ThreadLocalRandom.current().nextLong(Math.max(1, intervalMs));
    timer = vertx.setTimer(Math.max(1, jitter), t -> {
      tick();
      if (!stopped) {
        // fixed rate, not fixed delay: a slow target must not stretch the detection time
        timer = vertx.setPeriodic(intervalMs, p -> tick());
      }
    });
  }

  void stop() {
    stopped = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    probe.close();
  }

  private void tick() {
    if (inFlight || stopped) {
      // the configured timeout is ≤ interval, so with a quick path this only happens when the event loop itself
      // is late; on a slow path the adaptive timeout may exceed the interval and the next probe waits for this one
      return;
    }
    inFlight = true;
    probe.probe(timeout.current()).onComplete(ar -> {
      inFlight = false;
      if (stopped || ar.failed()) {
        return;
      }
      onResult(ar.result());
    });
  }

  private void onResult(ProbeResult r) {
    if (recent.size() == KEEP_OUTPUTS) {
      recent.removeFirst();
    }
    recent.addLast(r);
    duration.observe(r.totalNanos() / 1e9);
    if (r.ok()) {
      timeout.sample(r.totalNanos());
      timeoutGauge.set(timeout.current().toNanos() / 1e9);
      ok.inc();
      failingSince = null;
      if (!r.watermarks().isEmpty()) {
        watermarks = r.watermarks();
      }
    } else {
      failures.get(r.failure().label()).inc();
      if (failingSince == null) {
        failingSince = r.at();
      }
    }
    boolean timedOut = r.failure() == io.meridian.checker.ProbeFailure.TIMEOUT;
    if (timedOut) {
      timeout.timedOut();
      timeoutGauge.set(timeout.current().toNanos() / 1e9);
    }
    if (thresholds.record(r.ok(), timedOut, Instant.now())) {
      up.set(gaugeValue(thresholds.status()));
      onChange.accept(this);
    }
  }

  private static double gaugeValue(EndpointStatus s) {
    return switch (s) {
      case UP -> 1;
      case DOWN -> 0;
      case UNKNOWN -> -1;
    };
  }

  EndpointStatus status() {
    return thresholds.status();
  }

  List<ProbeResult> recent() {
    return List.copyOf(recent);
  }

  ProbeResult last() {
    return recent.peekLast();
  }

  Instant failingSince() {
    return failingSince;
  }

  /** The timeout the next probe gets. */
  java.time.Duration currentTimeout() {
    return timeout.current();
  }

  Map<String, Long> watermarks() {
    return watermarks;
  }
}
