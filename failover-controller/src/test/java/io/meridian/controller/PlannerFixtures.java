package io.meridian.controller;

import io.meridian.core.Topology;
import io.meridian.core.geo.Zones;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/** Random planning problems, reproducible from a seed; shared by the property tests and the benchmark. */
final class PlannerFixtures {
  private PlannerFixtures() {}

  /**
   * @param capacityFactor  total limit as a multiple of total demand (below 1: there must be a shortfall)
   */
  static Planner.Input random(long seed, int regions, int zones, double capacityFactor) {
    Random rnd = new Random(seed);
    List<String> ids = new ArrayList<>();
    double[] lat = new double[regions];
    double[] lon = new double[regions];
    for (int r = 0; r < regions; r++) {
      ids.add("r" + r);
      lat[r] = -45 + rnd.nextDouble() * 110;
      lon[r] = -180 + rnd.nextDouble() * 360;
    }
    Topology t = Topology.of(ids, lat, lon);
    Set<Integer> chosen = new LinkedHashSet<>();
    while (chosen.size() < zones) {
      chosen.add(Zones.indexOf(-50 + rnd.nextDouble() * 120, -180 + rnd.nextDouble() * 360));
    }
    int[] z = chosen.stream().mapToInt(Integer::intValue).sorted().toArray();
    double[] demand = new double[zones];
    double total = 0;
    for (int i = 0; i < zones; i++) {
      demand[i] = Math.exp(rnd.nextGaussian() * 1.2) * 20; // a few busy cities, many quiet cells
      total += demand[i];
    }
    double[] weights = new double[regions];
    double wsum = 0;
    for (int r = 0; r < regions; r++) {
      weights[r] = 0.3 + rnd.nextDouble();
      wsum += weights[r];
    }
    double[] limits = new double[regions];
    for (int r = 0; r < regions; r++) {
      limits[r] = total * capacityFactor * weights[r] / wsum;
    }
    return new Planner.Input(t, limits, z, demand);
  }
}
