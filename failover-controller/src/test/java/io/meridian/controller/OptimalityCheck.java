package io.meridian.controller;

import io.meridian.core.geo.GreatCircle;
import io.meridian.core.geo.Zones;
import java.util.ArrayList;
import java.util.List;

/**
 * An independent optimality certificate for a min-cost flow: the residual graph (zones, regions, shed, sink)
 * has no negative cycle. Plain Bellman-Ford over explicit edges: slow, obviously right.
 */
final class OptimalityCheck {
  private static final double SHED = 100_000;

  private OptimalityCheck() {}

  static boolean hasNegativeCycle(Planner.Input in, Planner.Result r) {
    int z = in.zones().length;
    int n = in.topology().size();
    int shed = z + n;
    int sink = z + n + 1;
    int nodes = z + n + 2;
    List<double[]> edges = new ArrayList<>();
    for (int i = 0; i < z; i++) {
      double served = 0;
      for (int k = 0; k < n; k++) {
        double d = GreatCircle.km(Zones.centerLatitude(in.zones()[i]), Zones.centerLongitude(in.zones()[i]),
            in.topology().latitude(k), in.topology().longitude(k));
        if (in.limitRps()[k] > 0) {
          edges.add(new double[] {i, z + k, d});
        }
        if (r.flow(i, k) > 1e-7) {
          edges.add(new double[] {z + k, i, -d});
        }
        served += r.flow(i, k);
      }
      edges.add(new double[] {i, shed, SHED});
      if (in.demandRps()[i] - served > 1e-7) {
        edges.add(new double[] {shed, i, -SHED});
      }
    }
    for (int k = 0; k < n; k++) {
      if (in.limitRps()[k] - r.load(k) > 1e-7) {
        edges.add(new double[] {z + k, sink, 0});
      }
      if (r.load(k) > 1e-7) {
        edges.add(new double[] {sink, z + k, 0});
      }
    }
    edges.add(new double[] {shed, sink, 0});
    if (r.shortfallRps() > 1e-7) {
      edges.add(new double[] {sink, shed, 0});
    }
    double[] dist = new double[nodes];
    for (int round = 0; round < nodes; round++) {
      boolean changed = false;
      for (double[] e : edges) {
        int u = (int) e[0];
        int v = (int) e[1];
        if (dist[u] + e[2] < dist[v] - 1e-6) {
          dist[v] = dist[u] + e[2];
          changed = true;
        }
      }
      if (!changed) {
        return false;
      }
    }
    return true;
  }
}
