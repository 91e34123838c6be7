package io.meridian.controller.impl;

import io.meridian.controller.Planner;
import io.meridian.core.geo.Zones;
import java.util.Arrays;

/**
 * Minimum total distance (Σ rps × km) subject to every region's limit: a min-cost flow from zones through
 * regions to a sink, solved by successive shortest paths with node potentials.
 *
 * <p>The graph is kept small: with Z zones and R regions (10,000 × 50) the zone nodes are folded into
 * region→region "exchange" edges — moving some of zone w's demand from region r to region s costs
 * d(w,s) − d(w,r) — of which only the cheapest per (r, s) matters (each pair keeps its candidate zones in a
 * heap). So each shortest-path search is a dense Dijkstra over R + 2 nodes: the regions, "shed" (infinite
 * capacity at a cost larger than any distance on Earth, so demand is shed only when nothing fits, and then the
 * farthest demand first) and the sink.
 *
 * <p>The search starts from prices, not from scratch: every zone goes where it is cheapest at the current
 * potentials (at first: its nearest region), which is optimal for the flow it makes; only the regions that this
 * overloads (or underfills, when their price says they should be full) need shortest paths. The prices come
 * from the same problem solved first on clusters of nearby zones (8°, then 4°): each is small, and its prices
 * are close to the next one's, so only a few hundred zones end up away from where those prices put them.
 * Any starting prices give the same optimal cost; good ones only save searches (10,000 × 50 at 0.8× capacity:
 * ≈ 1,800 searches over the three passes instead of ≈ 16,000 from nearest-first).
 */
public final class MinCostPlanner implements Planner {
  /** Farther than any two points on Earth (≈ 20,015 km): shedding is the last resort. */
  static final double SHED_KM = 100_000;
  /**
   * Sides of the zone clusters of the pricing passes, coarse to fine: each pass starts from the prices of the
   * one before. With 10,000 zones: about 700 clusters of 8°, then 2,000 of 4°, then the zones themselves.
   */
  private static final int[] CLUSTER_DEGREES = {8, 4};
  /** Below this many zones the pricing passes are not worth it. */
  private static final int CLUSTER_MIN_ZONES = 1_000;
  private static final double EPS = 1e-9;
  /**
   * Excess worth another search. Larger than {@link #EPS} times the node count, so that some node always has a
   * deficit beyond EPS to take it (the excesses sum to zero up to rounding).
   */
  private static final double MIN_EXCESS = 1e-7;
  private static final double INF = Double.POSITIVE_INFINITY;

  private final Distances distances = new Distances();

  private MinCostPlanner() {}

  public static MinCostPlanner create() {
    return new MinCostPlanner();
  }

  @Override
  public Result plan(Input in) {
    int n = in.topology().size();
    int zs = in.zones().length;
    double[][] dist = new double[zs][];
    for (int i = 0; i < zs; i++) {
      dist[i] = distances.row(in, in.zones()[i]);
    }
    double[] cap = new double[n + 1];
    for (int r = 0; r < n; r++) {
      cap[r] = Math.max(0, in.limitRps()[r]);
    }
    cap[n] = INF;
    double[] prices = new double[n + 2];
    if (zs >= CLUSTER_MIN_ZONES) {
      for (int degrees : CLUSTER_DEGREES) {
        prices = clustered(in, dist, cap, degrees).solve(prices).pi;
      }
    }
    Flow fine = new Flow(dist, in.demandRps(), cap).solve(prices);
    double[][] out = new double[zs][];
    for (int i = 0; i < zs; i++) {
      out[i] = Arrays.copyOf(fine.flow[i], n);
    }
    return new Result(in, out, dist);
  }

  /** The same problem over clusters of nearby zones: demand summed, distances demand-weighted. */
  private static Flow clustered(Input in, double[][] dist, double[] cap, int degrees) {
    int n = cap.length - 1;
    int cols = (360 + degrees - 1) / degrees;
    int[] cellOf = new int[in.zones().length];
    int[] clusterOfCell = new int[((180 + degrees - 1) / degrees) * cols];
    Arrays.fill(clusterOfCell, -1);
    int clusters = 0;
    for (int i = 0; i < cellOf.length; i++) {
      int zone = in.zones()[i];
      int row = (int) Math.floor((Zones.centerLatitude(zone) + 90) / degrees);
      int col = (int) Math.floor((Zones.centerLongitude(zone) + 180) / degrees);
      int cell = Math.min(row, clusterOfCell.length / cols - 1) * cols + Math.min(col, cols - 1);
      if (clusterOfCell[cell] < 0) {
        clusterOfCell[cell] = clusters++;
      }
      cellOf[i] = clusterOfCell[cell];
    }
    double[][] cdist = new double[clusters][n];
    double[] cdemand = new double[clusters];
    for (int i = 0; i < cellOf.length; i++) {
      double d = Math.max(0, in.demandRps()[i]);
      int c = cellOf[i];
      cdemand[c] += d;
      double[] row = cdist[c];
      double[] di = dist[i];
      for (int r = 0; r < n; r++) {
        row[r] += d * di[r];
      }
    }
    for (int c = 0; c < clusters; c++) {
      if (cdemand[c] > 0) {
        for (int r = 0; r < n; r++) {
          cdist[c][r] /= cdemand[c];
        }
      }
    }
    return new Flow(cdist, cdemand, cap);
  }

