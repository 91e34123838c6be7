package io.meridian.controller.impl;

import io.meridian.core.TrafficReport;
import io.meridian.core.geo.Zones;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Demand per client zone: the sum over proxies of each one's latest report within the demand window, or the
 * configured estimates while no proxy has reported. Measured demand replaces estimates wholesale, not zone by
 * zone: once proxies measure, an estimated zone nobody visits really has no demand.
 */
final class DemandView {
  private final Map<String, TrafficReport> latest = new HashMap<>();

  void accept(TrafficReport report) {
    TrafficReport prev = latest.get(report.source());
    if (prev == null || !report.at().isBefore(prev.at())) {
      latest.put(report.source(), report);
    }
  }

  /** Zone index → rps, sorted by zone index so planning is deterministic. */
  TreeMap<Integer, Double> demand(Instant now, Duration window, Map<String, Double> estimates) {
    TreeMap<Integer, Double> out = new TreeMap<>();
    boolean measured = false;
    for (TrafficReport r : latest.values()) {
      if (Duration.between(r.at(), now).compareTo(window) > 0) {
        continue;
      }
      measured = true;
      r.zoneRps().forEach((zone, rps) -> {
        int z = Zones.parse(zone);
        if (z != Zones.UNKNOWN && rps > 0) {
          out.merge(z, rps, Double::sum);
        }
      });
    }
    if (!measured) {
      estimates.forEach((zone, rps) -> {
        int z = Zones.parse(zone);
        if (z != Zones.UNKNOWN && rps > 0) {
          out.merge(z, rps, Double::sum);
        }
      });
    }
    return out;
  }

  boolean measured(Instant now, Duration window) {
    return latest.values().stream().anyMatch(r -> Duration.between(r.at(), now).compareTo(window) <= 0);
  }
}
