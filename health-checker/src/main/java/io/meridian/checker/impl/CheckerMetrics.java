package io.meridian.checker.impl;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * Every series the health checker exports (documented in health-checker/README.md). Labels are per vantage
 * point, region and target; their cardinality is bounded by the configuration.
 */
public final class CheckerMetrics {
  final Counter probes;
  final Histogram probeDuration;
  final Gauge targetUp;
  final Gauge regionHealth;
  final Counter transitions;
  final Counter reports;
  final Gauge holdDown;
  final Gauge probeTimeout;

  private CheckerMetrics(PrometheusRegistry registry) {
    probes = Counter.builder().name("meridian_checker_probes_total")
        .help("Probes run, by outcome (ok or the failure kind)")
        .labelNames("vantage_point", "region", "target", "result").register(registry);
    probeDuration = Histogram.builder().name("meridian_checker_probe_duration_seconds")
        .help("Time from probe start to its verdict")
        .labelNames("vantage_point", "region", "target")
        .classicOnly().classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
        .register(registry);
    targetUp = Gauge.builder().name("meridian_checker_target_up")
        .help("1 when the target passes its rise/fall thresholds, 0 when down, -1 when unknown")
        .labelNames("vantage_point", "region", "target").register(registry);
    regionHealth = Gauge.builder().name("meridian_checker_region_health")
        .help("1 for the region's current state as this vantage point reports it, 0 for the others")
        .labelNames("vantage_point", "region", "state").register(registry);
    transitions = Counter.builder().name("meridian_checker_region_transitions_total")
        .help("Changes of a region's reported state, by the new state")
        .labelNames("vantage_point", "region", "to").register(registry);
    reports = Counter.builder().name("meridian_checker_reports_published_total")
        .help("Health reports published on the control bus")
        .labelNames("vantage_point").register(registry);
    holdDown = Gauge.builder().name("meridian_checker_region_hold_down_seconds")
        .help("Remaining flap-damping hold-down of a region (0 when not held)")
        .labelNames("vantage_point", "region").register(registry);
    probeTimeout = Gauge.builder().name("meridian_checker_probe_timeout_seconds")
        .help("Timeout the next probe of a target gets: the configured timeout, grown with the path's measured"
            + " round trips up to timeout_max")
        .labelNames("vantage_point", "region", "target").register(registry);
  }

  public static CheckerMetrics register(PrometheusRegistry registry) {
    return new CheckerMetrics(registry);
  }
}