  /**
   * Successive shortest paths from a pseudo-flow that is optimal for its potentials. Nodes: regions 0..n-1,
   * shed n, sink n+1; a region's edge to the sink carries at most its limit.
   */
  private static final class Flow {
    final int n;
    final int nn; // regions + shed
    final int shed;
    final int sink;
    final double[][] dist;
    final double[] demand;
    final double[] cap;
    final double[][] flow;
    final boolean[][] listed;
    final double[] load; // zone demand placed on the node
    final double[] out; // carried on to the sink
    final int[][] members;
    final int[] memberCount;
    final double[] exch; // nn × nn: cheapest exchange r → s
    final int[] exchZone;
    final boolean[] dirty;
    final boolean[] stale;
    final double minExcess;
    final CandidateHeaps heaps; // per (r, s), built the first time the pair loses its zone
    final double[] pi;
    final double[] lab;
    final int[] pred;
    final boolean[] done;

    Flow(double[][] dist, double[] demand, double[] cap) {
      this.dist = dist;
      this.demand = demand;
      this.cap = cap;
      this.nn = cap.length;
      this.n = nn - 1;
      this.shed = n;
      this.sink = nn;
      int zs = dist.length;
      flow = new double[zs][nn];
      listed = new boolean[zs][nn];
      load = new double[nn];
      out = new double[nn];
      members = new int[nn][16];
      memberCount = new int[nn];
      exch = new double[nn * nn];
      Arrays.fill(exch, INF);
      exchZone = new int[nn * nn];
      dirty = new boolean[nn];
      stale = new boolean[nn * nn];
      heaps = new CandidateHeaps(nn * nn);
      minExcess = Math.max(MIN_EXCESS, 4 * (nn + 1) * EPS);
      pi = new double[nn + 1];
      lab = new double[nn + 1];
      pred = new int[nn + 1];
      done = new boolean[nn + 1];
    }

    double cost(int i, int r) {
      return r == shed ? SHED_KM : dist[i][r];
    }

    Flow solve(double[] prices) {
      // Potentials: the sink at the highest price, and shed with it (its edge to the sink cannot be full).
      System.arraycopy(prices, 0, pi, 0, nn + 1);
      double top = pi[shed];
      for (int r = 0; r < n; r++) {
        if (cap[r] > EPS) {
          top = Math.max(top, pi[r]);
        }
      }
      pi[shed] = top;
      pi[sink] = top;
      // Every zone where it is cheapest at these prices: optimal for the flow that makes, whatever its loads.
      for (int i = 0; i < dist.length; i++) {
        double d = demand[i];
        if (d > EPS) {
          int best = shed;
          double bestCost = SHED_KM - pi[shed];
          double[] row = dist[i];
          for (int r = 0; r < n; r++) {
            if (cap[r] > EPS && row[r] - pi[r] < bestCost) {
              bestCost = row[r] - pi[r];
              best = r;
            }
          }
          addFlow(i, best, d);
          load[best] += d;
        }
      }
      // A region priced below the sink must be full (a reduced cost below 0 may not have room left).
      for (int r = 0; r < nn; r++) {
        out[r] = cap[r] <= EPS ? 0 : pi[r] < top ? cap[r] : Math.min(load[r], cap[r]);
      }
      while (true) {
        int source = -1;
        double total = 0;
        for (int v = 0; v < nn; v++) {
          double e = load[v] - out[v];
          total += e;
          if (source < 0 && e > minExcess) {
            source = v;
          }
        }
        if (source < 0) {
          if (-total > minExcess) {
            source = sink; // the sink's excess is the opposite of everyone else's
          } else {
            break;
          }
        }
        refreshDirtyRows();
        if (!augmentFrom(source, -total)) {
          break; // nothing reachable lacks flow: only rounding was left
        }
      }
      return this;
    }

    double excess(int v, double sinkExcess) {
      return v == sink ? sinkExcess : load[v] - out[v];
    }

