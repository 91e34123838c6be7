package io.meridian.core;

import java.util.ArrayList;
import java.util.List;

/**
 * The one place where a region is chosen for a DNS query or a proxied request. Everything else prepares its
 * inputs (client zone, a stable per-client hash, constraints such as geofences or residency) or acts on its
 * result. Allocation-free; reads only the immutable plan.
 *
 * <p>Order of decision:
 * <ol>
 *   <li>If the plan has a weighted route for the client's zone, pick among its eligible, allowed regions by
 *       weight, using the client hash so one client (subnet) keeps its answer while the plan stands.</li>
 *   <li>Otherwise walk regions nearest first; an eligible, allowed region with traffic share s keeps the
 *       client with probability s (again decided by the hash), else the walk continues — this is how drain
 *       steps and slow-start ramps move a fraction of a region's traffic to its next-nearest neighbour.</li>
 *   <li>No eligible region: -1, and the caller applies its configured fallback.</li>
 * </ol>
 */
public final class RegionSelector {
  private RegionSelector() {}

  /** A constraint on top of eligibility: geofence, residency group, regions already tried. */
  @FunctionalInterface
  public interface Constraint {
    Constraint NONE = r -> true;

    boolean allows(RegionState region);
  }

  /**
   * Chooses a region index, or -1.
   *
   * @param plan        current plan
   * @param zone        client zone index ({@link io.meridian.core.geo.Zones}), or UNKNOWN
   * @param clientHash  stable per client (e.g. hash of the /24 or the user id)
   * @param constraint  extra filter
   */
  public static int choose(RoutingPlan plan, int zone, int clientHash, Constraint constraint) {
    ZoneRoute route = plan.zones().get(zone);
    double u = unit(clientHash);
    if (route != null) {
      int picked = weighted(plan, route, u, constraint);
      if (picked >= 0) {
        return picked;
      }
      // every region the route names is out: fall through to nearest-first so the zone is still served
    }
    int[] ranking = plan.topology().ranking(zone);
    for (int idx : ranking) {
      RegionState r = plan.region(idx);
      if (!r.eligible() || !constraint.allows(r)) {
        continue;
      }
      double share = r.trafficShare();
      if (share >= 1 || u < share) {
        return idx;
      }
      u = (u - share) / (1 - share); // uniform again on [0,1) given u >= share
    }
    // Shares left everyone out (e.g. the only eligible regions are ramping): serve the nearest eligible.
    for (int idx : ranking) {
      RegionState r = plan.region(idx);
      if (r.eligible() && constraint.allows(r)) {
        return idx;
      }
    }
    return -1;
  }

  private static int weighted(RoutingPlan plan, ZoneRoute route, double u, Constraint constraint) {
    double total = 0;
    List<ZoneRoute.Choice> choices = route.choices();
    for (int i = 0; i < choices.size(); i++) {
      ZoneRoute.Choice c = choices.get(i);
      RegionState r = plan.region(c.region());
      if (r != null && c.weight() > 0 && r.eligible() && constraint.allows(r)) {
        total += c.weight();
      }
    }
    if (total <= 0) {
      return -1;
    }
    double point = u * total;
    int last = -1;
    for (int i = 0; i < choices.size(); i++) {
      ZoneRoute.Choice c = choices.get(i);
      int idx = plan.topology().indexOf(c.region());
      if (idx < 0) {
        continue;
      }
      RegionState r = plan.region(idx);
      if (c.weight() > 0 && r.eligible() && constraint.allows(r)) {
        last = idx;
        point -= c.weight();
        if (point < 0) {
          return idx;
        }
      }
    }
    return last;
  }

  /** Maps a hash to [0,1) after mixing, so nearby subnets don't land in the same slice. */
  static double unit(int hash) {
    int h = hash * 0x9E3779B9;
    h ^= h >>> 16;
    h *= 0x85EBCA6B;
    h ^= h >>> 13;
    return (h >>> 8) / (double) (1 << 24);
  }

  /** Why a zone gets what it gets: every region with its distance, state and whether it could be chosen. */
  public static List<Candidate> explain(RoutingPlan plan, int zone, Constraint constraint) {
    List<Candidate> out = new ArrayList<>();
    ZoneRoute route = plan.zones().get(zone);
    for (int idx : plan.topology().ranking(zone)) {
      RegionState r = plan.region(idx);
      double weight = Double.NaN;
      if (route != null) {
        weight = 0;
        for (ZoneRoute.Choice c : route.choices()) {
          if (c.region().equals(r.id())) {
            weight = c.weight();
          }
        }
      }
      String why = !r.health().serves() ? "health " + r.health()
          : !r.lifecycle().takesTraffic() ? "lifecycle " + r.lifecycle()
          : r.trafficShare() <= 0 ? "traffic share 0"
          : !constraint.allows(r) ? "excluded by constraint (geofence/residency)"
          : "eligible";
      out.add(new Candidate(r.id(), plan.topology().distanceKm(idx, zone), r.health(), r.lifecycle(),
          r.trafficShare(), weight, r.eligible() && constraint.allows(r), why));
    }
    return out;
  }

  /** One line of an explanation. {@code zoneWeight} is NaN when the zone has no weighted route. */
  public record Candidate(String region, double distanceKm, Health health, Lifecycle lifecycle,
      double trafficShare, double zoneWeight, boolean eligible, String why) {}
}
