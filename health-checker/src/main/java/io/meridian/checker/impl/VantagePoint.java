package io.meridian.checker.impl;

import io.meridian.checker.EndpointStatus;
import io.meridian.checker.EndpointThresholds;
import io.meridian.checker.FlapDamper;
import io.meridian.checker.HealthProbe;
import io.meridian.checker.ProbeResult;
import io.meridian.checker.RegionHealthRule;
import io.meridian.config.HealthCheckConfig;
import io.meridian.config.MeridianConfig;
import io.meridian.config.RegionConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One checker instance (vantage point): probes every endpoint of every region, turns results into a damped
 * per-region verdict and publishes a {@link HealthReport} every report interval — and at once when a region's
 * verdict changes, so detection does not wait for the next period. All state lives on one Vert.x context.
 */
public final class VantagePoint {
  private static final Logger LOG = LoggerFactory.getLogger(VantagePoint.class);

  private final Vertx vertx;
  private final String name;
  private final ControlBus bus;
  private final CheckerMetrics metrics;
  private MeridianConfig config;
  private Map<String, RegionTracker> regions = new LinkedHashMap<>();
  // starts from the clock so that a restarted checker's sequence keeps increasing
  private long sequence = System.currentTimeMillis() * 1000;
  private long reportTimer = -1;
  private volatile HealthReport lastReport;

  private VantagePoint(Vertx vertx, String name, MeridianConfig config, ControlBus bus, CheckerMetrics metrics) {
    this.vertx = vertx;
    this.name = name;
    this.config = config;
    this.bus = bus;
    this.metrics = metrics;
  }

  /** Must be called on the context that will own this vantage point. */
  public static VantagePoint start(Vertx vertx, String name, MeridianConfig config, ControlBus bus,
      CheckerMetrics metrics) {
    VantagePoint vp = new VantagePoint(vertx, name, config, bus, metrics);
    vp.build(Map.of());
    vp.scheduleReports();
    return vp;
  }

  public String name() {
    return name;
  }

  /** The last report this vantage point published (null before the first). */
  public HealthReport lastReport() {
    return lastReport;
  }

  private void build(Map<String, RegionTracker> previous) {
    HealthCheckConfig hc = config.healthCheck();
    HealthProbe.Settings settings = HealthProbe.Settings.of(hc);
    Map<String, RegionTracker> next = new LinkedHashMap<>();
    Instant now = Instant.now();
    for (RegionConfig rc : config.regions()) {
      RegionTracker old = previous.get(rc.id());
      FlapDamper damper = old != null ? old.damper
          : FlapDamper.of(hc.flapHoldDown(), hc.flapHoldDownMax(), hc.flapDecay());
      RegionTracker rt = new RegionTracker(rc.id(), damper, old);
      for (HealthCheckConfig.Endpoint ep : rc.healthChecks()) {
        EndpointThresholds prior = old == null ? null : old.thresholdsFor(ep);
        EndpointThresholds th = prior != null ? EndpointThresholds.carryOver(prior, hc.rise(), hc.fall(), hc.fallTimeouts())
            : EndpointThresholds.of(hc.rise(), hc.fall(), hc.fallTimeouts(), now);
        EndpointChecker ec = new EndpointChecker(vertx, name, rc.id(), HealthProbe.of(vertx, ep, settings), th,
            hc.interval().toMillis(), AdaptiveTimeout.of(hc.timeout(), hc.timeoutMax()), metrics,
            this::endpointChanged);
        rt.endpoints.add(ec);
      }
      rt.evaluate(now);
      next.put(rc.id(), rt);
    }
    regions = next;
    regions.values().forEach(r -> r.endpoints.forEach(EndpointChecker::start));
  }

  private void scheduleReports() {
    reportTimer = vertx.setPeriodic(config.healthCheck().reportInterval().toMillis(), t -> {
      Instant now = Instant.now();
      regions.values().forEach(r -> r.evaluate(now)); // hold-downs expire with time, not only with results
      publish(now);
    });
  }

  /** Applies a new configuration; verdicts of endpoints that stay are carried over, not reset. */
  public void reconfigure(MeridianConfig cfg) {
    Map<String, RegionTracker> old = regions;
    old.values().forEach(r -> r.endpoints.forEach(EndpointChecker::stop));
    boolean newPeriod = !cfg.healthCheck().reportInterval().equals(config.healthCheck().reportInterval());
    this.config = cfg;
    build(old);
    if (newPeriod) {
      vertx.cancelTimer(reportTimer);
      scheduleReports();
    }
  }

  public void stop() {
    vertx.cancelTimer(reportTimer);
    regions.values().forEach(r -> r.endpoints.forEach(EndpointChecker::stop));
  }

  private void endpointChanged(EndpointChecker ec) {
    Instant now = Instant.now();
    RegionTracker rt = regions.get(ec.region);
    if (rt != null && rt.evaluate(now)) {
      publish(now);
    }
  }

  private void publish(Instant now) {
    List<HealthReport.RegionReport> list = new ArrayList<>(regions.size());
    for (RegionTracker rt : regions.values()) {
      list.add(rt.report());
    }
    Duration ttl = config.healthCheck().reportTtl();
    HealthReport report = new HealthReport(name, ++sequence, now, now.plus(ttl), list);
    lastReport = report;
    metrics.reports.labelValues(name).inc();
    bus.publishHealth(report).onFailure(e -> LOG.warn("vantage point {}: publishing health failed: {}", name,
        e.getMessage()));
  }

