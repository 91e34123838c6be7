package io.meridian.core;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What one health-checker instance (a vantage point) sees, published every report interval. The controller
 * combines reports from several vantage points by quorum; a report older than {@code validUntil} counts as
 * "unknown", never as "down".
 *
 * @param vantagePoint  checker instance name
 * @param sequence      increasing per vantage point
 * @param at            when it was made
 * @param validUntil    after this it is stale
 * @param regions       one entry per region
 */
public record HealthReport(String vantagePoint, long sequence, Instant at, Instant validUntil,
    List<RegionReport> regions) {

  public HealthReport {
    regions = List.copyOf(regions);
  }

  /**
   * The marker a bus delivers when a vantage point is gone: its lease expired (the process died or was cut off
   * from the store) or it stopped cleanly. It leaves the electorate at once (see {@code HealthQuorum}).
   */
  public static HealthReport gone(String vantagePoint, Instant at) {
    return new HealthReport(vantagePoint, 0, at, at, List.of());
  }

  /** Whether this is a {@link #gone} marker: no regions and already expired when made. */
  public boolean isGone() {
    return regions.isEmpty() && !validUntil.isAfter(at);
  }

  /**
   * One region as this vantage point sees it.
   *
   * @param region            region id
   * @param health            the checker's verdict for the region (after rise/fall thresholds)
   * @param healthyEndpoints  endpoints currently passing
   * @param totalEndpoints    endpoints probed
   * @param since             when the verdict last changed
   * @param detail            short readable evidence (last probe output)
   * @param watermarks        replication positions the region reports having applied, per source region
   */
  public record RegionReport(String region, Health health, int healthyEndpoints, int totalEndpoints,
      Instant since, String detail, Map<String, Long> watermarks) {
    public RegionReport {
      watermarks = Map.copyOf(watermarks);
    }
  }
}
