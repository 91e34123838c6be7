package io.meridian.controller.impl;

import io.meridian.checker.HealthQuorum;
import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.meridian.core.TrafficReport;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The latest report of every vantage point, combined by the health checker's {@link HealthQuorum}: a region is
 * FAILED only when a quorum (by default a majority) of vantage points say so, a vantage point that sees every
 * region down is discounted, and a stale report (past its {@code validUntil}) abstains — never "down". The
 * proxies' traffic reports add passive evidence (real traffic failing where probes pass).
 */
final class HealthView {
  private final Map<String, HealthReport> latest = new HashMap<>();
  private final Map<String, TrafficReport> traffic = new HashMap<>();
  private HealthQuorum quorum;
  /** Every region of the deployment: the quorum judges them together (it fails open when all would fail). */
  private List<String> regions = List.of();
  private Map<String, HealthQuorum.Verdict> cached;
  private Instant cachedAt;

  HealthView(HealthQuorum quorum) {
    this.quorum = quorum;
  }

  void quorum(HealthQuorum q) {
    this.quorum = q;
    cached = null;
  }

  void regions(List<String> ids) {
    this.regions = List.copyOf(ids);
    cached = null;
  }

  void accept(HealthReport report) {
    cached = null;
    if (report.isGone()) {
      latest.remove(report.vantagePoint()); // its lease expired or it stopped: it leaves the electorate
      return;
    }
    HealthReport prev = latest.get(report.vantagePoint());
    if (prev == null || report.sequence() > prev.sequence() || report.at().isAfter(prev.at())) {
      latest.put(report.vantagePoint(), report);
    }
  }

  void accept(TrafficReport report) {
    cached = null;
    TrafficReport prev = traffic.get(report.source());
    if (prev == null || !report.at().isBefore(prev.at())) {
      traffic.put(report.source(), report);
    }
  }

  /** The combined verdict for a region at {@code now}. */
  Health verdict(String region, Instant now) {
    HealthQuorum.Verdict v = explain(region, now);
    return v == null ? Health.UNKNOWN : v.health();
  }

  /** The combined verdict with its votes and reason (for events and logs); null before the quorum is set. */
  HealthQuorum.Verdict explain(String region, Instant now) {
    if (!regions.contains(region)) {
      return quorum.evaluate(List.of(region), latest.values(), traffic.values(), now).get(region);
    }
    // one evaluation of every region per instant (the engine asks region by region within one step)
    if (cached == null || !now.equals(cachedAt)) {
      cached = quorum.evaluate(regions, latest.values(), traffic.values(), now);
      cachedAt = now;
    }
    return cached.get(region);
  }

  /** Highest replication watermark any fresh report shows {@code region} having applied from {@code source}. */
  long watermark(String region, String source, Instant now) {
    long best = -1;
    for (HealthReport r : latest.values()) {
      if (!now.isBefore(r.validUntil())) {
        continue;
      }
      for (HealthReport.RegionReport rr : r.regions()) {
        if (rr.region().equals(region)) {
          best = Math.max(best, rr.watermarks().getOrDefault(source, -1L));
        }
      }
    }
    return best;
  }

  int vantagePoints() {
    return latest.size();
  }
}