  /** Everything this vantage point knows, for the evidence API. */
  public JsonObject evidence(String regionFilter) {
    Instant now = Instant.now();
    JsonArray rs = new JsonArray();
    for (RegionTracker rt : regions.values()) {
      if (regionFilter == null || regionFilter.equals(rt.id)) {
        rs.add(rt.evidence(now));
      }
    }
    HealthReport r = lastReport;
    return new JsonObject().put("vantage_point", name)
        .put("last_report", r == null ? null : new JsonObject().put("sequence", r.sequence())
            .put("at", r.at().toString()).put("valid_until", r.validUntil().toString()))
        .put("regions", rs);
  }

  /** One region as this vantage point sees it. */
  private final class RegionTracker {
    final String id;
    final FlapDamper damper;
    final List<EndpointChecker> endpoints = new ArrayList<>();
    final GaugeDataPoint holdGauge;
    Health raw;
    Health health;
    Instant since;

    RegionTracker(String id, FlapDamper damper, RegionTracker previous) {
      this.id = id;
      this.damper = damper;
      this.holdGauge = metrics.holdDown.labelValues(name, id);
      this.health = previous == null ? Health.UNKNOWN : previous.health;
      this.raw = previous == null ? Health.UNKNOWN : previous.raw;
      this.since = previous == null ? Instant.now() : previous.since;
      if (previous == null) {
        setStateGauge(health);
      }
    }

    EndpointThresholds thresholdsFor(HealthCheckConfig.Endpoint ep) {
      for (EndpointChecker ec : endpoints) {
        if (ec.probe.endpoint().equals(ep)) {
          return ec.thresholds;
        }
      }
      return null;
    }

    /** Recomputes the verdict; true when it changed. */
    boolean evaluate(Instant now) {
      int up = 0;
      int down = 0;
      for (EndpointChecker ec : endpoints) {
        if (ec.status() == EndpointStatus.UP) {
          up++;
        } else if (ec.status() == EndpointStatus.DOWN) {
          down++;
        }
      }
      raw = RegionHealthRule.evaluate(up, down, config.healthCheck().overprovisioningFactor());
      Health next = damper.apply(raw, now);
      Instant until = damper.heldUntil();
      holdGauge.set(until == null ? 0 : Math.max(0, Duration.between(now, until).toMillis() / 1000.0));
      if (next == health) {
        return false;
      }
      LOG.info("vantage point {}: region {} {} -> {} ({})", name, id, health, next, detail(now));
      metrics.transitions.labelValues(name, id, next.name().toLowerCase(java.util.Locale.ROOT)).inc();
      setStateGauge(next);
      health = next;
      since = now;
      return true;
    }

    private void setStateGauge(Health h) {
      for (Health s : Health.values()) {
        metrics.regionHealth.labelValues(name, id, s.name().toLowerCase(java.util.Locale.ROOT))
            .set(s == h ? 1 : 0);
      }
    }

    HealthReport.RegionReport report() {
      int up = (int) endpoints.stream().filter(e -> e.status() == EndpointStatus.UP).count();
      Map<String, Long> marks = new LinkedHashMap<>();
      for (EndpointChecker ec : endpoints) {
        ec.watermarks().forEach((k, v) -> marks.merge(k, v, Math::max));
      }
      return new HealthReport.RegionReport(id, health, up, endpoints.size(), since, detail(Instant.now()), marks);
    }

    /** One line: the counts, a hold-down if any, and the most telling probe output. */
    String detail(Instant now) {
      int up = (int) endpoints.stream().filter(e -> e.status() == EndpointStatus.UP).count();
      StringBuilder sb = new StringBuilder().append(up).append('/').append(endpoints.size()).append(" up");
      if (damper.held(now)) {
        sb.append("; held down until ").append(damper.heldUntil()).append(" (flapping: ")
            .append(damper.penalty(now)).append(" recent failures)");
      }
      EndpointChecker telling = endpoints.stream().filter(e -> e.status() != EndpointStatus.UP && e.last() != null)
          .findFirst().orElse(endpoints.stream().filter(e -> e.last() != null).findFirst().orElse(null));
      if (telling != null) {
        sb.append("; ").append(telling.probe.endpoint().name()).append(' ').append(telling.status()).append(": ")
            .append(telling.last());
      }
      return sb.toString();
    }

    JsonObject evidence(Instant now) {
      JsonArray eps = new JsonArray();
      for (EndpointChecker ec : endpoints) {
        JsonArray outs = new JsonArray();
        for (ProbeResult r : ec.recent()) {
          outs.add(new JsonObject().put("at", r.at().toString()).put("ok", r.ok())
              .put("failure", r.ok() ? null : r.failure().label()).put("output", r.output()));
        }
        eps.add(new JsonObject().put("target", ec.probe.endpoint().name())
            .put("kind", ec.probe.endpoint().kind().name().toLowerCase(java.util.Locale.ROOT))
            .put("status", ec.status().name()).put("since", ec.thresholds.since().toString())
            .put("failing_since", ec.failingSince() == null ? null : ec.failingSince().toString())
            .put("consecutive_failures", ec.thresholds.consecutiveFailures())
            .put("consecutive_successes", ec.thresholds.consecutiveSuccesses())
            .put("watermarks", new JsonObject(new LinkedHashMap<>(ec.watermarks())))
            .put("recent", outs));
      }
      Instant until = damper.heldUntil();
      return new JsonObject().put("region", id).put("health", health.name()).put("since", since.toString())
          .put("undamped", raw.name()).put("recent_failures", damper.penalty(now))
          .put("held_until", until == null || !until.isAfter(now) ? null : until.toString())
          .put("detail", detail(now)).put("endpoints", eps);
    }
  }
}
