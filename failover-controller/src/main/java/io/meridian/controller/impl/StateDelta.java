package io.meridian.controller.impl;

import io.meridian.controller.AdminState;
import io.vertx.core.json.JsonObject;
import java.time.DateTimeException;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * What one accepted change did to the operators' state: per section ({@code regions}, {@code promotions},
 * {@code fenced}, {@code pins}, {@code frozen}, {@code idempotency}) the keys that changed with their new value,
 * JSON {@code null} meaning removed, plus the revision after. A section that did not change is absent.
 *
 * <p>Journal entries carry this instead of a copy of the whole state: a copy per entry made the old journal grow
 * by the whole state (with its 1,000 stored responses) per command — 1.08 GB after 2,226 commands. The values are
 * exactly those of {@link AdminState#toJson()} (the snapshot's form), so a store that keeps one key per value
 * (etcd) can use the same JSON. Nothing here touches files.
 *
 * <pre>{"revision": 42, "regions": {"us-east": {"mode": "DRAIN", ...}}, "fenced": {"us-west": null}}</pre>
 *
 * @param revision the state's revision after the change
 * @param changes  section → key → new value or null (removed); {@code frozen} is the new value itself
 */
public record StateDelta(long revision, JsonObject changes) {
  private static final Set<String> SECTIONS =
      Set.of("regions", "promotions", "fenced", "pins", "frozen", "idempotency");

  public StateDelta {
    changes = changes.copy();
  }

  /** The changes that turn {@code before} into {@code after}. */
  public static StateDelta between(AdminState before, AdminState after) {
    JsonObject c = new JsonObject();
    section(c, "regions", before.regions(), after.regions(), AdminState.RegionOverride::toJson);
    section(c, "promotions", before.promotions(), after.promotions(), v -> v);
    section(c, "fenced", asMap(before.fenced()), asMap(after.fenced()), v -> v);
    section(c, "pins", before.pins(), after.pins(), AdminState.ZonePin::toJson);
    if (!Objects.equals(before.frozen(), after.frozen())) {
      c.put("frozen", after.frozen() == null ? null : after.frozen().toJson());
    }
    section(c, "idempotency", before.idempotency(), after.idempotency(), v -> v);
    return new StateDelta(after.revision(), c);
  }

  private static <V> void section(JsonObject out, String name, Map<String, V> before, Map<String, V> after,
      Function<V, Object> json) {
    JsonObject s = new JsonObject();
    Set<String> keys = new TreeSet<>(before.keySet()); // sorted: the same change always encodes the same way
    keys.addAll(after.keySet());
    for (String k : keys) {
      V a = after.get(k);
      if (!Objects.equals(before.get(k), a)) {
        s.put(k, a == null ? null : json.apply(a));
      }
    }
    if (!s.isEmpty()) {
      out.put(name, s);
    }
  }

  private static Map<String, Boolean> asMap(Set<String> set) {
    Map<String, Boolean> m = new LinkedHashMap<>();
    set.forEach(k -> m.put(k, Boolean.TRUE));
    return m;
  }

  /**
   * {@code base} with these changes applied.
   *
   * @throws IllegalArgumentException on a section or value this version does not know (a newer writer, or damage
   *     that kept the checksum intact): better to stop than to replay half of an entry
   */
  public AdminState applyTo(AdminState base) {
    for (String name : changes.fieldNames()) {
      if (!SECTIONS.contains(name)) {
        throw new IllegalArgumentException("delta section '" + name + "' (expected one of " + new TreeSet<>(SECTIONS)
            + ")");
      }
    }
    try {
      Map<String, AdminState.RegionOverride> regions = apply(base.regions(), "regions",
          (k, v) -> AdminState.RegionOverride.fromJson((JsonObject) v));
      Map<String, String> promotions = apply(base.promotions(), "promotions", (k, v) -> (String) v);
      Set<String> fenced = new LinkedHashSet<>(apply(asMap(base.fenced()), "fenced", (k, v) -> {
        if (!Boolean.TRUE.equals(v)) {
          throw new IllegalArgumentException("fenced." + k + ": " + v + " (expected: true or null)");
        }
        return Boolean.TRUE;
      }).keySet());
      Map<String, AdminState.ZonePin> pins = apply(base.pins(), "pins",
          (zone, v) -> AdminState.ZonePin.fromJson(zone, (JsonObject) v));
      AdminState.Freeze frozen = base.frozen();
      if (changes.containsKey("frozen")) {
        JsonObject f = changes.getJsonObject("frozen");
        frozen = f == null ? null : AdminState.Freeze.fromJson(f);
      }
      Map<String, JsonObject> idempotency = apply(base.idempotency(), "idempotency", (k, v) -> (JsonObject) v);
      return new AdminState(revision, regions, promotions, fenced, pins, frozen, idempotency);
    } catch (ClassCastException | NullPointerException | DateTimeException e) {
      throw new IllegalArgumentException("delta of revision " + revision + " has a malformed value: " + e, e);
    }
  }

  private <V> Map<String, V> apply(Map<String, V> base, String name, BiFunction<String, Object, V> decode) {
    Map<String, V> m = new LinkedHashMap<>(base);
    JsonObject s = changes.getJsonObject(name, new JsonObject());
    for (String k : s.fieldNames()) {
      Object v = s.getValue(k);
      if (v == null) {
        m.remove(k);
        continue;
      }
      try {
        m.put(k, decode.apply(k, v));
      } catch (ClassCastException | NullPointerException | DateTimeException e) {
        throw new IllegalArgumentException(name + "." + k + ": malformed value " + JournalEntry.abbreviate(
            String.valueOf(v)) + " (" + e.getMessage() + ")", e);
      }
    }
    return m;
  }

  public boolean isEmpty() {
    return changes.isEmpty();
  }

  /** {@code {"revision": r, <section>: {...}, ...}}. */
  public JsonObject toJson() {
    return changes.copy().put("revision", revision);
  }

  public static StateDelta fromJson(JsonObject j) {
    JsonObject c = j.copy();
    Object r = c.remove("revision");
    if (!(r instanceof Number n)) {
      throw new IllegalArgumentException("delta revision: " + r + " (expected: a number)");
    }
    return new StateDelta(n.longValue(), c);
  }
}
