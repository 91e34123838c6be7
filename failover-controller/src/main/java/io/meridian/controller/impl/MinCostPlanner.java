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
    final double[][] heapCost; // per (r, s): candidate zones' exchange costs, a binary heap
    final int[][] heapZone;
    final int[] heapSize;
    final double[] pi;
    double piSink; // the sink's potential
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
      heapCost = new double[nn * nn][];
      heapZone = new int[nn * nn][];
      heapSize = new int[nn * nn];
      pi = new double[nn];
      lab = new double[nn];
      pred = new int[nn];
      done = new boolean[nn];
    }

    double cost(int i, int r) {
      return r == shed ? SHED_KM : dist[i][r];
    }

    Result solve() {
      // Every zone at its nearest region (or shed, if nothing takes traffic): the cheapest assignment there is,
      // so the all-zero potentials are valid for it. What remains is a min-cost flow of the overloaded regions'
      // excess to regions with spare capacity or to shed, over the folded region graph.
      for (int i = 0; i < dist.length; i++) {
        double d = in.demandRps()[i];
        if (d > EPS) {
          int r = nearest(i);
          addFlow(i, r, d);
          load[r] += d;
        }
      }
      for (int k = 0; k < n; k++) {
        while (load[k] - cap[k] > EPS) {
          refreshDirtyRows();
          augmentFrom(k);
        }
      }
      double[][] out = new double[flow.length][];
      for (int i = 0; i < flow.length; i++) {
        out[i] = Arrays.copyOf(flow[i], n);
      }
      return new Result(in, out, dist);
    }

    /** The cheapest place for zone entry i ignoring every limit: its nearest region taking traffic, else shed. */
    int nearest(int i) {
      int best = shed;
      if (in.measured().isEmpty()) {
        for (int r : in.topology().ranking(in.zones()[i])) {
          if (cap[r] > EPS) {
            best = r;
            break;
          }
        }
      } else {
        for (int r = 0; r < n; r++) {
          if (cap[r] > EPS && (best == shed || dist[i][r] < dist[i][best])) {
            best = r;
          }
        }
      }
      return best != shed && dist[i][best] > SHED_KM ? shed : best;
    }

    /**
     * One shortest path (reduced costs, dense Dijkstra) from overloaded region k to the sink: into a region
     * with spare capacity or shed. Moves as much as the path allows and updates the potentials.
     */
    void augmentFrom(int k) {
      for (int s = 0; s < nn; s++) {
        lab[s] = INF;
        pred[s] = -1;
        done[s] = false;
      }
      lab[k] = 0;
      double sinkLabel = INF;
      int end = -1;
      int u = k;
      double best = 0;
      while (true) {
        done[u] = true;
        if (cap[u] - load[u] > EPS) {
          double viaSink = best + pi[u] - piSink;
          if (viaSink < sinkLabel) {
            sinkLabel = viaSink < 0 ? 0 : viaSink;
            end = u;
          }
        }
        // relax u's exchanges and find the next node to settle in the same pass
        int next = -1;
        double nextLab = INF;
        if (memberCount[u] > 0) {
          int row = u * nn;
          double base = best + pi[u];
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
        if (next < 0 || nextLab >= sinkLabel) {
          break;
        }
        u = next;
        best = nextLab;
      }
      double delta = Math.min(load[k] - cap[k], cap[end] - load[end]);
      int s = end;
      while (s != k) {
        int r = pred[s];
        delta = Math.min(delta, flow[exchZone[r * nn + s]][r]);
        s = r;
      }
      s = end;
      while (s != k) {
        int r = pred[s];
        int w = exchZone[r * nn + s];
        subFlow(w, r, delta);
        addFlow(w, s, delta);
        s = r;
      }
      load[k] -= delta;
      load[end] += delta;
      // Johnson's update, with unsettled nodes capped at the sink's distance: keeps every reduced cost >= 0,
      // including those of the edges into and out of the sink.
      for (int v = 0; v < nn; v++) {
        pi[v] += Math.min(lab[v], sinkLabel);
      }
      piSink += sinkLabel;
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
          if (heapZone[p] != null) {
            push(p, c, w);
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
          if (heapZone[p] == null) {
            build(p, r, s);
          }
          int[] hz = heapZone[p];
          while (heapSize[p] > 0 && flow[hz[0]][r] <= 0) {
            popTop(p);
          }
          if (heapSize[p] > 0) {
            exch[p] = heapCost[p][0];
            exchZone[p] = hz[0];
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
      heapCost[p] = hc;
      heapZone[p] = hz;
      heapSize[p] = size;
      for (int k = (size >> 1) - 1; k >= 0; k--) {
        siftDown(p, k);
      }
    }

    void push(int p, double c, int w) {
      int size = heapSize[p];
      if (size == heapZone[p].length) {
        heapCost[p] = Arrays.copyOf(heapCost[p], size * 2);
        heapZone[p] = Arrays.copyOf(heapZone[p], size * 2);
      }
      double[] hc = heapCost[p];
      int[] hz = heapZone[p];
      int k = size;
      while (k > 0) {
        int parent = (k - 1) >> 1;
        if (hc[parent] <= c) {
          break;
        }
        hc[k] = hc[parent];
        hz[k] = hz[parent];
        k = parent;
      }
      hc[k] = c;
      hz[k] = w;
      heapSize[p] = size + 1;
    }

    void popTop(int p) {
      int last = --heapSize[p];
      heapCost[p][0] = heapCost[p][last];
      heapZone[p][0] = heapZone[p][last];
      siftDown(p, 0);
    }

    void siftDown(int p, int k) {
      double[] hc = heapCost[p];
      int[] hz = heapZone[p];
      int size = heapSize[p];
      double c = hc[k];
      int w = hz[k];
      while (true) {
        int child = 2 * k + 1;
        if (child >= size) {
          break;
        }
        if (child + 1 < size && hc[child + 1] < hc[child]) {
          child++;
        }
        if (hc[child] >= c) {
          break;
        }
        hc[k] = hc[child];
        hz[k] = hz[child];
        k = child;
      }
      hc[k] = c;
      hz[k] = w;
    }
  }
}
