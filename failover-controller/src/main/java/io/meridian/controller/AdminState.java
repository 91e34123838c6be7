package io.meridian.controller;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
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
 * @param idempotency  recent Idempotency-Key → a compact copy of the response already given; bounded by
 *                     {@link #IDEMPOTENCY_KEYS} and {@link #IDEMPOTENCY_WINDOW}, oldest dropped
 */
public record AdminState(long revision, Map<String, RegionOverride> regions, Map<String, String> promotions,
    Set<String> fenced, Map<String, ZonePin> pins, Freeze frozen, Map<String, JsonObject> idempotency) {

  /**
   * How many idempotency keys are remembered; a retry older than this many keyed mutations is a new request.
   * Bounds the snapshot: 1,000 compact responses are a few hundred KB.
   */
  public static final int IDEMPOTENCY_KEYS = 1000;

  /**
   * How long a key is replayed after its first answer (as long as Stripe's): clients retry within minutes, and
   * a key reused a day later is far more likely a client's bug than a retry.
   */
  public static final Duration IDEMPOTENCY_WINDOW = Duration.ofHours(24);

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
  public record RegionOverride(Mode mode, boolean force, String reason, String by, Instant at, Instant expiresAt) {
    public JsonObject toJson() {
      return new JsonObject().put("mode", mode.name()).put("force", force).put("reason", reason).put("by", by)
          .put("at", str(at)).put("expires_at", str(expiresAt));
    }

    public static RegionOverride fromJson(JsonObject o) {
      return new RegionOverride(Mode.valueOf(o.getString("mode")), o.getBoolean("force", false),
          o.getString("reason"), o.getString("by"), instant(o.getString("at")), instant(o.getString("expires_at")));
    }
  }

  /** Operator-set weights for a client zone, overriding the planner for it. */
  public record ZonePin(String zone, Map<String, Double> weights, String reason, String by, Instant expiresAt) {
    public ZonePin {
      weights = Map.copyOf(weights);
    }

    public JsonObject toJson() {
      JsonObject w = new JsonObject();
      weights.forEach(w::put);
      return new JsonObject().put("weights", w).put("reason", reason).put("by", by)
          .put("expires_at", str(expiresAt));
    }

    public static ZonePin fromJson(String zone, JsonObject o) {
      Map<String, Double> w = new LinkedHashMap<>();
      JsonObject wj = o.getJsonObject("weights", new JsonObject());
      for (String r : wj.fieldNames()) {
        w.put(r, wj.getDouble(r));
      }
      return new ZonePin(zone, w, o.getString("reason"), o.getString("by"), instant(o.getString("expires_at")));
    }
  }

  /** Automation frozen: no automatic lifecycle changes until unfrozen or {@code expiresAt}. */
  public record Freeze(String reason, String by, Instant at, Instant expiresAt) {
    public JsonObject toJson() {
      return new JsonObject().put("reason", reason).put("by", by).put("at", str(at))
          .put("expires_at", str(expiresAt));
    }

    public static Freeze fromJson(JsonObject o) {
      return new Freeze(o.getString("reason"), o.getString("by"), instant(o.getString("at")),
          instant(o.getString("expires_at")));
    }
  }

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

  /**
   * The next revision, remembering the response given for {@code key} (when not null). Keys beyond the newest
   * {@link #IDEMPOTENCY_KEYS}, or answered more than {@link #IDEMPOTENCY_WINDOW} before this response's
   * {@code at}, are forgotten here, so what is stored stays bounded by both.
   */
  public AdminState nextRevision(String key, JsonObject response) {
    Map<String, JsonObject> m = idempotency;
    if (key != null) {
      LinkedHashMap<String, JsonObject> lm = new LinkedHashMap<>();
      // keep insertion order by revision: the response carries its revision
      idempotency.entrySet().stream()
          .sorted((a, b) -> Long.compare(a.getValue().getLong("revision", 0L), b.getValue().getLong("revision", 0L)))
          .forEach(e -> lm.put(e.getKey(), e.getValue()));
      lm.remove(key);
      lm.put(key, response);
      while (lm.size() > IDEMPOTENCY_KEYS) {
        lm.remove(lm.keySet().iterator().next());
      }
      Instant at = answeredAt(response);
      // oldest first: stop at the first answer still inside the window
      for (var it = lm.values().iterator(); at != null && it.hasNext(); ) {
        if (withinWindow(it.next(), at)) {
          break;
        }
        it.remove();
      }
      m = lm;
    }
    return new AdminState(revision + 1, regions, promotions, fenced, pins, frozen, m);
  }

  /** The response remembered for {@code key} if it was given within {@link #IDEMPOTENCY_WINDOW}, else null. */
  public JsonObject idempotentResponse(String key, Instant now) {
    JsonObject r = key == null ? null : idempotency.get(key);
    return r != null && withinWindow(r, now) ? r : null;
  }

  private static boolean withinWindow(JsonObject response, Instant now) {
    Instant at = answeredAt(response);
    return at == null || now.isBefore(at.plus(IDEMPOTENCY_WINDOW));
  }

  private static Instant answeredAt(JsonObject response) {
    try {
      return response == null || response.getString("at") == null ? null : Instant.parse(response.getString("at"));
    } catch (RuntimeException e) { // a response stored before "at" was recorded: kept until pushed out by count
      return null;
    }
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

  /** The whole state as JSON: the snapshot's form, and the values a {@code StateDelta} carries per key. */
  public JsonObject toJson() {
    JsonObject regionsJson = new JsonObject();
    regions.forEach((id, o) -> regionsJson.put(id, o.toJson()));
    JsonObject pinsJson = new JsonObject();
    pins.forEach((zone, p) -> pinsJson.put(zone, p.toJson()));
    JsonObject promotionsJson = new JsonObject();
    promotions.forEach(promotionsJson::put);
    JsonObject idem = new JsonObject();
    idempotency.forEach(idem::put);
    return new JsonObject().put("revision", revision).put("regions", regionsJson).put("promotions", promotionsJson)
        .put("fenced", new JsonArray(fenced.stream().sorted().toList())).put("pins", pinsJson)
        .put("frozen", frozen == null ? null : frozen.toJson())
        .put("idempotency", idem);
  }

  public static AdminState fromJson(JsonObject j) {
    Map<String, RegionOverride> regions = new LinkedHashMap<>();
    JsonObject rj = j.getJsonObject("regions", new JsonObject());
    for (String id : rj.fieldNames()) {
      regions.put(id, RegionOverride.fromJson(rj.getJsonObject(id)));
    }
    Map<String, ZonePin> pins = new LinkedHashMap<>();
    JsonObject pj = j.getJsonObject("pins", new JsonObject());
    for (String zone : pj.fieldNames()) {
      pins.put(zone, ZonePin.fromJson(zone, pj.getJsonObject(zone)));
    }
    Map<String, String> promotions = new LinkedHashMap<>();
    JsonObject pr = j.getJsonObject("promotions", new JsonObject());
    for (String home : pr.fieldNames()) {
      promotions.put(home, pr.getString(home));
    }
    Set<String> fenced = new LinkedHashSet<>();
    j.getJsonArray("fenced", new JsonArray()).forEach(f -> fenced.add(String.valueOf(f)));
    JsonObject fj = j.getJsonObject("frozen");
    Freeze frozen = fj == null ? null : Freeze.fromJson(fj);
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
