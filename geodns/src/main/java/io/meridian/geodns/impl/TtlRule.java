package io.meridian.geodns.impl;

import io.meridian.core.Lifecycle;
import io.meridian.core.RegionSelector;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.Zones;
import java.time.Clock;

/**
 * Which TTL a geo answer carries, and why. {@link #of} is the one place it is decided (the pipeline's {@code ttl}
 * stage, which the fast path and explanations run too); every rule but {@link #NORMAL} gives the name's
 * {@code transition_ttl}, the first that applies is reported by {@code _explain}.
 *
 * <p>Why the short TTL is tied to the answer rather than to the plan: resolvers keep an answer for its whole TTL,
 * so the TTL of the answer that moved a client bounds how late that client follows the next change — a failback,
 * the next drain or ramp step, or a correction. Answers that did not move keep the long TTL and cost nothing.
 */
enum TtlRule {
  /** None of the below: the name's {@code ttl}. */
  NORMAL("normal", false),
  /** No region eligible, the name's fallback is served. */
  FALLBACK("fallback", true),
  /**
   * The client is sent somewhere other than its normal region — the region it would get with every region
   * healthy, active and at full share and no weighted routes, inside its geofence: failover, drain, shed, spill.
   * For as long as that lasts, so clients return within {@code transition_ttl} of the failback (gdnsd halves the
   * TTL of failed-over answers; we use the configured transition TTL: one knob, already bounded by {@code ttl}).
   */
  MOVED("moved", true),
  /**
   * The client is at its normal region, but that region is mid-move (draining, recovering, or a traffic share
   * below 1): the next drain or ramp step may move this client, so it must hear of it within one transition TTL.
   */
  STEPPING("stepping", true),
  /**
   * What decides this answer changed within the last {@link #WINDOW_TTLS} × {@code transition_ttl}: its region's
   * state (serving, lifecycle, share), or the client zone's weighted route, or — for a zone with a weighted route,
   * where one region's change redistributes the others' clients — any region's state. Covers the first answers
   * after a failback, the end of a drain or ramp, and a route that shifted.
   */
  CHANGED("changed", true),
  /**
   * An unlocated client answered with every eligible region ({@code dns.unlocated: all}): the answer depends on
   * every region's state, so any failure anywhere changes it; the short TTL bounds how long a resolver keeps the
   * address of a region that just failed.
   */
  UNLOCATED_ALL("unlocated-all", true);

  /**
   * k in "changed in the last k × transition_ttl". 2: within the first transition TTL after a change, the
   * resolvers holding the short-TTL answers of the step before (a drain or ramp step, a failure just reverted)
   * come back for a fresh answer; in the second, the answers they now get are still short, so a further step or a
   * flap back reaches them within one transition TTL too. The same margin lets a DNS process that hears of a
   * plan up to one transition TTL after its {@code createdAt} (bus or etcd watch lag) still serve a full
   * transition TTL of short answers. With the default 5 s that is a 10 s window, the controller's default
   * drain/ramp interval; steps further apart are covered by {@link #STEPPING} and {@link #MOVED} in between.
   */
  static final int WINDOW_TTLS = 2;

  final String label;
  final boolean transitionTtl;

  TtlRule(String label, boolean transitionTtl) {
    this.label = label;
    this.transitionTtl = transitionTtl;
  }

  /**
   * The rule for a query whose region was chosen ({@code q.region}, {@code q.plan}, {@code q.fence},
   * {@code q.location} set). Allocation-free; reads the clock only for answers that none of the state rules
   * already shortened.
   */
  static TtlRule of(Query q, PlanChanges changes, Clock clock) {
    if (q.unlocated == Query.Unlocated.ALL) {
      return UNLOCATED_ALL;
    }
    if (q.region < 0) {
      return FALLBACK;
    }
    RoutingPlan plan = q.plan;
    int zone = q.location == null ? Zones.UNKNOWN : q.location.zone();
    if (q.region != normalRegion(plan, zone, q.geo.constraint(q.fence, q.qtype))) {
      return MOVED;
    }
    RegionState r = plan.region(q.region);
    if (r.lifecycle() != Lifecycle.ACTIVE || r.trafficShare() < 1) {
      return STEPPING;
    }
    long window = q.geo.changeWindowMillis();
    if (window <= 0 || changes.latestRegionChange() == PlanChanges.NEVER && changes.zoneChangedAt(zone)
        == PlanChanges.NEVER) {
      return NORMAL;
    }
    long since = clock.millis() - window; // changed at t: short while now - t < window
    if (changes.regionChangedAt(q.region) > since || changes.zoneChangedAt(zone) > since
        || plan.zones().get(zone) != null && changes.latestRegionChange() > since) {
      return CHANGED;
    }
    return NORMAL;
  }

  /**
   * The client's normal region: the first of the zone's nearest-first ranking (computed once per zone by the
   * topology and cached) that the geofence allows; -1 when the fence allows none. No allocation: an array walk
   * that usually stops at the first entry.
   */
  static int normalRegion(RoutingPlan plan, int zone, RegionSelector.Constraint c) {
    int[] ranking = plan.topology().ranking(zone);
    if (c == RegionSelector.Constraint.NONE) {
      return ranking.length == 0 ? -1 : ranking[0];
    }
    for (int idx : ranking) {
      if (c.allows(plan.region(idx))) {
        return idx;
      }
    }
    return -1;
  }

}
