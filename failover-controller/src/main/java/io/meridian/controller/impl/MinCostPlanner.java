package io.meridian.controller.impl;

import io.meridian.controller.Planner;
import java.util.Arrays;

/**
 * Minimum total distance (Σ rps × km) subject to every region's limit: a min-cost flow from zones through
 * regions to a sink, solved by successive shortest paths with node potentials.
 *
 * <p>The graph is kept small: with Z zones and R regions (10,000 × 50) the zone nodes are folded into
 * region→region "exchange" edges — moving some of zone w's demand from region r to region s costs
 * d(w,s) − d(w,r) — of which only the cheapest per (r, s) matters. So each shortest-path search is a dense
 * Dijkstra over R + 1 nodes (the extra node is "shed": infinite capacity at a cost larger than any distance on
 * Earth, so demand is shed only when nothing fits, and then the farthest demand first).
 *
 * <p>Zones are added one at a time; augmenting along a shortest path keeps the flow optimal for the zones added
 * so far (no negative cycle appears). While no region is full, sending a zone to its nearest region is itself
 * a shortest path, so the common case costs one array walk per zone.
 */
public final class MinCostPlanner implements Planner {
  /** Farther than any two points on Earth (≈ 20,015 km): shedding is the last resort. */
  static final double SHED_KM = 100_000;
  private static final double EPS = 1e-9;
  private static final double INF = Double.POSITIVE_INFINITY;

  private final Distances distances = new Distances();

  private MinCostPlanner() {}

  public static MinCostPlanner create() {
    return new MinCostPlanner();
  }

  @Override
  public Result plan(Input in) {
    return new Run(in).solve();
  }

  private final class Run {
    final Input in;
    final int n;
    final int nn; // regions + shed
    final int shed;
    final double[][] dist;
    final double[][] flow;
    final boolean[][] listed;
    final double[] cap;
    final double[] load;
    final int[][] members;
    final int[] memberCount;
    final double[] exch; // nn × nn: cheapest exchange r → s
    final int[] exchZone;
    final boolean[] dirty;
    final double[] pi;
    final double[] lab;
    final int[] pred;
    final boolean[] done;

    Run(Input in) {
      this.in = in;
      this.n = in.topology().size();
      this.nn = n + 1;
      this.shed = n;
      int zs = in.zones().length;
      dist = new double[zs][];
      flow = new double[zs][nn];
      listed = new boolean[zs][nn];
      for (int i = 0; i < zs; i++) {
        dist[i] = distances.row(in.topology(), in.zones()[i]);
      }
      cap = new double[nn];
      for (int r = 0; r < n; r++) {
        cap[r] = Math.max(0, in.limitRps()[r]);
      }
      cap[shed] = INF;
      load = new double[nn];
      members = new int[nn][16];
      memberCount = new int[nn];
      exch = new double[nn * nn];
      Arrays.fill(exch, INF);
      exchZone = new int[nn * nn];
      dirty = new boolean[nn];
      pi = new double[nn];
      lab = new double[nn];
      pred = new int[nn];
      done = new boolean[nn];
    }

    double cost(int i, int r) {
      return r == shed ? SHED_KM : dist[i][r];
    }

    Result solve() {
      boolean anyFull = false;
      boolean potentialsValid = true;
      for (int i = 0; i < in.zones().length; i++) {
        double left = in.demandRps()[i];
        if (!anyFull && left > EPS) {
          int nearest = shed;
          for (int r : in.topology().ranking(in.zones()[i])) {
            if (cap[r] > EPS) {
              nearest = r;
              break;
            }
          }
          double take = nearest == shed ? left : Math.min(left, cap[nearest] - load[nearest]);
          addFlow(i, nearest, take);
          load[nearest] += take;
          left -= take;
          potentialsValid = false; // new exchange edges; potentials are recomputed before the next search
          if (nearest != shed && cap[nearest] - load[nearest] <= EPS) {
            anyFull = true;
          }
        }
        while (left > EPS) {
          anyFull = true;
          refreshDirtyRows();
          if (!potentialsValid) {
            bellmanFord();
            potentialsValid = true;
          }
          left -= augment(i, left);
        }
      }
      double[][] out = new double[flow.length][];
      for (int i = 0; i < flow.length; i++) {
        out[i] = Arrays.copyOf(flow[i], n);
      }
      return new Result(in, out, dist);
    }