    /**
     * One shortest path (reduced costs, dense Dijkstra) from a node with excess to the nearest node with a
     * deficit; moves as much as the path allows and updates the potentials.
     */
    boolean augmentFrom(int source, double sinkExcess) {
      int nodes = nn + 1;
      for (int s = 0; s < nodes; s++) {
        lab[s] = INF;
        pred[s] = -1;
        done[s] = false;
      }
      lab[source] = 0;
      int u = source;
      double best = 0;
      while (true) {
        done[u] = true;
        if (excess(u, sinkExcess) < -EPS) {
          break;
        }
        // relax u's edges and find the next node to settle in the same pass
        int next = -1;
        double nextLab = INF;
        if (u == sink) {
          double base = best + pi[sink];
          for (int s = 0; s < nn; s++) {
            if (done[s]) {
              continue;
            }
            if (out[s] > EPS) {
              relax(u, s, base - pi[s], best);
            }
            if (lab[s] < nextLab) {
              nextLab = lab[s];
              next = s;
            }
          }
        } else {
          double base = best + pi[u];
          if (!done[sink] && cap[u] - out[u] > EPS) {
            relax(u, sink, base - pi[sink], best);
          }
          if (memberCount[u] > 0) {
            int row = u * nn;
            for (int s = 0; s < nn; s++) {
              if (done[s]) {
                continue;
              }
              double l = exch[row + s] + base - pi[s]; // INF where there is no exchange
              if (l < lab[s]) {
                lab[s] = l < best ? best : l; // rounding only: potentials keep reduced costs non-negative
                pred[s] = u;
              }
              if (lab[s] < nextLab) {
                nextLab = lab[s];
                next = s;
              }
            }
          } else {
            for (int s = 0; s < nn; s++) {
              if (!done[s] && lab[s] < nextLab) {
                nextLab = lab[s];
                next = s;
              }
            }
          }
          if (!done[sink] && lab[sink] < nextLab) {
            nextLab = lab[sink];
            next = sink;
          }
        }
        if (next < 0) {
          return false;
        }
        u = next;
        best = nextLab;
      }
      int end = u;
      double reach = lab[end];
      double delta = Math.min(excess(source, sinkExcess), -excess(end, sinkExcess));
      for (int s = end; s != source; s = pred[s]) {
        int r = pred[s];
        delta = Math.min(delta, r == sink ? out[s] : s == sink ? cap[r] - out[r] : flow[exchZone[r * nn + s]][r]);
      }
      for (int s = end; s != source; s = pred[s]) {
        int r = pred[s];
        if (r == sink) {
          out[s] -= delta;
        } else if (s == sink) {
          out[r] += delta;
        } else {
          int w = exchZone[r * nn + s];
          subFlow(w, r, delta);
          addFlow(w, s, delta);
          load[r] -= delta;
          load[s] += delta;
        }
      }
      // Johnson's update, with unsettled nodes capped at the end's distance: keeps every reduced cost >= 0.
      for (int v = 0; v < nodes; v++) {
        pi[v] += Math.min(lab[v], reach);
      }
      return true;
    }

    void relax(int u, int s, double l, double best) {
      if (l < lab[s]) {
        lab[s] = l < best ? best : l;
        pred[s] = u;
      }
    }

    void addFlow(int w, int r, double delta) {
      flow[w][r] += delta;
      if (!listed[w][r]) {
        listed[w][r] = true;
        if (memberCount[r] == members[r].length) {
          members[r] = Arrays.copyOf(members[r], members[r].length * 2);
        }
        members[r][memberCount[r]++] = w;
        offer(w, r);
      }
    }

    void subFlow(int w, int r, double delta) {
      flow[w][r] -= delta;
      if (flow[w][r] <= EPS) {
        flow[w][r] = 0;
        // the exchanges out of r that went through w must be found again among r's other zones
        int row = r * nn;
        for (int s = 0; s < nn; s++) {
          if (exchZone[row + s] == w && exch[row + s] != INF) {
            exch[row + s] = INF;
            stale[row + s] = true;
            dirty[r] = true;
          }
        }
      }
    }

    void offer(int w, int r) {
      int row = r * nn;
      double base = cost(w, r);
      for (int s = 0; s < nn; s++) {
        if (s != r) {
          double c = cost(w, s) - base;
          int p = row + s;
          if (heaps.built(p)) {
            heaps.push(p, c, w);
          }
          if (c < exch[p]) {
            exch[p] = c;
            exchZone[p] = w;
          }
        }
      }
    }

    /**
     * Finds the exchanges that lost their zone again. Each (r, s) pair keeps its candidate zones in a heap by
     * exchange cost, built the first time the pair needs it; zones that left r are dropped when they surface.
     */
    void refreshDirtyRows() {
      for (int r = 0; r < nn; r++) {
        if (!dirty[r]) {
          continue;
        }
        dirty[r] = false;
        int row = r * nn;
        int kept = 0;
        for (int k = 0; k < memberCount[r]; k++) {
          int w = members[r][k];
          if (flow[w][r] > 0) {
            members[r][kept++] = w;
          } else {
            listed[w][r] = false;
          }
        }
        memberCount[r] = kept;
        for (int s = 0; s < nn; s++) {
          int p = row + s;
          if (!stale[p]) {
            continue;
          }
          stale[p] = false;
          if (!heaps.built(p)) {
            build(p, r, s);
          }
          while (heaps.size(p) > 0 && flow[heaps.topZone(p)][r] <= 0) {
            heaps.popTop(p);
          }
          if (heaps.size(p) > 0) {
            exch[p] = heaps.topCost(p);
            exchZone[p] = heaps.topZone(p);
          } else {
            exch[p] = INF;
          }
        }
      }
    }

    void build(int p, int r, int s) {
      int size = memberCount[r];
      double[] hc = new double[Math.max(8, size + (size >> 1))];
      int[] hz = new int[hc.length];
      for (int k = 0; k < size; k++) {
        int w = members[r][k];
        hc[k] = cost(w, s) - cost(w, r);
        hz[k] = w;
      }
      heaps.build(p, hc, hz, size);
    }
  }
}
