package io.meridian.core;

/**
 * A region as one routing plan sees it.
 *
 * @param id              region id from the config
 * @param latitude        degrees
 * @param longitude       degrees
 * @param residencyGroup  data-residency group
 * @param health          the checkers' verdict
 * @param lifecycle       admin/lifecycle state
 * @param capacityRps     configured capacity
 * @param loadRps         last measured load (0 when unknown)
 * @param trafficShare    0..1: the share of its natural traffic it keeps (drain steps, slow-start ramp); 1 = all
 * @param allowedRps      the most requests/s all proxies together may send it under this plan (capacity ×
 *                        headroom, lowered while degraded, draining or ramping up; 0 when it takes no traffic);
 *                        NaN when the plan does not say (a plan of format 1): proxies then enforce no rate limit
 */
public record RegionState(String id, double latitude, double longitude, String residencyGroup, Health health,
    Lifecycle lifecycle, double capacityRps, double loadRps, double trafficShare, double allowedRps) {

  /** A region state whose plan does not state an allowed rate ({@code allowedRps} NaN). */
  public RegionState(String id, double latitude, double longitude, String residencyGroup, Health health,
      Lifecycle lifecycle, double capacityRps, double loadRps, double trafficShare) {
    this(id, latitude, longitude, residencyGroup, health, lifecycle, capacityRps, loadRps, trafficShare, Double.NaN);
  }

  public RegionState {
    if (allowedRps < 0) {
      throw new IllegalArgumentException("region " + id + ": allowedRps " + allowedRps + " (expected: >= 0 or NaN)");
    }
  }

  /** May this region be chosen for new traffic under this plan? */
  public boolean eligible() {
    return health.serves() && lifecycle.takesTraffic() && trafficShare > 0;
  }

  public RegionState withHealth(Health h) {
    return new RegionState(id, latitude, longitude, residencyGroup, h, lifecycle, capacityRps, loadRps, trafficShare,
        allowedRps);
  }

  public RegionState withLifecycle(Lifecycle l, double share) {
    return new RegionState(id, latitude, longitude, residencyGroup, health, l, capacityRps, loadRps, share,
        allowedRps);
  }

  public RegionState withLoad(double rps) {
    return new RegionState(id, latitude, longitude, residencyGroup, health, lifecycle, capacityRps, rps, trafficShare,
        allowedRps);
  }

  /** The same region with the rate all proxies together may send it. */
  public RegionState withAllowed(double rps) {
    return new RegionState(id, latitude, longitude, residencyGroup, health, lifecycle, capacityRps, loadRps,
        trafficShare, rps);
  }
}
