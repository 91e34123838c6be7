package io.meridian.controller;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * What operators decided, as one immutable value: the part of the controller's state that must survive a
 * restart (health and measured demand are re-learned within seconds; these are not). The {@link StateStore}
 * persists it; every accepted mutation produces a new revision.
 *
 * @param revision     increases by one per accepted mutation
 * @param regions      operator overrides per region (drain or fail)
 * @param promotions   home region → region acting as its home
 * @param fenced       old homes that must receive no writes until restored
 * @param pins         zone id → operator-set weights (a pin is one region with weight 1)
 * @param frozen       automation frozen, or null
 * @param idempotency  recent Idempotency-Key → the response already given (bounded, oldest dropped)
 */
public record AdminState(long revision, Map<String, RegionOverride> regions, Map<String, String> promotions,
    Set<String> fenced, Map<String, ZonePin> pins, Freeze frozen, Map<String, JsonObject> idempotency) {

  /** How many idempotency keys are remembered; a retry older than this many mutations is a new request. */
  public static final int IDEMPOTENCY_KEYS = 1000;

  public static final AdminState EMPTY = new AdminState(0, Map.of(), Map.of(), Set.of(), Map.of(), null, Map.of());

  public AdminState {
    regions = Map.copyOf(regions);
    promotions = Map.copyOf(promotions);
    fenced = Set.copyOf(fenced);
    pins = Map.copyOf(pins);
    idempotency = Map.copyOf(idempotency);
  }

  /** What an operator did to a region. */
  public enum Mode { DRAIN, FAIL }

  /**
   * @param mode       drain (traffic moves away in steps within headroom) or fail (no traffic at once)
   * @param force      drain past the receivers' headroom (admin role; audited)
   * @param reason     the operator's reason
   * @param by         token name
   * @param at         when
   * @param expiresAt  the override ends by itself at this time, or null
   */
  public record RegionOverride(Mode mode, boolean force, String reason, String by, Instant at, Instant expiresAt) {}

  /** Operator-set weights for a client zone, overriding the planner for it. */
  public record ZonePin(String zone, Map<String, Double> weights, String reason, String by, Instant expiresAt) {
    public ZonePin {
      weights = Map.copyOf(weights);
    }
  }

  /** Automation frozen: no automatic lifecycle changes until unfrozen or {@code expiresAt}. */
  public record Freeze(String reason, String by, Instant at, Instant expiresAt) {}

  public AdminState withRegion(String region, RegionOverride o) {
    Map<String, RegionOverride> m = new LinkedHashMap<>(regions);
    if (o == null) {
      m.remove(region);
    } else {
      m.put(region, o);
    }
    return new AdminState(revision, m, promotions, fenced, pins, frozen, idempotency);
  }

  public AdminState withHomes(Map<String, String> newPromotions, Set<String> newFenced) {
    return new AdminState(revision, regions, newPromotions, newFenced, pins, frozen, idempotency);
  }

  public AdminState withPin(String zone, ZonePin pin) {
    Map<String, ZonePin> m = new LinkedHashMap<>(pins);
    if (pin == null) {
      m.remove(zone);
    } else {
      m.put(zone, pin);
    }
    return new AdminState(revision, regions, promotions, fenced, m, frozen, idempotency);
  }

  public AdminState withFrozen(Freeze f) {
    return new AdminState(revision, regions, promotions, fenced, pins, f, idempotency);
  }

  /** The next revision, remembering the response given for {@code key} (when not null). */
  public AdminState nextRevision(String key, JsonObject response) {
    Map<String, JsonObject> m = idempotency;
    if (key != null) {
      LinkedHashMap<String, JsonObject> lm = new LinkedHashMap<>();
      // keep insertion order by revision: the response carries its revision
      idempotency.entrySet().stream()
          .sorted((a, b) -> Long.compare(a.getValue().getLong("revision", 0L), b.getValue().getLong("revision", 0L)))
          .forEach(e -> lm.put(e.getKey(), e.getValue()));
      lm.put(key, response);
      while (lm.size() > IDEMPOTENCY_KEYS) {
        lm.remove(lm.keySet().iterator().next());
      }
      m = lm;
    }
    return new AdminState(revision + 1, regions, promotions, fenced, pins, frozen, m);
  }

  /** Drops overrides whose expiry has passed; returns this when nothing expired. */
  public AdminState expire(Instant now) {
    boolean any = frozen != null && expired(frozen.expiresAt(), now);
    for (RegionOverride o : regions.values()) {
      any |= expired(o.expiresAt(), now);
    }
    for (ZonePin p : pins.values()) {
      any |= expired(p.expiresAt(), now);
    }
    if (!any) {
      return this;
    }
    Map<String, RegionOverride> r = new LinkedHashMap<>(regions);
    r.values().removeIf(o -> expired(o.expiresAt(), now));
    Map<String, ZonePin> p = new LinkedHashMap<>(pins);
    p.values().removeIf(o -> expired(o.expiresAt(), now));
    Freeze f = frozen != null && expired(frozen.expiresAt(), now) ? null : frozen;
    return new AdminState(revision, r, promotions, fenced, p, f, idempotency);
  }

  private static boolean expired(Instant expiresAt, Instant now) {
    return expiresAt != null && !now.isBefore(expiresAt);
  }

  public JsonObject toJson() {
    JsonObject regionsJson = new JsonObject();
    regions.forEach((id, o) -> regionsJson.put(id, new JsonObject().put("mode", o.mode().name())
        .put("force", o.force()).put("reason", o.reason()).put("by", o.by()).put("at", str(o.at()))
        .put("expires_at", str(o.expiresAt()))));
    JsonObject pinsJson = new JsonObject();
    pins.forEach((zone, p) -> {
      JsonObject w = new JsonObject();
      p.weights().forEach(w::put);
      pinsJson.put(zone, new JsonObject().put("weights", w).put("reason", p.reason()).put("by", p.by())
          .put("expires_at", str(p.expiresAt())));
    });
    JsonObject promotionsJson = new JsonObject();
    promotions.forEach(promotionsJson::put);
    JsonObject idem = new JsonObject();
    idempotency.forEach(idem::put);
    return new JsonObject().put("revision", revision).put("regions", regionsJson).put("promotions", promotionsJson)
        .put("fenced", new JsonArray(fenced.stream().sorted().toList())).put("pins", pinsJson)
        .put("frozen", frozen == null ? null : new JsonObject().put("reason", frozen.reason())
            .put("by", frozen.by()).put("at", str(frozen.at())).put("expires_at", str(frozen.expiresAt())))
        .put("idempotency", idem);
  }

  public static AdminState fromJson(JsonObject j) {
    Map<String, RegionOverride> regions = new LinkedHashMap<>();
    JsonObject rj = j.getJsonObject("regions", new JsonObject());
    for (String id : rj.fieldNames()) {
      JsonObject o = rj.getJsonObject(id);
      regions.put(id, new RegionOverride(Mode.valueOf(o.getString("mode")), o.getBoolean("force", false),
          o.getString("reason"), o.getString("by"), instant(o.getString("at")), instant(o.getString("expires_at"))));
    }
    Map<String, ZonePin> pins = new LinkedHashMap<>();
    JsonObject pj = j.getJsonObject("pins", new JsonObject());
    for (String zone : pj.fieldNames()) {
      JsonObject o = pj.getJsonObject(zone);
      Map<String, Double> w = new LinkedHashMap<>();
      JsonObject wj = o.getJsonObject("weights", new JsonObject());
      for (String r : wj.fieldNames()) {
        w.put(r, wj.getDouble(r));
      }
      pins.put(zone, new ZonePin(zone, w, o.getString("reason"), o.getString("by"),
          instant(o.getString("expires_at"))));
    }
    Map<String, String> promotions = new LinkedHashMap<>();
    JsonObject pr = j.getJsonObject("promotions", new JsonObject());
    for (String home : pr.fieldNames()) {
      promotions.put(home, pr.getString(home));
    }
    Set<String> fenced = new LinkedHashSet<>();
    j.getJsonArray("fenced", new JsonArray()).forEach(f -> fenced.add(String.valueOf(f)));
    JsonObject fj = j.getJsonObject("frozen");
    Freeze frozen = fj == null ? null : new Freeze(fj.getString("reason"), fj.getString("by"),
        instant(fj.getString("at")), instant(fj.getString("expires_at")));
    Map<String, JsonObject> idem = new LinkedHashMap<>();
    JsonObject ij = j.getJsonObject("idempotency", new JsonObject());
    for (String k : ij.fieldNames()) {
      idem.put(k, ij.getJsonObject(k));
    }
    return new AdminState(j.getLong("revision", 0L), regions, promotions, fenced, pins, frozen, idem);
  }

  private static String str(Instant i) {
    return i == null ? null : i.toString();
  }

  private static Instant instant(String s) {
    return s == null ? null : Instant.parse(s);
  }
}
