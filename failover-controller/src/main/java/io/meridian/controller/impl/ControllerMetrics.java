package io.meridian.controller.impl;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The controller's metrics, registered on the role's registry (served at /metrics on the admin listener).
 * Every series is documented in failover-controller/README.md.
 */
public final class ControllerMetrics {
  final Counter plansPublished;
  final Gauge planVersion;
  final Gauge shortfall;
  final Gauge regionShare;
  final Gauge regionLoad;
  final Gauge regionLimit;
  final Histogram planningSeconds;
  final Counter refusals;
  final Counter mutations;
  final Counter authFailures;
  final Counter events;
  final Gauge leader;
  final Counter leaderChanges;
  final Counter forwarded;
  final Gauge readiness;
  final Gauge readinessShortfall;
  final Gauge regionPeakLoad;
  final Histogram readinessSeconds;

  private ControllerMetrics(PrometheusRegistry registry) {
    plansPublished = Counter.builder().name("meridian_controller_plans_published_total")
        .help("Routing plans published").register(registry);
    planVersion = Gauge.builder().name("meridian_controller_plan_version")
        .help("Version of the last published routing plan").register(registry);
    shortfall = Gauge.builder().name("meridian_controller_shortfall_rps")
        .help("Demand the current plan cannot place within allowed capacity (shed by the proxies)")
        .register(registry);
    regionShare = Gauge.builder().name("meridian_controller_region_traffic_share_ratio")
        .help("Traffic share of a region in the current plan (0 drained/failed, 1 full)")
        .labelNames("region", "lifecycle").register(registry);
    regionLoad = Gauge.builder().name("meridian_controller_region_planned_load_rps")
        .help("Requests/s the current plan sends to a region").labelNames("region").register(registry);
    regionLimit = Gauge.builder().name("meridian_controller_region_limit_rps")
        .help("Most a region may be planned to carry: capacity x headroom x share").labelNames("region")
        .register(registry);
    planningSeconds = Histogram.builder().name("meridian_controller_planning_duration_seconds")
        .help("Time to evaluate lifecycles and compute a plan")
        .classicUpperBounds(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1).register(registry);
    refusals = Counter.builder().name("meridian_controller_refusals_total")
        .help("Admin mutations refused, by rule").labelNames("rule").register(registry);
    mutations = Counter.builder().name("meridian_controller_mutations_total")
        .help("Admin mutations by action and outcome (applied, dry_run, replayed, refused)")
        .labelNames("action", "outcome").register(registry);
    authFailures = Counter.builder().name("meridian_controller_auth_failures_total")
        .help("Admin requests rejected by authentication (401) or authorisation (403)").labelNames("status")
        .register(registry);
    events = Counter.builder().name("meridian_controller_events_total")
        .help("Lifecycle and admin events, by type").labelNames("type").register(registry);
    leader = Gauge.builder().name("meridian_controller_leader")
        .help("1 while this controller leads (plans, publishes and applies commands), else 0").register(registry);
    leaderChanges = Counter.builder().name("meridian_controller_leader_changes_total")
        .help("Leader changes this controller observed (a new leader key, or none)").register(registry);
    forwarded = Counter.builder().name("meridian_controller_forwarded_commands_total")
        .help("Commands this controller forwarded to the leader, by outcome (relayed, no_leader, unreachable)")
        .labelNames("outcome").register(registry);
    readiness = Gauge.builder().name("meridian_controller_region_readiness")
        .help("1 if the other regions would absorb this region's traffic within headroom were it to fail"
            + " (demand: current, or peak_24h: at its highest planned load of the last 24 h), else 0")
        .labelNames("region", "demand").register(registry);
    readinessShortfall = Gauge.builder().name("meridian_controller_region_readiness_shortfall_rps")
        .help("Requests/s that would find no region within headroom were this region to fail (demand: current"
            + " or peak_24h)")
        .labelNames("region", "demand").register(registry);
    regionPeakLoad = Gauge.builder().name("meridian_controller_region_peak_load_rps")
        .help("Highest planned load of a region within the last 24 h (what readiness at peak_24h replays)")
        .labelNames("region").register(registry);
    readinessSeconds = Histogram.builder().name("meridian_controller_readiness_duration_seconds")
        .help("Time to compute every region's capacity readiness (on the controller's lane, off requests)")
        .classicUpperBounds(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5).register(registry);
  }

  public static ControllerMetrics register(PrometheusRegistry registry) {
    return new ControllerMetrics(registry);
  }
}