    /** One shortest path from zone i to a region with spare capacity; returns the demand moved. */
    double augment(int i, double left) {
      for (int s = 0; s < nn; s++) {
        lab[s] = cap[s] > EPS || memberCount[s] > 0 ? cost(i, s) - pi[s] : INF;
        pred[s] = -1;
        done[s] = false;
      }
      for (int k = 0; k < nn; k++) {
        int u = -1;
        double best = INF;
        for (int s = 0; s < nn; s++) {
          if (!done[s] && lab[s] < best) {
            best = lab[s];
            u = s;
          }
        }
        if (u < 0) {
          break;
        }
        done[u] = true;
        if (memberCount[u] == 0) {
          continue;
        }
        int row = u * nn;
        for (int s = 0; s < nn; s++) {
          double c = exch[row + s];
          if (done[s] || c == INF) {
            continue;
          }
          double rc = c + pi[u] - pi[s];
          if (rc < 0) {
            rc = 0; // rounding only: potentials keep reduced costs non-negative
          }
          if (best + rc < lab[s]) {
            lab[s] = best + rc;
            pred[s] = u;
          }
        }
      }
      int end = -1;
      double bestCost = INF;
      for (int s = 0; s < nn; s++) {
        if (lab[s] < INF && cap[s] - load[s] > EPS && lab[s] + pi[s] < bestCost) {
          bestCost = lab[s] + pi[s];
          end = s;
        }
      }
      double delta = Math.min(left, cap[end] - load[end]);
      int s = end;
      while (pred[s] >= 0) {
        int r = pred[s];
        delta = Math.min(delta, flow[exchZone[r * nn + s]][r]);
        s = r;
      }
      int first = s;
      s = end;
      while (pred[s] >= 0) {
        int r = pred[s];
        int w = exchZone[r * nn + s];
        subFlow(w, r, delta);
        addFlow(w, s, delta);
        s = r;
      }
      addFlow(i, first, delta);
      load[end] += delta;
      for (int v = 0; v < nn; v++) {
        if (lab[v] < INF) {
          pi[v] += lab[v];
        }
      }
      return delta;
    }

    void addFlow(int w, int r, double delta) {
      flow[w][r] += delta;
      if (!listed[w][r]) {
        listed[w][r] = true;
        if (memberCount[r] == members[r].length) {
          members[r] = Arrays.copyOf(members[r], members[r].length * 2);
        }
        members[r][memberCount[r]++] = w;
        if (!dirty[r]) {
          offer(w, r);
        }
      }
    }

    void subFlow(int w, int r, double delta) {
      flow[w][r] -= delta;
      if (flow[w][r] <= EPS) {
        flow[w][r] = 0;
        dirty[r] = true; // it may have been the cheapest exchange out of r
      }
    }

    void offer(int w, int r) {
      int row = r * nn;
      double base = cost(w, r);
      for (int s = 0; s < nn; s++) {
        if (s != r) {
          double c = cost(w, s) - base;
          if (c < exch[row + s]) {
            exch[row + s] = c;
            exchZone[row + s] = w;
          }
        }
      }
    }

    void refreshDirtyRows() {
      for (int r = 0; r < nn; r++) {
        if (!dirty[r]) {
          continue;
        }
        dirty[r] = false;
        Arrays.fill(exch, r * nn, r * nn + nn, INF);
        int kept = 0;
        for (int k = 0; k < memberCount[r]; k++) {
          int w = members[r][k];
          if (flow[w][r] > 0) {
            members[r][kept++] = w;
            offer(w, r);
          } else {
            listed[w][r] = false;
          }
        }
        memberCount[r] = kept;
      }
    }

    /** Potentials from scratch: shortest distances over the exchange edges from a virtual source. */
    void bellmanFord() {
      Arrays.fill(pi, 0);
      for (int round = 0; round < nn; round++) {
        boolean changed = false;
        for (int r = 0; r < nn; r++) {
          if (memberCount[r] == 0) {
            continue;
          }
          int row = r * nn;
          for (int s = 0; s < nn; s++) {
            double c = exch[row + s];
            if (c != INF && pi[r] + c < pi[s] - 1e-12) {
              pi[s] = pi[r] + c;
              changed = true;
            }
          }
        }
        if (!changed) {
          return;
        }
      }
    }
  }
}
