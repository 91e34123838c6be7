package io.meridian.controller.impl;

import java.util.Arrays;

/**
 * One binary min-heap of (exchange cost, zone) per (region, region) pair of {@link MinCostPlanner}: the zones
 * that could move demand from the first region to the second, cheapest on top. Primitive arrays, no boxing;
 * entries are not removed when their zone leaves, the caller drops them when they surface.
 */
final class CandidateHeaps {
  private final double[][] cost;
  private final int[][] zone;
  private final int[] size;

  CandidateHeaps(int pairs) {
    cost = new double[pairs][];
    zone = new int[pairs][];
    size = new int[pairs];
  }

  boolean built(int p) {
    return zone[p] != null;
  }

  /** Makes pair p's heap from the first {@code count} entries of the arrays, which it keeps. */
  void build(int p, double[] costs, int[] zones, int count) {
    cost[p] = costs;
    zone[p] = zones;
    size[p] = count;
    for (int k = (count >> 1) - 1; k >= 0; k--) {
      siftDown(p, k);
    }
  }

  int size(int p) {
    return size[p];
  }

  double topCost(int p) {
    return cost[p][0];
  }

  int topZone(int p) {
    return zone[p][0];
  }

  void push(int p, double c, int w) {
    int n = size[p];
    if (n == zone[p].length) {
      cost[p] = Arrays.copyOf(cost[p], Math.max(8, n * 2));
      zone[p] = Arrays.copyOf(zone[p], Math.max(8, n * 2));
    }
    double[] hc = cost[p];
    int[] hz = zone[p];
    int k = n;
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
    size[p] = n + 1;
  }

  void popTop(int p) {
    int last = --size[p];
    cost[p][0] = cost[p][last];
    zone[p][0] = zone[p][last];
    siftDown(p, 0);
  }

  private void siftDown(int p, int k) {
    double[] hc = cost[p];
    int[] hz = zone[p];
    int n = size[p];
    double c = hc[k];
    int w = hz[k];
    while (true) {
      int child = 2 * k + 1;
      if (child >= n) {
        break;
      }
      if (child + 1 < n && hc[child + 1] < hc[child]) {
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
