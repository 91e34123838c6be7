package io.meridian.controller.impl;

import io.meridian.controller.Planner;

/**
 * Slow start bounds the share of a zone's clients a recovering region takes, not only its capacity. A region
 * ramping at share s gets at most s × each zone's demand: the weighted zone routes then send it that fraction of
 * the zone's clients (RegionSelector picks by weight with the client hash), as the nearest-first walk does for
 * zones without a route (a region keeps a client with probability s). Capping only the capacity
 * (capacity × headroom × s) let the first step take back 100 % of its zones' clients whenever their demand was
 * below that cap — at ordinary load, always (issue 14).
 *
 * <p>Two passes: the planner's flows to each ramping region are cut to s × the zone's demand and kept; the rest
 * of every zone's demand is planned again over the other regions, at their full limits, with the ramping
 * regions closed. Every limit still holds (a ramping region carries at most what the first pass gave it); what
 * the others cannot take is shortfall, never pushed onto the ramping region beyond its share. Not optimal: a
 * ramping region's spare capacity is not offered to zones the first pass sent elsewhere. The second pass runs
 * only while a ramp actually binds.
 */
final class RampBound {
  private static final double EPS = 1e-9;

  private RampBound() {}

  /**
   * @param ramp  per region (topology order): its traffic share while it ramps (0 < s < 1), or ≥ 1 for a region
   *              that is not ramping
   */
  static Planner.Result apply(Planner planner, Planner.Input in, Planner.Result first, double[] ramp) {
    int n = ramp.length;
    int zs = in.zones().length;
    boolean binds = false;
    for (int i = 0; i < zs && !binds; i++) {
      for (int r = 0; r < n; r++) {
        if (ramp[r] < 1 && first.flow(i, r) > ramp[r] * in.demandRps()[i] + EPS) {
          binds = true;
          break;
        }
      }
    }
    if (!binds) {
      return first;
    }
    double[][] flows = new double[zs][n];
    double[] rest = new double[zs];
    for (int i = 0; i < zs; i++) {
      double left = in.demandRps()[i];
      for (int r = 0; r < n; r++) {
        if (ramp[r] < 1) {
          flows[i][r] = Math.min(first.flow(i, r), ramp[r] * in.demandRps()[i]);
          left -= flows[i][r];
        }
      }
      rest[i] = Math.max(0, left);
    }
    double[] limits = in.limitRps().clone();
    for (int r = 0; r < n; r++) {
      if (ramp[r] < 1) {
        limits[r] = 0;
      }
    }
    Planner.Result second = planner.plan(new Planner.Input(in.topology(), limits, in.zones(), rest, in.measured()));
    for (int i = 0; i < zs; i++) {
      for (int r = 0; r < n; r++) {
        if (ramp[r] >= 1) {
          flows[i][r] = second.flow(i, r);
        }
      }
    }
    return first.withFlows(flows);
  }
}
