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
 */
public record RegionState(String id, double latitude, double longitude, String residencyGroup, Health health,
    Lifecycle lifecycle, double capacityRps, double loadRps, double trafficShare) {

  /** May this region be chosen for new traffic under this plan? */
  public boolean eligible() {
    return health.serves() && lifecycle.takesTraffic() && trafficShare > 0;
  }

  public RegionState withHealth(Health h) {
    return new RegionState(id, latitude, longitude, residencyGroup, h, lifecycle, capacityRps, loadRps, trafficShare);
  }

  public RegionState withLifecycle(Lifecycle l, double share) {
    return new RegionState(id, latitude, longitude, residencyGroup, health, l, capacityRps, loadRps, share);
  }

  public RegionState withLoad(double rps) {
    return new RegionState(id, latitude, longitude, residencyGroup, health, lifecycle, capacityRps, rps, trafficShare);
  }
}
