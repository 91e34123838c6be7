package io.meridian.core;

import java.time.Instant;
import java.util.List;

/**
 * Where traffic goes, as one immutable versioned value. The controller publishes a new plan on every change;
 * data planes swap it in atomically and apply it to the very next query or request.
 *
 * @param version       strictly increasing
 * @param createdAt     when the controller made it
 * @param reason        why this version exists (human-readable, for logs and the audit trail)
 * @param topology      regions and their geometry
 * @param regions       per region (same order as topology): health, lifecycle, capacity, load, share
 * @param zones         per client zone weighted choices, where the planner split a zone or could not place all
 *                      of its demand (the zone's shed fraction); others go nearest
 * @param homes         home-region promotions and fences
 * @param shortfallRps  demand the plan could not place within allowed capacity; the proxies shed it per zone
 *                      ({@link ZoneRoute#shed()})
 */
public record RoutingPlan(long version, Instant createdAt, String reason, Topology topology,
    List<RegionState> regions, ZoneRoutes zones, HomeAssignments homes, double shortfallRps) {

  public RoutingPlan {
    regions = List.copyOf(regions);
    if (regions.size() != topology.size()) {
      throw new IllegalArgumentException("regions: " + regions.size() + " (expected: " + topology.size() + ")");
    }
    for (int i = 0; i < regions.size(); i++) {
      if (!regions.get(i).id().equals(topology.id(i))) {
        throw new IllegalArgumentException("regions[" + i + "]: " + regions.get(i).id() + " (expected: "
            + topology.id(i) + ")");
      }
    }
  }

  /**
   * The first plan for a deployment: every region active, health unknown (serving), no zone splits, each
   * region allowed its capacity × {@code controller.headroom} (what the controller would plan for it).
   */
  public static RoutingPlan initial(io.meridian.config.MeridianConfig config) {
    Topology topology = Topology.of(config.regions());
    double headroom = config.controller().headroom();
    List<RegionState> states = config.regions().stream()
        .map(r -> new RegionState(r.id(), r.latitude(), r.longitude(), r.residencyGroup(), Health.UNKNOWN,
            Lifecycle.ACTIVE, r.capacityRps(), 0, 1.0, r.capacityRps() * headroom))
        .toList();
    return new RoutingPlan(1, Instant.now(), "initial plan from configuration", topology, states, ZoneRoutes.NONE,
        HomeAssignments.NONE, 0);
  }

  /** The region state by id, or null. */
  public RegionState region(String id) {
    int i = topology.indexOf(id);
    return i < 0 ? null : regions.get(i);
  }

  public RegionState region(int index) {
    return regions.get(index);
  }

  /** A successor with the next version. */
  public RoutingPlan next(String why, List<RegionState> newRegions, ZoneRoutes newZones, HomeAssignments newHomes,
      double shortfall) {
    return new RoutingPlan(version + 1, Instant.now(), why, topology, newRegions, newZones, newHomes, shortfall);
  }

  /** True while traffic is being moved (a failure, drain or ramp): data planes shorten cache lifetimes. */
  public boolean inTransition() {
    for (RegionState r : regions) {
      if (r.lifecycle() == Lifecycle.DRAINING || r.lifecycle() == Lifecycle.RECOVERING
          || (r.trafficShare() > 0 && r.trafficShare() < 1)) {
        return true;
      }
    }
    return false;
  }
}
