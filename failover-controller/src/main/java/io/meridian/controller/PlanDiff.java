package io.meridian.controller;

import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.ZoneRoute;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What changed between two plans: per region the fields that differ, per zone the routes added, removed or
 * re-weighted, and the homes. Served at {@code GET /v1/plan/diff?from=V1&to=V2}.
 */
public final class PlanDiff {
  private PlanDiff() {}

  public static JsonObject between(RoutingPlan a, RoutingPlan b) {
    JsonArray regions = new JsonArray();
    for (RegionState rb : b.regions()) {
      RegionState ra = a.region(rb.id());
      if (ra == null) {
        regions.add(new JsonObject().put("region", rb.id()).put("change", "added"));
        continue;
      }
      JsonObject changes = new JsonObject();
      field(changes, "health", ra.health(), rb.health());
      field(changes, "lifecycle", ra.lifecycle(), rb.lifecycle());
      field(changes, "traffic_share", ra.trafficShare(), rb.trafficShare());
      if (Math.abs(ra.loadRps() - rb.loadRps()) > 0.05) {
        changes.put("load_rps", new JsonObject().put("before", ra.loadRps()).put("after", rb.loadRps()));
      }
      if (!changes.isEmpty()) {
        regions.add(new JsonObject().put("region", rb.id()).put("changes", changes));
      }
    }
    JsonArray zones = new JsonArray();
    Map<String, ZoneRoute> za = a.zones().asMap();
    Map<String, ZoneRoute> zb = b.zones().asMap();
    TreeSet<String> ids = new TreeSet<>(za.keySet());
    ids.addAll(zb.keySet());
    for (String z : ids) {
      ZoneRoute ra = za.get(z);
      ZoneRoute rb = zb.get(z);
      if (!Objects.equals(ra, rb)) {
        zones.add(new JsonObject().put("zone", z)
            .put("change", ra == null ? "added" : rb == null ? "removed" : "reweighted")
            .put("before", weights(ra)).put("after", weights(rb)));
      }
    }
    JsonObject out = new JsonObject().put("from", a.version()).put("to", b.version()).put("reason", b.reason())
        .put("regions", regions).put("zones", zones);
    if (!a.homes().equals(b.homes())) {
      out.put("homes", new JsonObject().put("before", a.homes().promotions().toString() + " fenced "
          + a.homes().fenced()).put("after", b.homes().promotions().toString() + " fenced " + b.homes().fenced()));
    }
    if (Math.abs(a.shortfallRps() - b.shortfallRps()) > 0.05) {
      out.put("shortfall_rps", new JsonObject().put("before", a.shortfallRps()).put("after", b.shortfallRps()));
    }
    return out;
  }

  private static void field(JsonObject out, String name, Object before, Object after) {
    if (!Objects.equals(before, after)) {
      out.put(name, new JsonObject().put("before", String.valueOf(before)).put("after", String.valueOf(after)));
    }
  }

  private static JsonObject weights(ZoneRoute r) {
    if (r == null) {
      return null;
    }
    JsonObject w = new JsonObject();
    r.choices().forEach(c -> w.put(c.region(), c.weight()));
    return w;
  }
}
