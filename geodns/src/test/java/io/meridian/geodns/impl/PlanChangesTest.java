package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.meridian.core.HomeAssignments;
import io.meridian.core.Health;
import io.meridian.core.Lifecycle;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.Topology;
import io.meridian.core.ZoneRoute;
import io.meridian.core.ZoneRoutes;
import io.meridian.core.geo.Zones;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Dating plan changes on swap: what counts as a change, which clock dates it, how long zone changes are kept. */
class PlanChangesTest {
  static final long T0 = 1_700_000_000_000L;
  static final long RETAIN = 10_000;
  static final Topology TOPOLOGY = Topology.of(List.of("a", "b"), new double[] {50, 40}, new double[] {0, -75});
  static final int LONDON = Zones.indexOf(51.5, -0.1);
  static final int PARIS = Zones.indexOf(48.9, 2.3);

  static RoutingPlan plan(long version, long createdAt, List<RegionState> regions, ZoneRoutes zones) {
    return new RoutingPlan(version, Instant.ofEpochMilli(createdAt), "test", TOPOLOGY, regions, zones,
        HomeAssignments.NONE, 0);
  }

  static List<RegionState> regions() {
    return List.of(new RegionState("a", 50, 0, "eu", Health.HEALTHY, Lifecycle.ACTIVE, 100, 0, 1),
        new RegionState("b", 40, -75, "us", Health.HEALTHY, Lifecycle.ACTIVE, 100, 0, 1));
  }

  static List<RegionState> change(List<RegionState> rs, String id, UnaryOperator<RegionState> f) {
    return rs.stream().map(r -> r.id().equals(id) ? f.apply(r) : r).toList();
  }

  static ZoneRoutes route(int zone, String region) {
    String id = Zones.id(zone);
    return ZoneRoutes.of(Map.of(id, new ZoneRoute(id, List.of(new ZoneRoute.Choice(region, 1)))));
  }

  @Test
  void onlyStateThatDecidesAnswersCountsAndIsDatedByTheControllerCappedAtReceipt() {
    RoutingPlan p1 = plan(1, T0, regions(), ZoneRoutes.NONE);
    PlanChanges c1 = PlanChanges.initial(p1);
    assertEquals(PlanChanges.NEVER, c1.latestRegionChange());

    RoutingPlan p2 = plan(2, T0 + 1000, change(regions(), "a", r -> r.withLoad(80).withHealth(Health.DEGRADED)),
        ZoneRoutes.NONE);
    PlanChanges c2 = PlanChanges.between(c1, p1, p2, T0 + 1500, RETAIN);
    assertEquals(PlanChanges.NEVER, c2.regionChangedAt(0), "load, and a health that still serves: no change");

    RoutingPlan p3 = plan(3, T0 + 2000, change(p2.regions(), "a", r -> r.withHealth(Health.FAILED)), p2.zones());
    PlanChanges c3 = PlanChanges.between(c2, p2, p3, T0 + 2300, RETAIN);
    assertEquals(T0 + 2000, c3.regionChangedAt(0), "createdAt: every DNS process agrees");
    assertEquals(PlanChanges.NEVER, c3.regionChangedAt(1));
    assertEquals(T0 + 2000, c3.latestRegionChange());

    RoutingPlan p4 = plan(4, T0 + 60_000, change(p3.regions(), "b", r -> r.withLifecycle(Lifecycle.DRAINING, 0.75)),
        p3.zones());
    PlanChanges c4 = PlanChanges.between(c3, p3, p4, T0 + 5000, RETAIN);
    assertEquals(T0 + 5000, c4.regionChangedAt(1), "a controller clock ahead of ours is capped at receipt");
    assertEquals(T0 + 2000, c4.regionChangedAt(0), "earlier changes are kept");
  }

  @Test
  void zoneRouteChangesAreKeptInOrderAndForgottenAfterTheLongestWindow() {
    RoutingPlan p1 = plan(1, T0, regions(), ZoneRoutes.NONE);
    RoutingPlan p2 = plan(2, T0 + 1000, regions(), route(PARIS, "b"));
    PlanChanges c2 = PlanChanges.between(PlanChanges.initial(p1), p1, p2, T0 + 1000, RETAIN);
    assertEquals(T0 + 1000, c2.zoneChangedAt(PARIS));
    assertEquals(PlanChanges.NEVER, c2.zoneChangedAt(LONDON));

    ZoneRoutes both = ZoneRoutes.of(Map.of(Zones.id(PARIS), route(PARIS, "b").get(PARIS), Zones.id(LONDON),
        route(LONDON, "b").get(LONDON)));
    RoutingPlan p3 = plan(3, T0 + 4000, regions(), both);
    PlanChanges c3 = PlanChanges.between(c2, p2, p3, T0 + 4000, RETAIN);
    assertEquals(T0 + 1000, c3.zoneChangedAt(PARIS), "unchanged route keeps its date");
    assertEquals(T0 + 4000, c3.zoneChangedAt(LONDON));

    RoutingPlan p4 = plan(4, T0 + 12_000, change(regions(), "a", r -> r.withLoad(10)), both);
    PlanChanges c4 = PlanChanges.between(c3, p3, p4, T0 + 12_000, RETAIN);
    assertEquals(PlanChanges.NEVER, c4.zoneChangedAt(PARIS), "older than the longest window: forgotten");
    assertEquals(T0 + 4000, c4.zoneChangedAt(LONDON));

    RoutingPlan p5 = plan(5, T0 + 13_000, regions(), ZoneRoutes.NONE);
    PlanChanges c5 = PlanChanges.between(c4, p4, p5, T0 + 13_000, RETAIN);
    assertEquals(T0 + 13_000, c5.zoneChangedAt(LONDON), "a route removed is a change");
    assertEquals(T0 + 13_000, c5.zoneChangedAt(PARIS));
  }

  @Test
  void aRegionNewToTheTopologyCountsAsChanged() {
    RoutingPlan p1 = plan(1, T0, regions(), ZoneRoutes.NONE);
    Topology three = Topology.of(List.of("a", "b", "c"), new double[] {50, 40, 19}, new double[] {0, -75, 73});
    List<RegionState> rs = new java.util.ArrayList<>(regions());
    rs.add(new RegionState("c", 19, 73, "in", Health.HEALTHY, Lifecycle.ACTIVE, 100, 0, 1));
    RoutingPlan p2 = new RoutingPlan(2, Instant.ofEpochMilli(T0 + 1000), "c added", three, rs, ZoneRoutes.NONE,
        HomeAssignments.NONE, 0);
    PlanChanges c2 = PlanChanges.between(PlanChanges.initial(p1), p1, p2, T0 + 1000, RETAIN);
    assertEquals(PlanChanges.NEVER, c2.regionChangedAt(0));
    assertEquals(T0 + 1000, c2.regionChangedAt(2));
  }
}
