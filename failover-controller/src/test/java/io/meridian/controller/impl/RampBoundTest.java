package io.meridian.controller.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.controller.Planner;
import io.meridian.core.Topology;
import io.meridian.core.geo.Zones;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * On random problems, with either planner: a ramping region gets at most its share of every zone's demand, no
 * region is planned past its limit, and demand is served or reported as shortfall, never lost.
 */
class RampBoundTest {
  @ParameterizedTest
  @ValueSource(strings = {"min-cost", "waterfall"})
  void rampingRegionsGetAtMostTheirShareOfEachZone(String kind) {
    int bound = 0;
    for (long seed = 1; seed <= 30; seed++) {
      for (double capacityFactor : new double[] {0.7, 1.2, 3}) {
        Planner planner = kind.equals("waterfall") ? WaterfallPlanner.create() : MinCostPlanner.create();
        Planner.Input in = random(seed, 8, 300, capacityFactor);
        double[] ramp = {1, 0.25, 1, 1, 0.5, 1, 1, 1};
        Planner.Result first = planner.plan(in);
        Planner.Result r = RampBound.apply(planner, in, first, ramp);
        String where = kind + " seed " + seed + " capacity ×" + capacityFactor;
        double served = 0;
        for (int i = 0; i < in.zones().length; i++) {
          double d = in.demandRps()[i];
          double zoneServed = 0;
          for (int g = 0; g < ramp.length; g++) {
            zoneServed += r.flow(i, g);
            if (ramp[g] < 1) {
              assertTrue(r.flow(i, g) <= ramp[g] * d + 1e-6, where + ": zone " + i + " region " + g);
              assertEquals(Math.min(first.flow(i, g), ramp[g] * d), r.flow(i, g), 1e-9, where);
            }
          }
          assertTrue(zoneServed <= d + 1e-6, where);
          served += zoneServed;
        }
        for (int g = 0; g < ramp.length; g++) {
          assertTrue(r.load(g) <= in.limitRps()[g] + 1e-6, where + ": region " + g);
        }
        assertEquals(in.totalDemand(), served + r.shortfallRps(), 1e-6, where);
        if (r != first) {
          bound++;
        }
      }
    }
    assertTrue(bound > 0, "some ramp bound: otherwise this test checks nothing");
  }

  @ParameterizedTest
  @ValueSource(strings = {"min-cost", "waterfall"})
  void noRampNoSecondPass(String kind) {
    Planner planner = kind.equals("waterfall") ? WaterfallPlanner.create() : MinCostPlanner.create();
    Planner.Input in = random(7, 8, 300, 1.2);
    Planner.Result first = planner.plan(in);
    assertSame(first, RampBound.apply(planner, in, first, new double[] {1, 1, 1, 1, 1, 1, 1, 1}));
  }

  private static Planner.Input random(long seed, int regions, int zones, double capacityFactor) {
    Random rnd = new Random(seed);
    List<String> ids = new ArrayList<>();
    double[] lat = new double[regions];
    double[] lon = new double[regions];
    for (int r = 0; r < regions; r++) {
      ids.add("r" + r);
      lat[r] = -45 + rnd.nextDouble() * 110;
      lon[r] = -180 + rnd.nextDouble() * 360;
    }
    Set<Integer> chosen = new LinkedHashSet<>();
    while (chosen.size() < zones) {
      chosen.add(Zones.indexOf(-50 + rnd.nextDouble() * 120, -180 + rnd.nextDouble() * 360));
    }
    int[] z = chosen.stream().mapToInt(Integer::intValue).sorted().toArray();
    double[] demand = new double[zones];
    double total = 0;
    for (int i = 0; i < zones; i++) {
      demand[i] = Math.exp(rnd.nextGaussian() * 1.2) * 20;
      total += demand[i];
    }
    double[] limits = new double[regions];
    for (int r = 0; r < regions; r++) {
      limits[r] = total * capacityFactor / regions * (0.5 + rnd.nextDouble());
    }
    return new Planner.Input(Topology.of(ids, lat, lon), limits, z, demand);
  }
}
