package io.meridian.proxy.impl;

import io.meridian.core.TrafficReport;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * This proxy's share of each region's allowed rate, from the traffic reports every proxy publishes on the
 * control bus (in-process, or etcd where a report lives under its proxy's lease). With {@code o(p, r)} the rate
 * proxy p offered region r in its last report (sent + turned away by the limit) and {@code o(p)} its offered
 * total over all regions:
 *
 * <pre>
 *   share(r) = (o(self, r) + ε·o(self)) / Σ_p (o(p, r) + ε·o(p)),   ε = {@value #EPSILON}
 * </pre>
 *
 * <p>The shares of all live proxies add up to 1 for every region, so together they admit at most the region's
 * allowed rate. Mostly a proxy's share follows what it sends the region; the ε term gives a proxy that sent the
 * region nothing last interval (its clients' region just failed, say) a share in proportion to its overall
 * traffic instead of none, so its first requests there are not all spilled.
 *
 * <ul>
 *   <li>Until its own report has come back through the bus, a proxy takes 1/N with N the live proxies counting
 *       itself (a new proxy; the others count it from its first report on, so for up to one report interval
 *       the proxies together may admit up to (1 + 1/N) of the limit).</li>
 *   <li>A peer's empty report (etcd delivers a deleted, lease-expired report so; a proxy stopping publishes one)
 *       removes it at once. A peer not heard for {@link #STALE_REPORTS} report intervals is dropped when this
 *       proxy's own report arrives: its own report coming back proves the bus works, so the silence is the
 *       peer's.</li>
 *   <li>A proxy that hears nothing (bus down) keeps its last shares; a share is never above 1.</li>
 * </ul>
 *
 * <p>Thread-safety: reports arrive on the bus's thread; all methods are synchronized and rare (one report per
 * proxy per interval). The hot path never reads this class: the engine turns shares into limiter rates.
 */
final class AdmissionShares {
  /** Weight of a proxy's overall traffic beside its traffic to the region (see the class comment). */
  static final double EPSILON = 0.1;
  /** A peer silent this many report intervals while this proxy's own reports arrive is gone. */
  static final int STALE_REPORTS = 3;

  private final String self;
  private final long intervalNanos;
  private final LongSupplier clock;
  private final Map<String, Peer> peers = new HashMap<>();

  private record Peer(Map<String, Double> offered, double total, long heardAt) {}

  AdmissionShares(String self, long intervalNanos, LongSupplier clock) {
    this.self = self;
    this.intervalNanos = intervalNanos;
    this.clock = clock;
  }

  /** Takes one report; returns whether the shares may have changed. */
  synchronized boolean onReport(TrafficReport r) {
    if (r.isEmpty()) {
      return peers.remove(r.source()) != null;
    }
    double total = 0;
    for (double v : r.regionOfferedRps().values()) {
      total += v;
    }
    long now = clock.getAsLong();
    peers.put(r.source(), new Peer(r.regionOfferedRps(), total, now));
    if (r.source().equals(self)) {
      long staleAfter = STALE_REPORTS * intervalNanos;
      peers.values().removeIf(p -> now - p.heardAt > staleAfter);
    }
    return true;
  }

  /** This proxy's share of {@code region}'s allowed rate, 0..1. */
  synchronized double share(String region) {
    Peer own = peers.get(self);
    if (own == null) {
      return 1.0 / (peers.size() + 1);
    }
    double mine = own.offered.getOrDefault(region, 0.0) + EPSILON * own.total;
    double all = 0;
    for (Peer p : peers.values()) {
      all += p.offered.getOrDefault(region, 0.0) + EPSILON * p.total;
    }
    if (all <= 0) {
      return 1.0 / peers.size(); // nobody offered anything anywhere: an even split
    }
    return Math.min(1, mine / all);
  }

  /** Proxies counted now, this one included once its report has come back. */
  synchronized int live() {
    return peers.containsKey(self) ? peers.size() : peers.size() + 1;
  }
}
