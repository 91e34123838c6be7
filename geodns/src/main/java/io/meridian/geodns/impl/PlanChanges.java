package io.meridian.geodns.impl;

import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.ZoneRoutes;
import io.meridian.core.geo.Zones;
import java.util.Arrays;
import java.util.Objects;

/**
 * When the parts of the routing plan that decide answers last changed, as this process saw successive plans: per
 * region (serving or not, lifecycle, traffic share) and per client zone (its weighted route). Built on the plan
 * listener when a plan is swapped in, never per query; immutable once built, so a query reads it with the plan it
 * came with and needs no lock.
 *
 * <p>A change is dated {@code min(plan.createdAt, received)}: the controller's clock, so that several DNS
 * processes receiving the same plan a few milliseconds (or an etcd watch round) apart open the same window and a
 * resolver that asks them in turn sees the same TTLs; capped at the local receive time so that a controller clock
 * running ahead cannot stretch the window past what this process saw. A plan heard late opens a shorter window
 * (or none, if it is older than the window): the clients it moved are covered by the "moved" rule anyway.
 */
final class PlanChanges {
  static final long NEVER = Long.MIN_VALUE;
  static final PlanChanges NONE = new PlanChanges(new long[0], NEVER, new int[0], new long[0]);

  /** By topology index of the plan this was built for; NEVER when not seen to change. */
  private final long[] regionChangedAt;
  private final long latestRegionChange;
  /** Zones whose route changed within the retention time, ascending, with when. */
  private final int[] zones;
  private final long[] zoneChangedAt;

  private PlanChanges(long[] regionChangedAt, long latestRegionChange, int[] zones, long[] zoneChangedAt) {
    this.regionChangedAt = regionChangedAt;
    this.latestRegionChange = latestRegionChange;
    this.zones = zones;
    this.zoneChangedAt = zoneChangedAt;
  }

  /** The first plan a process serves: nothing is known to have changed (a restart is not a routing change). */
  static PlanChanges initial(RoutingPlan plan) {
    long[] at = new long[plan.regions().size()];
    Arrays.fill(at, NEVER);
    return new PlanChanges(at, NEVER, new int[0], new long[0]);
  }

  /**
   * The changes known once {@code next} replaces {@code prev}.
   *
   * @param before      the changes known with {@code prev}
   * @param receivedAt  local clock, epoch ms, when {@code next} was swapped in
   * @param retainMs    zone changes older than this (before {@code receivedAt}) are forgotten: the longest window
   */
  static PlanChanges between(PlanChanges before, RoutingPlan prev, RoutingPlan next, long receivedAt, long retainMs) {
    long at = Math.min(next.createdAt().toEpochMilli(), receivedAt);
    boolean sameTopology = prev.topology().sameAs(next.topology()) && before.regionChangedAt.length
        == next.regions().size();
    long[] regions = new long[next.regions().size()];
    long latest = NEVER;
    for (int i = 0; i < regions.length; i++) {
      RegionState now = next.region(i);
      int j = sameTopology ? i : prev.topology().indexOf(now.id());
      RegionState was = j < 0 ? null : prev.region(j);
      long earlier = j < 0 || j >= before.regionChangedAt.length ? NEVER : before.regionChangedAt[j];
      regions[i] = was == null || decidesDifferently(was, now) ? Math.max(at, earlier) : earlier;
      latest = Math.max(latest, regions[i]);
    }
    long[] zoneAt;
    int[] zoneIdx;
    ZoneRoutes a = prev.zones();
    ZoneRoutes b = next.zones();
    long forgetBefore = receivedAt - retainMs;
    if (a == b || a.size() == 0 && b.size() == 0) {
      int n = 0;
      int[] keep = new int[before.zones.length];
      long[] keepAt = new long[before.zones.length];
      for (int k = 0; k < before.zones.length; k++) {
        if (before.zoneChangedAt[k] > forgetBefore) {
          keep[n] = before.zones[k];
          keepAt[n++] = before.zoneChangedAt[k];
        }
      }
      zoneIdx = Arrays.copyOf(keep, n);
      zoneAt = Arrays.copyOf(keepAt, n);
    } else {
      // one pass over every zone (≈ 65,000 array reads per plan swap, not per query), merged in order with the
      // changes already known, so the result comes out sorted
      int[] idx = new int[Math.min(Zones.COUNT, before.zones.length + 64)];
      long[] when = new long[idx.length];
      int n = 0;
      int k = 0;
      for (int z = 0; z < Zones.COUNT; z++) {
        long t = NEVER;
        while (k < before.zones.length && before.zones[k] < z) {
          k++;
        }
        if (k < before.zones.length && before.zones[k] == z && before.zoneChangedAt[k] > forgetBefore) {
          t = before.zoneChangedAt[k];
        }
        if (!Objects.equals(a.get(z), b.get(z))) {
          t = Math.max(t, at);
        }
        if (t != NEVER) {
          if (n == idx.length) {
            idx = Arrays.copyOf(idx, Math.min(Zones.COUNT, n * 2));
            when = Arrays.copyOf(when, idx.length);
          }
          idx[n] = z;
          when[n++] = t;
        }
      }
      zoneIdx = Arrays.copyOf(idx, n);
      zoneAt = Arrays.copyOf(when, n);
    }
    return new PlanChanges(regions, latest, zoneIdx, zoneAt);
  }

  /**
   * Whether the selector may choose differently: serving or not, lifecycle, share. Load and capacity figures
   * change with every traffic report and decide nothing here.
   */
  private static boolean decidesDifferently(RegionState was, RegionState now) {
    return was.health().serves() != now.health().serves() || was.lifecycle() != now.lifecycle()
        || was.trafficShare() != now.trafficShare();
  }

  /** When the region (topology index) last changed, or NEVER. */
  long regionChangedAt(int region) {
    return region >= 0 && region < regionChangedAt.length ? regionChangedAt[region] : NEVER;
  }

  /** When any region last changed, or NEVER. */
  long latestRegionChange() {
    return latestRegionChange;
  }

  /** When the zone's weighted route last changed (within the retention time), or NEVER. Allocation-free. */
  long zoneChangedAt(int zone) {
    if (zones.length == 0) {
      return NEVER;
    }
    int i = Arrays.binarySearch(zones, zone);
    return i < 0 ? NEVER : zoneChangedAt[i];
  }
}
