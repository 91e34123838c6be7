package io.meridian.geodns.impl;

import io.meridian.core.RegionSelector;
import io.meridian.core.RoutingPlan;
import io.meridian.geodns.Explanation;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/** Builds an {@link Explanation} from a query that went through the geo stages. */
final class Explainer {
  private Explainer() {}

  static Explanation of(Query q, RoutingPlan plan) {
    RegionSelector.Constraint c = q.geo.constraint(q.fence, q.qtype);
    int zone = q.location == null ? io.meridian.core.geo.Zones.UNKNOWN : q.location.zone();
    String choice = q.unlocated == Query.Unlocated.ALL ? "unlocated:all"
        : q.regionId != null && q.geo.region(q.regionId) != null ? q.regionId
        : "fallback:" + q.geo.fallback().getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
    long ttl = q.ttlRule.transitionTtl ? q.geo.transitionTtl() : q.geo.ttl();
    List<String> fence = q.fence == null ? List.of() : new ArrayList<>(new java.util.TreeSet<>(q.fence.regions()));
    return new Explanation(q.geo.name().toString(), text(q.client),
        q.ecs != null && q.ecs.getSourcePrefixLength() > 0 ? "ecs" : "address",
        q.location == null ? "unknown" : q.unlocated != null ? "UNLOCATED_" + q.unlocated.name()
            : q.location.source().name(),
        q.location == null ? Double.NaN : q.location.latitude(),
        q.location == null ? Double.NaN : q.location.longitude(),
        q.location == null ? null : q.location.country(), q.location == null ? null : q.location.continent(),
        GeoAnswers.zoneId(q), plan.version(), fence, RegionSelector.explain(plan, zone, c), choice, ttl,
        q.ttlRule.label);
  }

  private static String text(byte[] addr) {
    try {
      return InetAddress.getByAddress(addr).getHostAddress();
    } catch (UnknownHostException e) {
      return "?";
    }
  }
}
