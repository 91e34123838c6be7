package io.meridian.controller.impl;

import io.meridian.controller.Planner;

/**
 * Nearest first, spill to the next nearest when full. Zones are taken in the order given, so an early zone
 * can take the last capacity of a region a later zone is nearer to: simple and fast, not optimal.
 */
public final class WaterfallPlanner implements Planner {
  private final Distances distances = new Distances();

  private WaterfallPlanner() {}

  public static WaterfallPlanner create() {
    return new WaterfallPlanner();
  }

  /** Nearest first by the planner's cost: the topology's ranking unless the zone has measured costs. */
  private static int[] order(Input in, int zone, double[] cost) {
    if (!in.measured().containsKey(zone)) {
      return in.topology().ranking(zone);
    }
    return java.util.stream.IntStream.range(0, cost.length).boxed()
        .sorted((a, b) -> cost[a] != cost[b] ? Double.compare(cost[a], cost[b]) : Integer.compare(a, b))
        .mapToInt(Integer::intValue).toArray();
  }

  @Override
  public Result plan(Input in) {
    int n = in.topology().size();
    double[] spare = in.limitRps().clone();
    double[][] flows = new double[in.zones().length][n];
    double[][] dist = new double[in.zones().length][];
    for (int i = 0; i < in.zones().length; i++) {
      int zone = in.zones()[i];
      dist[i] = distances.row(in, zone);
      double left = in.demandRps()[i];
      for (int r : order(in, zone, dist[i])) {
        if (left <= 0) {
          break;
        }
        double take = Math.min(left, Math.max(0, spare[r]));
        flows[i][r] += take;
        spare[r] -= take;
        left -= take;
      }
    }
    return new Result(in, flows, dist);
  }
}
