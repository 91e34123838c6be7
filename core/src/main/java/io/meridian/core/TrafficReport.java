package io.meridian.core;

import java.time.Instant;
import java.util.Map;

/**
 * What one proxy measured over its last interval: demand per client zone and per region, and passive health
 * signals (real traffic failing where probes pass).
 *
 * @param source        proxy instance name
 * @param at            end of the measured interval
 * @param zoneRps       requests/s per client zone id
 * @param regionRps     requests/s sent to each region
 * @param regionErrors  fraction 0..1 of requests to each region that failed (5xx or connect error)
 * @param ejections     upstream ejections by outlier detection in the interval, per region
 * @param regionOfferedRps  requests/s the proxy wanted to send to each region: those sent plus those the
 *                      region's rate limit turned away (spilled elsewhere or shed); proxies split each region's
 *                      allowed rate by it (empty from reporters that do not enforce limits)
 */
public record TrafficReport(String source, Instant at, Map<String, Double> zoneRps, Map<String, Double> regionRps,
    Map<String, Double> regionErrors, Map<String, Integer> ejections, Map<String, Double> regionOfferedRps) {
  public TrafficReport {
    zoneRps = Map.copyOf(zoneRps);
    regionRps = Map.copyOf(regionRps);
    regionErrors = Map.copyOf(regionErrors);
    ejections = Map.copyOf(ejections);
    regionOfferedRps = Map.copyOf(regionOfferedRps);
  }

  /** A report without offered rates (a reporter that enforces no limits). */
  public TrafficReport(String source, Instant at, Map<String, Double> zoneRps, Map<String, Double> regionRps,
      Map<String, Double> regionErrors, Map<String, Integer> ejections) {
    this(source, at, zoneRps, regionRps, regionErrors, ejections, Map.of());
  }

  /** Whether this report says nothing: how a bus delivers a reporter that is gone (lease expired, stopped). */
  public boolean isEmpty() {
    return zoneRps.isEmpty() && regionRps.isEmpty() && regionOfferedRps.isEmpty();
  }
}
