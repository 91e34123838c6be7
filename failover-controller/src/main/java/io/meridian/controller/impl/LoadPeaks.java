package io.meridian.controller.impl;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedMap;

/**
 * Each region's highest planned load of the last 24 hours, with the demand per client zone of that moment: the
 * demand capacity readiness replays to answer "if this region failed at its peak, would the others absorb it".
 *
 * <p>A higher load is a higher peak. Loads within {@link #SAME_LOAD_RPS} of each other count as the same — a
 * region held at its limit carries the same load however much demand spills past it — and then the moment with
 * more total demand is the peak (its survivors would have the least room left).
 *
 * <p>Kept in one-hour buckets per region (the bucket's highest load and the demand then), so memory is bounded
 * by 25 buckets per region whatever the evaluation rate; the window is the last 24 whole hours plus the current
 * one. A demand map is shared by every bucket that recorded it (it is not copied) and never changed after it was
 * recorded. Used from the controller's lane only.
 */
final class LoadPeaks {
  static final Duration WINDOW = Duration.ofHours(24);
  private static final long BUCKET_MS = Duration.ofHours(1).toMillis();

  /** The highest load of one region in one hour, and the demand when it was planned. */
  record Peak(Instant at, double loadRps, double totalDemandRps, SortedMap<Integer, Double> demand) {
    boolean above(Peak other) {
      if (Math.abs(loadRps - other.loadRps) > SAME_LOAD_RPS) {
        return loadRps > other.loadRps;
      }
      return totalDemandRps > other.totalDemandRps;
    }
  }

  /** Loads closer than this are the same load (a region at its limit); rps. */
  static final double SAME_LOAD_RPS = 0.5;

  private record Bucket(long hour, Peak peak) {}

  private final Map<String, Deque<Bucket>> buckets = new HashMap<>();
  private long version;

  /**
   * One evaluation's planned load of {@code region} under {@code demand} (not changed afterwards), whose sum is
   * {@code totalDemandRps}.
   */
  void record(String region, Instant now, double loadRps, double totalDemandRps, SortedMap<Integer, Double> demand) {
    Deque<Bucket> q = buckets.computeIfAbsent(region, k -> new ArrayDeque<>());
    long hour = Math.floorDiv(now.toEpochMilli(), BUCKET_MS);
    Bucket last = q.peekLast();
    Peak p = new Peak(now, loadRps, totalDemandRps, Collections.unmodifiableSortedMap(demand));
    if (last != null && last.hour() == hour) {
      if (p.above(last.peak())) {
        q.pollLast();
        q.addLast(new Bucket(hour, p));
        version++;
      }
    } else if (last == null || hour > last.hour()) {
      q.addLast(new Bucket(hour, p));
      version++;
    }
    long oldest = Math.floorDiv(now.minus(WINDOW).toEpochMilli(), BUCKET_MS);
    while (!q.isEmpty() && q.peekFirst().hour() < oldest) {
      q.pollFirst();
      version++;
    }
  }

  /** The region's highest planned load within the window, or null before its first evaluation. */
  Peak peak(String region, Instant now) {
    Deque<Bucket> q = buckets.get(region);
    if (q == null) {
      return null;
    }
    long oldest = Math.floorDiv(now.minus(WINDOW).toEpochMilli(), BUCKET_MS);
    Peak best = null;
    for (Bucket b : q) {
      if (b.hour() >= oldest && (best == null || b.peak().above(best))) {
        best = b.peak();
      }
    }
    return best;
  }

  /** Changes whenever a peak may have changed: readiness is recomputed then. */
  long version() {
    return version;
  }

  /** Forgets regions no longer configured. */
  void retain(java.util.Set<String> regions) {
    buckets.keySet().retainAll(regions);
  }
}
