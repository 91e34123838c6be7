package io.meridian.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.geo.Zones;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RegionSelectorTest {
  static final Topology TOPO = Topology.of(List.of("us-east", "eu-west", "ap-south"),
      new double[] {39.04, 53.35, 19.08}, new double[] {-77.49, -6.26, 72.88});
  static final int NEW_YORK = Zones.indexOf(40.7, -74.0);
  static final int FRANKFURT = Zones.indexOf(50.1, 8.7);
  static final int MUMBAI = Zones.indexOf(19.1, 72.9);

  static RoutingPlan plan(RegionState... states) {
    return new RoutingPlan(7, Instant.EPOCH, "test", TOPO, List.of(states), ZoneRoutes.NONE, HomeAssignments.NONE, 0);
  }

  static RegionState state(String id, Health h, Lifecycle l, double share) {
    int i = TOPO.indexOf(id);
    return new RegionState(id, TOPO.latitude(i), TOPO.longitude(i), "g", h, l, 1000, 0, share);
  }

  static RegionState ok(String id) {
    return state(id, Health.HEALTHY, Lifecycle.ACTIVE, 1);
  }

  static String pick(RoutingPlan p, int zone, int hash) {
    int i = RegionSelector.choose(p, zone, hash, RegionSelector.Constraint.NONE);
    return i < 0 ? null : TOPO.id(i);
  }

  @Test
  void nearestHealthyRegionPerContinent() {
    RoutingPlan p = plan(ok("us-east"), ok("eu-west"), ok("ap-south"));
    assertEquals("us-east", pick(p, NEW_YORK, 1));
    assertEquals("eu-west", pick(p, FRANKFURT, 1));
    assertEquals("ap-south", pick(p, MUMBAI, 1));
  }

  @Test
  void failedOrDrainedRegionIsSkippedForTheNextNearest() {
    RoutingPlan failed = plan(ok("us-east"), state("eu-west", Health.FAILED, Lifecycle.ACTIVE, 1), ok("ap-south"));
    assertEquals("us-east", pick(failed, FRANKFURT, 1), "Frankfurt: Dublin out, Ashburn is nearer than Mumbai");
    RoutingPlan drained = plan(ok("us-east"), state("eu-west", Health.HEALTHY, Lifecycle.DRAINED, 0), ok("ap-south"));
    assertEquals("us-east", pick(drained, FRANKFURT, 1));
    RoutingPlan none = plan(state("us-east", Health.FAILED, Lifecycle.FAILED, 0),
        state("eu-west", Health.FAILED, Lifecycle.FAILED, 0), state("ap-south", Health.HEALTHY, Lifecycle.DRAINED, 0));
    assertEquals(null, pick(none, FRANKFURT, 1));
  }

  @Test
  void unknownHealthStillServes() {
    RoutingPlan p = plan(ok("us-east"), state("eu-west", Health.UNKNOWN, Lifecycle.ACTIVE, 1), ok("ap-south"));
    assertEquals("eu-west", pick(p, FRANKFURT, 1));
  }

  @Test
  void constraintExcludesRegions() {
    RoutingPlan p = plan(ok("us-east"), ok("eu-west"), ok("ap-south"));
    int i = RegionSelector.choose(p, FRANKFURT, 1, r -> !r.id().equals("eu-west"));
    assertEquals("us-east", TOPO.id(i));
  }

  @Test
  void trafficShareMovesThatFractionToTheNextNearestStablyPerClient() {
    RoutingPlan p = plan(ok("us-east"), state("eu-west", Health.HEALTHY, Lifecycle.DRAINING, 0.25), ok("ap-south"));
    int kept = 0;
    int n = 20_000;
    for (int h = 0; h < n; h++) {
      String r = pick(p, FRANKFURT, h);
      assertEquals(r, pick(p, FRANKFURT, h), "same client, same answer");
      if ("eu-west".equals(r)) {
        kept++;
      } else {
        assertEquals("us-east", r);
      }
    }
    double frac = kept / (double) n;
    assertTrue(Math.abs(frac - 0.25) < 0.02, "kept fraction " + frac);
  }

  @Test
  void zoneWeightsAreHonouredInAggregateAndSkipIneligibleRegions() {
    ZoneRoutes zones = ZoneRoutes.of(Map.of(Zones.id(FRANKFURT), new ZoneRoute(Zones.id(FRANKFURT),
        List.of(new ZoneRoute.Choice("eu-west", 3), new ZoneRoute.Choice("us-east", 1)))));
    RoutingPlan p = new RoutingPlan(2, Instant.EPOCH, "t", TOPO,
        List.of(ok("us-east"), ok("eu-west"), ok("ap-south")), zones, HomeAssignments.NONE, 0);
    int eu = 0;
    int n = 20_000;
    for (int h = 0; h < n; h++) {
      if ("eu-west".equals(pick(p, FRANKFURT, h))) {
        eu++;
      }
    }
    assertTrue(Math.abs(eu / (double) n - 0.75) < 0.02, "eu share " + eu / (double) n);
    assertEquals("us-east", pick(p, NEW_YORK, 5), "zones without a route go nearest");

    RoutingPlan euDown = new RoutingPlan(3, Instant.EPOCH, "t", TOPO, List.of(ok("us-east"),
        state("eu-west", Health.FAILED, Lifecycle.FAILED, 0), ok("ap-south")), zones, HomeAssignments.NONE, 0);
    for (int h = 0; h < 100; h++) {
      assertEquals("us-east", pick(euDown, FRANKFURT, h));
    }
  }

  @Test
  void explainListsEveryRegionNearestFirstWithWhy() {
    RoutingPlan p = plan(ok("us-east"), state("eu-west", Health.FAILED, Lifecycle.FAILED, 0), ok("ap-south"));
    List<RegionSelector.Candidate> c = RegionSelector.explain(p, FRANKFURT, RegionSelector.Constraint.NONE);
    List<String> order = new ArrayList<>();
    c.forEach(x -> order.add(x.region()));
    assertEquals(List.of("eu-west", "us-east", "ap-south"), order);
    assertEquals("health FAILED", c.get(0).why());
    assertTrue(c.get(1).eligible());
    assertTrue(c.get(0).distanceKm() > 1000 && c.get(0).distanceKm() < 1300, "Frankfurt-Dublin ~1090 km");
  }

  @Test
  void zoneIdsRoundTrip() {
    for (int z : new int[] {0, NEW_YORK, FRANKFURT, MUMBAI, Zones.COUNT - 1}) {
      assertEquals(z, Zones.parse(Zones.id(z)), Zones.id(z));
    }
    assertEquals("50N8E", Zones.id(FRANKFURT));
    assertEquals("40N74W", Zones.id(NEW_YORK));
    assertEquals(Zones.UNKNOWN, Zones.parse("nonsense"));
  }
}
