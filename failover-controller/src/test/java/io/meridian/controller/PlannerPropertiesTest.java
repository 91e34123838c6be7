package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Topology;
import io.meridian.core.geo.Zones;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Properties every plan must have, on randomized problems, for both planners. */
class PlannerPropertiesTest {
  private static final double EPS = 1e-6;

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
  void noRegionOverItsLimitAndEveryZoneAssignedOrShortfallReported(long seed) {
    for (double factor : new double[] {3.0, 1.05, 0.7}) {
      Planner.Input in = PlannerFixtures.random(seed, 3 + (int) (seed * 5), 300, factor);
      for (Planner p : List.of(Planner.minCost(), Planner.waterfall())) {
        Planner.Result r = p.plan(in);
        double placed = 0;
        for (int reg = 0; reg < in.topology().size(); reg++) {
          assertTrue(r.load(reg) <= in.limitRps()[reg] + EPS,
              "region " + reg + " planned " + r.load(reg) + " over limit " + in.limitRps()[reg]);
          placed += r.load(reg);
        }
        for (int i = 0; i < in.zones().length; i++) {
          double z = 0;
          for (int reg = 0; reg < in.topology().size(); reg++) {
            assertTrue(r.flow(i, reg) >= -EPS);
            z += r.flow(i, reg);
          }
          assertTrue(z <= in.demandRps()[i] + EPS, "zone over-assigned");
        }
        assertEquals(in.totalDemand(), placed + r.shortfallRps(), 1e-6 * in.totalDemand());
        double capacity = java.util.Arrays.stream(in.limitRps()).sum();
        // every region reaches every zone, so capacity is only left unused when demand is all placed
        assertEquals(Math.max(0, in.totalDemand() - capacity), r.shortfallRps(), 1e-6 * in.totalDemand(),
            p.getClass().getSimpleName() + " factor " + factor);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4})
  void everyZoneCarriesTheFractionOfItsDemandThatWasNotPlaced(long seed) {
    Planner.Input in = PlannerFixtures.random(seed, 3 + (int) (seed * 5), 300, 0.7); // demand above capacity
    for (Planner p : List.of(Planner.minCost(), Planner.waterfall())) {
      Planner.Result r = p.plan(in);
      assertTrue(r.shortfallRps() > 0, "the fixture must overload the regions");
      var routes = r.routes(states(in));
      double shedRps = 0;
      for (int i = 0; i < in.zones().length; i++) {
        double served = 0;
        for (int reg = 0; reg < in.topology().size(); reg++) {
          served += r.flow(i, reg);
        }
        double unplaced = (in.demandRps()[i] - served) / in.demandRps()[i];
        var route = routes.get(in.zones()[i]);
        double shed = route == null ? 0 : route.shed();
        assertEquals(unplaced, shed, 1e-3, p.getClass().getSimpleName() + " zone " + Zones.id(in.zones()[i]));
        shedRps += shed * in.demandRps()[i];
      }
      assertEquals(r.shortfallRps(), shedRps, 1e-3 * in.totalDemand(), "the zones' sheds add up to the shortfall");
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13})
  void withAmpleCapacityEveryZoneGoesToItsNearestRegion(long seed) {
    Planner.Input in = PlannerFixtures.random(seed, 20, 500, 1000); // every region could take all demand
    for (Planner p : List.of(Planner.minCost(), Planner.waterfall())) {
      Planner.Result r = p.plan(in);
      for (int i = 0; i < in.zones().length; i++) {
        int nearest = in.topology().ranking(in.zones()[i])[0];
        assertEquals(in.demandRps()[i], r.flow(i, nearest), EPS, "zone " + Zones.id(in.zones()[i]));
      }
      assertEquals(0, r.routes(states(in)).size(), "no zone needs a weighted route");
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22, 23, 24})
  void minCostIsOptimalNoNegativeCycleAndNeverWorseThanWaterfall(long seed) {
    Planner.Input in = PlannerFixtures.random(seed, 8, 150, seed % 2 == 0 ? 1.02 : 0.8);
    Planner.Result best = Planner.minCost().plan(in);
    Planner.Result greedy = Planner.waterfall().plan(in);
    assertTrue(best.costKmRps() <= greedy.costKmRps() * (1 + 1e-9) + (best.shortfallRps() - greedy.shortfallRps())
        * 1e5, best.costKmRps() + " > " + greedy.costKmRps());
    assertFalse(OptimalityCheck.hasNegativeCycle(in, best), "min-cost plan can still be improved");
  }

  /** Big enough that the min-cost planner prices on zone clusters first; some regions take no traffic. */
  @ParameterizedTest
  @ValueSource(longs = {31, 32, 33})
  void minCostIsOptimalWhenPricedOnClustersFirst(long seed) {
    for (double factor : new double[] {2.0, 1.05, 1.0, 0.8}) {
      Planner.Input in = PlannerFixtures.random(seed, 12, 1500, factor);
      double[] someOut = in.limitRps().clone();
      someOut[0] = 0;
      someOut[(int) seed % 12] = 0;
      for (Planner.Input p : List.of(in,
          new Planner.Input(in.topology(), someOut, in.zones(), in.demandRps()))) {
        Planner.Result best = Planner.minCost().plan(p);
        Planner.Result greedy = Planner.waterfall().plan(p);
        assertFalse(OptimalityCheck.hasNegativeCycle(p, best), "seed " + seed + " factor " + factor);
        assertTrue(best.costKmRps() <= greedy.costKmRps() * (1 + 1e-9) + (best.shortfallRps()
            - greedy.shortfallRps()) * 1e5, best.costKmRps() + " > " + greedy.costKmRps());
        for (int reg = 0; reg < p.topology().size(); reg++) {
          assertTrue(best.load(reg) <= p.limitRps()[reg] + EPS, "region " + reg + " over its limit");
        }
        double capacity = java.util.Arrays.stream(p.limitRps()).sum();
        assertEquals(Math.max(0, p.totalDemand() - capacity), best.shortfallRps(), 1e-6 * p.totalDemand());
      }
    }
  }

  @Test
  void deterministic() {
    Planner.Input in = PlannerFixtures.random(99, 30, 2000, 0.95);
    Planner.Result a = Planner.minCost().plan(in);
    Planner.Result b = Planner.minCost().plan(in);
    assertArrayEquals(a.loads(), b.loads());
    for (int i = 0; i < in.zones().length; i++) {
      for (int r = 0; r < in.topology().size(); r++) {
        assertEquals(a.flow(i, r), b.flow(i, r));
      }
    }
    assertEquals(a.routes(states(in)).asMap(), b.routes(states(in)).asMap());
  }

  @Test
  void spillGoesToTheNextNearestAndTheExplanationSaysWhy() {
    // Frankfurt and Dublin; a zone at Frankfurt with more demand than Frankfurt may take.
    Topology t = Topology.of(List.of("fra", "dub"), new double[] {50.1, 53.3}, new double[] {8.7, -6.3});
    int zone = Zones.indexOf(50.1, 8.7);
    Planner.Input in = new Planner.Input(t, new double[] {800, 800}, new int[] {zone}, new double[] {1000});
    Planner.Result r = Planner.minCost().plan(in);
    assertEquals(800, r.flow(0, 0), EPS);
    assertEquals(200, r.flow(0, 1), EPS);
    assertEquals(0, r.shortfallRps(), EPS);
    List<String> why = r.explain(zone);
    assertTrue(why.get(1).contains("fra") && why.get(1).contains("full: planned 800.0 of limit 800.0"), why.toString());
    assertTrue(why.get(2).contains("dub") && why.get(2).contains("gets    200.0"), why.toString());
    var route = r.routes(states(in)).get(zone);
    assertEquals("fra", route.choices().get(0).region());
    assertEquals(0.8, route.choices().get(0).weight() / (route.choices().get(0).weight()
        + route.choices().get(1).weight()), 1e-3);
  }

  @Test
  void minCostGivesTheScarceRegionToTheZoneThatLosesMostWithoutIt() {
    // Region x (lon 9.5) has room for one zone. Zone B (lon 5.5) comes first in index order and is a bit
    // nearer to x than to y; zone A sits on x. Waterfall lets B take x and sends A 1,000 km away; the optimum
    // keeps A on x and sends B to y, which is barely farther for B.
    Topology t = Topology.of(List.of("x", "y"), new double[] {0.5, 0.5}, new double[] {9.5, 0.5});
    int a = Zones.indexOf(0.5, 9.5);
    int b = Zones.indexOf(0.5, 5.5);
    assertTrue(b < a);
    Planner.Input in = new Planner.Input(t, new double[] {100, 1000}, new int[] {b, a}, new double[] {100, 100});
    Planner.Result greedy = Planner.waterfall().plan(in);
    Planner.Result best = Planner.minCost().plan(in);
    assertEquals(100, greedy.flow(0, 0), EPS, "waterfall: B takes x");
    assertEquals(100, greedy.flow(1, 1), EPS, "waterfall: A spills to y");
    assertEquals(100, best.flow(1, 0), EPS, "min-cost: A keeps x");
    assertEquals(100, best.flow(0, 1), EPS, "min-cost: B goes to y");
    assertTrue(best.costKmRps() < greedy.costKmRps() / 1.5, best.costKmRps() + " vs " + greedy.costKmRps());
  }

  @Test
  void measuredLatencyOverridesGeographyAndTheRouteSaysSo() {
    // Geographically Frankfurt is nearest, but measured RTT says Dublin answers this zone faster.
    Topology t = Topology.of(List.of("fra", "dub"), new double[] {50.1, 53.3}, new double[] {8.7, -6.3});
    int zone = Zones.indexOf(50.1, 8.7);
    java.util.Map<Integer, double[]> measured = java.util.Map.of(zone, new double[] {40 * Planner.KM_PER_RTT_MS,
        9 * Planner.KM_PER_RTT_MS});
    for (Planner p : List.of(Planner.minCost(), Planner.waterfall())) {
      Planner.Input in = new Planner.Input(t, new double[] {800, 800}, new int[] {zone}, new double[] {100},
          measured);
      Planner.Result r = p.plan(in);
      assertEquals(100, r.flow(0, 1), EPS, p.getClass().getSimpleName());
      var route = r.routes(states(in)).get(zone);
      assertEquals(List.of(new io.meridian.core.ZoneRoute.Choice("dub", 100.0)), route.choices(),
          "the selector would pick fra by geography, so the plan carries an explicit route");
    }
  }

  static List<io.meridian.core.RegionState> states(Planner.Input in) {
    Topology t = in.topology();
    java.util.List<io.meridian.core.RegionState> out = new java.util.ArrayList<>();
    for (int r = 0; r < t.size(); r++) {
      out.add(new io.meridian.core.RegionState(t.id(r), t.latitude(r), t.longitude(r), "g",
          io.meridian.core.Health.HEALTHY, io.meridian.core.Lifecycle.ACTIVE, 1000, 0, 1));
    }
    return out;
  }
}
