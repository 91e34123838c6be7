package io.meridian.core;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON form of a {@link RoutingPlan}, both directions: served by the admin API ({@code GET /v1/plan}),
 * written to the audit log and, later, stored in etcd. {@code fromJson(toJson(p))} equals {@code p} in every
 * field (the topology is rebuilt from the regions' coordinates).
 *
 * <pre>{@code
 * JsonObject json = PlanJson.toJson(plan);
 * RoutingPlan back = PlanJson.fromJson(json); // IllegalArgumentException naming the bad field
 * }</pre>
 */
public final class PlanJson {
  private PlanJson() {}

  public static JsonObject toJson(RoutingPlan plan) {
    JsonArray regions = new JsonArray();
    for (RegionState r : plan.regions()) {
      regions.add(regionJson(r));
    }
    JsonObject zones = new JsonObject();
    plan.zones().asMap().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
      JsonArray choices = new JsonArray();
      for (ZoneRoute.Choice c : e.getValue().choices()) {
        choices.add(new JsonObject().put("region", c.region()).put("weight", c.weight()));
      }
      // a zone with nothing to shed stays a plain list of choices (the form before shed existed)
      zones.put(e.getKey(), e.getValue().shed() > 0
          ? new JsonObject().put("choices", choices).put("shed", e.getValue().shed()) : choices);
    });
    JsonObject promotions = new JsonObject();
    plan.homes().promotions().entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> promotions.put(e.getKey(), e.getValue()));
    JsonArray fenced = new JsonArray();
    plan.homes().fenced().stream().sorted().forEach(fenced::add);
    return new JsonObject()
        .put("version", plan.version())
        .put("created_at", plan.createdAt().toString())
        .put("reason", plan.reason())
        .put("in_transition", plan.inTransition())
        .put("shortfall_rps", plan.shortfallRps())
        .put("regions", regions)
        .put("zones", zones)
        .put("homes", new JsonObject().put("promotions", promotions).put("fenced", fenced));
  }

  /** One region as JSON (also used by {@code GET /v1/regions}). */
  public static JsonObject regionJson(RegionState r) {
    return new JsonObject()
        .put("id", r.id())
        .put("latitude", r.latitude())
        .put("longitude", r.longitude())
        .put("residency_group", r.residencyGroup())
        .put("health", r.health().name())
        .put("lifecycle", r.lifecycle().name())
        .put("capacity_rps", r.capacityRps())
        .put("load_rps", r.loadRps())
        .put("traffic_share", r.trafficShare())
        // JSON has no NaN: an unstated limit is absent
        .put("allowed_rps", Double.isNaN(r.allowedRps()) ? null : r.allowedRps())
        .put("eligible", r.eligible());
  }

  public static RoutingPlan fromJson(JsonObject json) {
    long version = required(json, "version", Number.class).longValue();
    Instant createdAt = Instant.parse(required(json, "created_at", String.class));
    String reason = json.getString("reason", "");
    JsonArray regionsJson = required(json, "regions", JsonArray.class);
    List<RegionState> regions = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    double[] lat = new double[regionsJson.size()];
    double[] lon = new double[regionsJson.size()];
    for (int i = 0; i < regionsJson.size(); i++) {
      JsonObject r = regionsJson.getJsonObject(i);
      String at = "regions[" + i + "].";
      String id = required(r, "id", String.class, at);
      lat[i] = required(r, "latitude", Number.class, at).doubleValue();
      lon[i] = required(r, "longitude", Number.class, at).doubleValue();
      ids.add(id);
      regions.add(new RegionState(id, lat[i], lon[i], r.getString("residency_group", "global"),
          enumOf(Health.class, required(r, "health", String.class, at), at + "health"),
          enumOf(Lifecycle.class, required(r, "lifecycle", String.class, at), at + "lifecycle"),
          required(r, "capacity_rps", Number.class, at).doubleValue(),
          r.getNumber("load_rps", 0).doubleValue(),
          r.getNumber("traffic_share", 1).doubleValue(),
          r.getValue("allowed_rps") == null ? Double.NaN
              : required(r, "allowed_rps", Number.class, at).doubleValue()));
    }
    Map<String, ZoneRoute> zones = new LinkedHashMap<>();
    JsonObject zonesJson = json.getJsonObject("zones", new JsonObject());
    for (String zone : zonesJson.fieldNames()) {
      Object value = zonesJson.getValue(zone);
      JsonArray choices;
      double shed = 0;
      if (value instanceof JsonObject o) {
        choices = required(o, "choices", JsonArray.class, "zones." + zone + ".");
        shed = o.getNumber("shed", 0).doubleValue();
        if (!(shed >= 0 && shed <= 1)) {
          throw new IllegalArgumentException("zones." + zone + ".shed: " + shed + " (expected: 0..1)");
        }
      } else if (value instanceof JsonArray a) {
        choices = a;
      } else {
        throw new IllegalArgumentException("zones." + zone + ": " + value + " (expected: list of choices, or"
            + " {choices, shed})");
      }
      List<ZoneRoute.Choice> list = new ArrayList<>();
      for (int i = 0; i < choices.size(); i++) {
        JsonObject c = choices.getJsonObject(i);
        String at = "zones." + zone + "[" + i + "].";
        list.add(new ZoneRoute.Choice(required(c, "region", String.class, at),
            required(c, "weight", Number.class, at).doubleValue()));
      }
      zones.put(zone, new ZoneRoute(zone, list, shed));
    }
    JsonObject homes = json.getJsonObject("homes", new JsonObject());
    Map<String, String> promotions = new LinkedHashMap<>();
    JsonObject p = homes.getJsonObject("promotions", new JsonObject());
    for (String home : p.fieldNames()) {
      promotions.put(home, p.getString(home));
    }
    Set<String> fenced = new HashSet<>();
    homes.getJsonArray("fenced", new JsonArray()).forEach(f -> fenced.add(String.valueOf(f)));
    return new RoutingPlan(version, createdAt, reason, Topology.of(ids, lat, lon), regions, ZoneRoutes.of(zones),
        promotions.isEmpty() && fenced.isEmpty() ? HomeAssignments.NONE : new HomeAssignments(promotions, fenced),
        json.getNumber("shortfall_rps", 0).doubleValue());
  }

  private static <T> T required(JsonObject o, String key, Class<T> type) {
    return required(o, key, type, "");
  }

  private static <T> T required(JsonObject o, String key, Class<T> type, String at) {
    Object v = o.getValue(key);
    if (!type.isInstance(v)) {
      throw new IllegalArgumentException(at + key + ": " + v + " (expected: " + type.getSimpleName() + ")");
    }
    return type.cast(v);
  }

  private static <E extends Enum<E>> E enumOf(Class<E> type, String value, String at) {
    try {
      return Enum.valueOf(type, value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ": " + value + " (expected one of: "
          + java.util.Arrays.toString(type.getEnumConstants()) + ")");
    }
  }
}
