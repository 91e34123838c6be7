package io.meridian.controller.impl;

import io.meridian.controller.AdminState;
import io.vertx.core.json.JsonObject;
import java.time.DateTimeException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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
    if (before == after) {
      return;
    }
    // only the changed keys are sorted (the same change always encodes the same way); most sections change
    // by one key while holding up to 1,000
    Set<String> changed = new TreeSet<>();
    after.forEach((k, v) -> {
      if (!Objects.equals(before.get(k), v)) {
        changed.add(k);
      }
    });
    for (String k : before.keySet()) {
      if (!after.containsKey(k)) {
        changed.add(k);
      }
    }
    if (changed.isEmpty()) {
      return;
    }
    JsonObject s = new JsonObject();
    for (String k : changed) {
      V a = after.get(k);
      s.put(k, a == null ? null : json.apply(a));
    }
    out.put(name, s);
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
    Replay r = new Replay(base);
    r.apply(this);
    return r.state();
  }

  /**
   * Applies many deltas in a row onto one mutable copy of the state: a start-up replays up to 1,000 entries,
   * and copying the whole state (with its 1,000 stored answers) per entry made that take a second.
   */
  public static final class Replay {
    private long revision;
    private final Map<String, AdminState.RegionOverride> regions;
    private final Map<String, String> promotions;
    private final Map<String, Boolean> fenced;
    private final Map<String, AdminState.ZonePin> pins;
    private AdminState.Freeze frozen;
    private final Map<String, JsonObject> idempotency;

    public Replay(AdminState base) {
      revision = base.revision();
      regions = new HashMap<>(base.regions());
      promotions = new HashMap<>(base.promotions());
      fenced = new HashMap<>(asMap(base.fenced()));
      pins = new HashMap<>(base.pins());
      frozen = base.frozen();
      idempotency = new HashMap<>(base.idempotency());
    }

    /**
     * Applies {@code d}. Every value is decoded before any is applied, so a delta that fails changes nothing.
     *
     * @throws IllegalArgumentException naming the section and key of a value that cannot be decoded
     */
    public void apply(StateDelta d) {
      JsonObject c = d.changes();
      for (String name : c.fieldNames()) {
        if (!SECTIONS.contains(name)) {
          throw new IllegalArgumentException("delta section '" + name + "' (expected one of "
              + new TreeSet<>(SECTIONS) + ")");
        }
      }
      var r = decode(c, "regions", (k, v) -> AdminState.RegionOverride.fromJson((JsonObject) v));
      var pr = decode(c, "promotions", (k, v) -> (String) v);
      var f = decode(c, "fenced", (k, v) -> {
        if (!Boolean.TRUE.equals(v)) {
          throw new IllegalArgumentException("expected: true or null");
        }
        return Boolean.TRUE;
      });
      var p = decode(c, "pins", (zone, v) -> AdminState.ZonePin.fromJson(zone, (JsonObject) v));
      var i = decode(c, "idempotency", (k, v) -> (JsonObject) v);
      AdminState.Freeze fr = frozen;
      if (c.containsKey("frozen")) {
        try {
          JsonObject fj = (JsonObject) c.getValue("frozen");
          fr = fj == null ? null : AdminState.Freeze.fromJson(fj);
        } catch (ClassCastException | NullPointerException | DateTimeException e) {
          throw new IllegalArgumentException("frozen: malformed value " + JournalEntry.abbreviate(
              String.valueOf(c.getValue("frozen"))) + " (" + e.getMessage() + ")", e);
        }
      }
      putAll(regions, r);
      putAll(promotions, pr);
      putAll(fenced, f);
      putAll(pins, p);
      putAll(idempotency, i);
      frozen = fr;
      revision = d.revision();
    }

    public AdminState state() {
      return new AdminState(revision, regions, promotions, fenced.keySet(), pins, frozen, idempotency);
    }

    private static <V> Map<String, Optional<V>> decode(JsonObject changes, String name,
        BiFunction<String, Object, V> decode) {
      Map<String, Optional<V>> out = new LinkedHashMap<>();
      Object section = changes.getValue(name);
      if (section == null) {
        return out;
      }
      if (!(section instanceof JsonObject s)) {
        throw new IllegalArgumentException(name + ": " + JournalEntry.abbreviate(String.valueOf(section))
            + " (expected: an object of key to value or null)");
      }
      for (String k : s.fieldNames()) {
        Object v = s.getValue(k);
        try {
          out.put(k, v == null ? Optional.empty() : Optional.of(decode.apply(k, v)));
        } catch (ClassCastException | NullPointerException | IllegalArgumentException | DateTimeException e) {
          throw new IllegalArgumentException(name + "." + k + ": malformed value " + JournalEntry.abbreviate(
              String.valueOf(v)) + " (" + e.getMessage() + ")", e);
        }
      }
      return out;
    }

    private static <V> void putAll(Map<String, V> target, Map<String, Optional<V>> changes) {
      changes.forEach((k, v) -> {
        if (v.isPresent()) {
          target.put(k, v.get());
        } else {
          target.remove(k);
        }
      });
    }
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
