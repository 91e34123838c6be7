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
 * so far (no negative cycle appears). While a zone's nearest region has room, sending it there is itself a
 * shortest path, so the common case costs one array walk per zone and a search happens only for spill.
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
    final boolean[] stale;
    final int[] staleCols;
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
        dist[i] = distances.row(in, in.zones()[i]);
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
      stale = new boolean[nn * nn];
      staleCols = new int[nn];
      pi = new double[nn];
      lab = new double[nn];
      pred = new int[nn];
      done = new boolean[nn];
    }

    double cost(int i, int r) {
      return r == shed ? SHED_KM : dist[i][r];
    }

    Result solve() {
      boolean potentialsValid = true;
      for (int i : order()) {
        double left = in.demandRps()[i];
        if (left > EPS) {
          // Sending a zone to its nearest region while that region has spare capacity is a shortest path
          // whatever else is full (a cheaper detour would close a negative cycle in an optimal flow), so
          // the common case needs no search; only the potentials must be repaired before the next one.
          int nearest = shed;
          if (in.measured().isEmpty()) {
            for (int r : in.topology().ranking(in.zones()[i])) {
              if (cap[r] > EPS) {
                nearest = r;
                break;
              }
            }
          } else {
            double best = INF;
            for (int r = 0; r < n; r++) {
              if (cap[r] > EPS && dist[i][r] < best) {
                best = dist[i][r];
                nearest = r;
              }
            }
          }
          double take = nearest == shed ? left : Math.min(left, cap[nearest] - load[nearest]);
          if (take > EPS) {
            addFlow(i, nearest, take);
            load[nearest] += take;
            left -= take;
            potentialsValid = false;
          }
        }
        while (left > EPS) {
          refreshDirtyRows();
          if (!potentialsValid) {
            repairPotentials();
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

    /**
     * Zones that lose most by missing their nearest region go first (Vogel's rule): the flow then needs few
     * and short corrections. Any order gives the same optimal cost; this one is faster and deterministic.
     */
    int[] order() {
      int zs = in.zones().length;
      long[] keyed = new long[zs];
      for (int i = 0; i < zs; i++) {
        double first = INF;
        double second = INF;
        for (int r = 0; r < n; r++) {
          if (cap[r] > EPS) {
            double d = dist[i][r];
            if (d < first) {
              second = first;
              first = d;
            } else if (d < second) {
              second = d;
            }
          }
        }
        double regret = second == INF ? 0 : second - first;
        // sort key: regret descending (as whole metres, capped), then zone entry ascending
        long metres = Math.min((long) (regret * 1000), (1L << 31) - 1);
        keyed[i] = ((((1L << 31) - 1) - metres) << 32) | i;
      }
      Arrays.sort(keyed);
      int[] out = new int[zs];
      for (int i = 0; i < zs; i++) {
        out[i] = (int) (keyed[i] & 0xffffffffL);
      }
      return out;
    }

    /** One shortest path from zone i to a region with spare capacity; returns the demand moved. */
    double augment(int i, double left) {
      // The sink's potential is the lowest of the regions with spare capacity, so the edges into it have
      // non-negative reduced cost too and the search can stop as soon as nothing unsettled can beat it.
      double piSink = INF;
      for (int s = 0; s < nn; s++) {
        lab[s] = cap[s] > EPS || memberCount[s] > 0 ? cost(i, s) - pi[s] : INF;
        pred[s] = -1;
        done[s] = false;
        if (cap[s] - load[s] > EPS && pi[s] < piSink) {
          piSink = pi[s];
        }
      }
      double sinkLabel = INF;
      int end = -1;
      for (int k = 0; k < nn; k++) {
        int u = -1;
        double best = INF;
        for (int s = 0; s < nn; s++) {
          if (!done[s] && lab[s] < best) {
            best = lab[s];
            u = s;
          }
        }
        if (u < 0 || best >= sinkLabel) {
          break;
        }
        done[u] = true;
        if (cap[u] - load[u] > EPS && best + pi[u] - piSink < sinkLabel) {
          sinkLabel = best + pi[u] - piSink;
          end = u;
        }
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
      // Johnson's update, with unsettled nodes capped at the sink's distance: keeps every reduced cost >= 0.
      for (int v = 0; v < nn; v++) {
        pi[v] += Math.min(lab[v], sinkLabel);
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
        // one pass over r's zones for all its stale exchanges: each zone's distance row is read once
        int staleCount = 0;
        for (int s = 0; s < nn; s++) {
          if (stale[row + s]) {
            stale[row + s] = false;
            staleCols[staleCount++] = s; // INF since it went stale, or a zone offered since (still valid)
          }
        }
        for (int k = 0; k < kept; k++) {
          int w = members[r][k];
          double base = cost(w, r);
          for (int j = 0; j < staleCount; j++) {
            int s = staleCols[j];
            double c = cost(w, s) - base;
            if (c < exch[row + s]) {
              exch[row + s] = c;
              exchZone[row + s] = w;
            }
          }
        }
      }
    }

    /**
     * Bellman-Ford from the current potentials: they are valid for every edge but the few added since the last
     * search, so it settles in a round or two.
     */
    void repairPotentials() {
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
