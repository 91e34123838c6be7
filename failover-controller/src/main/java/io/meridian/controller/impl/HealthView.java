package io.meridian.controller.impl;

import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * The latest report of every vantage point, combined by majority: a region is FAILED only when more than half
 * of the vantage points with a fresh report about it say so, so one checker with a broken network path cannot
 * fail a region on its own. A stale report (past its {@code validUntil}) counts as no evidence, never as down.
 */
final class HealthView {
  private final Map<String, HealthReport> latest = new HashMap<>();

  void accept(HealthReport report) {
    HealthReport prev = latest.get(report.vantagePoint());
    if (prev == null || report.sequence() > prev.sequence() || report.at().isAfter(prev.at())) {
      latest.put(report.vantagePoint(), report);
    }
  }

  /** The combined verdict for a region at {@code now}. */
  Health verdict(String region, Instant now) {
    int fresh = 0;
    int failed = 0;
    int degraded = 0;
    for (HealthReport r : latest.values()) {
      if (!now.isBefore(r.validUntil())) {
        continue;
      }
      for (HealthReport.RegionReport rr : r.regions()) {
        if (rr.region().equals(region)) {
          if (rr.health() == Health.UNKNOWN) {
            break;
          }
          fresh++;
          if (rr.health() == Health.FAILED) {
            failed++;
          } else if (rr.health() == Health.DEGRADED) {
            degraded++;
          }
          break;
        }
      }
    }
    if (fresh == 0) {
      return Health.UNKNOWN;
    }
    if (failed * 2 > fresh) {
      return Health.FAILED;
    }
    if ((failed + degraded) * 2 > fresh) {
      return Health.DEGRADED;
    }
    return Health.HEALTHY;
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
