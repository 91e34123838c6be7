package io.meridian.controller;

import io.meridian.config.ConfigNode;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One operator command, as a value: what the admin routes, a console, automation and (later) a follower
 * forwarding to the leader hand to {@link Commands}. Each record checks its own fields when built, so a command
 * that exists is well-formed whoever made it; whether it is allowed (the region exists, the safety rules hold)
 * is judged by {@link Commands}. {@link #toJson()} and {@link #fromJson(JsonObject)} round-trip exactly.
 *
 * <pre>{@code
 * Command c = Command.fromJson(new JsonObject().put("action", "drain").put("target", "eu-west")
 *     .put("reason", "kernel upgrade").put("expires_in", "2h"));
 * }</pre>
 */
public sealed interface Command {
  /** Longest reason: a paragraph; it is stored up to three times per command (audit, override, answer). */
  int MAX_TEXT = 2000;
  /**
   * Longest {@code expires_in}: a year. An override meant to end by itself later than that is a typo
   * ({@code 99999999999999999999h} once set the year 2319); one meant to hold leaves {@code expires_in} out.
   */
  Duration MAX_EXPIRES_IN = Duration.ofDays(365);

  /** The action's name, as in the routes and the audit log: drain, undrain, ..., unfreeze. */
  String action();

  /** The region, home or zone acted on; {@code automation} for freeze and unfreeze. */
  String target();

  /** Why: required, at most {@link #MAX_TEXT} characters of valid Unicode; goes to the audit log. */
  String reason();

  /** Past the overridable safety rules (capacity, concurrent drains); needs the admin role. */
  boolean force();

  /** The override ends by itself this long after it is applied, or null; only drain, fail, pin and freeze. */
  default Duration expiresIn() {
    return null;
  }

  record Drain(String region, String reason, boolean force, Duration expiresIn) implements Command {
    public Drain {
      reason = Check.reason(reason);
      Check.target("region", region);
      Check.expiresIn(expiresIn);
    }

    public String action() {
      return "drain";
    }

    public String target() {
      return region;
    }
  }

  record Undrain(String region, String reason, boolean force) implements Command {
    public Undrain {
      reason = Check.reason(reason);
      Check.target("region", region);
    }

    public String action() {
      return "undrain";
    }

    public String target() {
      return region;
    }
  }

  record Fail(String region, String reason, boolean force, Duration expiresIn) implements Command {
    public Fail {
      reason = Check.reason(reason);
      Check.target("region", region);
      Check.expiresIn(expiresIn);
    }

    public String action() {
      return "fail";
    }

    public String target() {
      return region;
    }
  }

  record Restore(String region, String reason, boolean force) implements Command {
    public Restore {
      reason = Check.reason(reason);
      Check.target("region", region);
    }

    public String action() {
      return "restore";
    }

    public String target() {
      return region;
    }
  }

  /** @param to the successor, or null for the one in {@code controller.successors} */
  record Promote(String home, String to, String reason, boolean force) implements Command {
    public Promote {
      reason = Check.reason(reason);
      Check.target("home", home);
      if (to != null) {
        Check.target("to", to);
      }
    }

    public String action() {
      return "promote";
    }

    public String target() {
      return home;
    }
  }

  /** Failback: the home serves its users again ({@code POST /v1/homes/{home}/restore}). */
  record Unpromote(String home, String reason, boolean force) implements Command {
    public Unpromote {
      reason = Check.reason(reason);
      Check.target("home", home);
    }

    public String action() {
      return "unpromote";
    }

    public String target() {
      return home;
    }
  }

  /** @param weights region → finite weight > 0 with a finite sum (a pin is one region) */
  record Pin(String zone, Map<String, Double> weights, String reason, boolean force, Duration expiresIn)
      implements Command {
    public Pin {
      reason = Check.reason(reason);
      Check.target("zone", zone);
      weights = Check.weights(weights);
      Check.expiresIn(expiresIn);
    }

    public String action() {
      return "pin";
    }

    public String target() {
      return zone;
    }
  }

  record Unpin(String zone, String reason, boolean force) implements Command {
    public Unpin {
      reason = Check.reason(reason);
      Check.target("zone", zone);
    }

    public String action() {
      return "unpin";
    }

    public String target() {
      return zone;
    }
  }

  record Freeze(String reason, boolean force, Duration expiresIn) implements Command {
    public Freeze {
      reason = Check.reason(reason);
      Check.expiresIn(expiresIn);
    }

    public String action() {
      return "freeze";
    }

    public String target() {
      return "automation";
    }
  }

  record Unfreeze(String reason, boolean force) implements Command {
    public Unfreeze {
      reason = Check.reason(reason);
    }

    public String action() {
      return "unfreeze";
    }

    public String target() {
      return "automation";
    }
  }

  /** The actions, in the order of the docs. */
  List<String> ACTIONS = List.of("drain", "undrain", "fail", "restore", "promote", "unpromote", "pin", "unpin",
      "freeze", "unfreeze");

  /** The body fields an action takes (besides {@code dry_run}, which belongs to the request, not the command). */
  static Set<String> fields(String action) {
    Set<String> f = new LinkedHashSet<>(List.of("reason", "force"));
    switch (action) {
      case "drain", "fail", "freeze" -> f.add("expires_in");
      case "pin" -> {
        f.add("weights");
        f.add("expires_in");
      }
      case "promote" -> f.add("to");
      default -> { }
    }
    return f;
  }

  /**
   * The command as JSON: {@code action}, {@code target} and exactly the fields it has, in a fixed order (weights
   * sorted), so equal commands encode to equal text.
   */
  default JsonObject toJson() {
    JsonObject j = new JsonObject().put("action", action()).put("target", target()).put("reason", reason())
        .put("force", force());
    if (expiresIn() != null) {
      j.put("expires_in", ConfigNode.formatDuration(expiresIn()));
    }
    if (this instanceof Promote p && p.to() != null) {
      j.put("to", p.to());
    }
    if (this instanceof Pin p) {
      JsonObject w = new JsonObject();
      p.weights().keySet().stream().sorted().forEach(r -> w.put(r, p.weights().get(r)));
      j.put("weights", w);
    }
    return j;
  }

  /** {@link #toJson()} back to a command; refuses (400) what {@link #parse} refuses, and a missing action. */
  static Command fromJson(JsonObject j) {
    Object action = j.getValue("action");
    if (!(action instanceof String a) || !ACTIONS.contains(a)) {
      throw Refusal.INVALID_REQUEST.at("action", action, "one of " + ACTIONS);
    }
    Object target = j.getValue("target");
    if (!(target instanceof String t)) {
      throw Refusal.INVALID_REQUEST.at("target", target, "a region, home or zone id");
    }
    JsonObject body = j.copy();
    body.remove("action");
    body.remove("target");
    return parse(a, t, body);
  }

  /**
   * A command from a route's action and target and its JSON body. Strict: a field the action does not take, a
   * value of the wrong type ({@code "force":"yes"}), a duration that is not one or too long, weights that are
   * not finite positive numbers are each refused with {@link Refusal#INVALID_REQUEST} naming the field, the value
   * and the expectation. JSON null counts as absent for the optional fields.
   */
  static Command parse(String action, String target, JsonObject body) {
    Set<String> allowed = fields(action);
    for (String f : body.fieldNames()) {
      if (!allowed.contains(f)) {
        throw Refusal.INVALID_REQUEST.at(f, body.getValue(f), "no field '" + f + "' for " + action
            + "; it takes " + allowed);
      }
    }
    Object r = body.getValue("reason");
    if (r != null && !(r instanceof String)) {
      throw Refusal.INVALID_REQUEST.at("reason", r, "a string: why this change is made");
    }
    String reason = (String) r;
    Object f = body.getValue("force");
    if (f != null && !(f instanceof Boolean)) {
      throw Refusal.INVALID_REQUEST.at("force", f, "true or false");
    }
    boolean force = Boolean.TRUE.equals(f);
    Duration expires = Check.duration(body.getValue("expires_in"));
    return switch (action) {
      case "drain" -> new Drain(target, reason, force, expires);
      case "undrain" -> new Undrain(target, reason, force);
      case "fail" -> new Fail(target, reason, force, expires);
      case "restore" -> new Restore(target, reason, force);
      case "promote" -> {
        Object to = body.getValue("to");
        if (to != null && !(to instanceof String)) {
          throw Refusal.INVALID_REQUEST.at("to", to, "a region id in the home's residency group");
        }
        yield new Promote(target, (String) to, reason, force);
      }
      case "unpromote" -> new Unpromote(target, reason, force);
      case "pin" -> new Pin(target, Check.weightsJson(body.getValue("weights")), reason, force, expires);
      case "unpin" -> new Unpin(target, reason, force);
      case "freeze" -> new Freeze(reason, force, expires);
      case "unfreeze" -> new Unfreeze(reason, force);
      default -> throw Refusal.NOT_FOUND.at("action", action, "one of " + ACTIONS);
    };
  }

  /** The field checks shared by the records' constructors and {@link #parse}. */
  final class Check {
    private static final String DURATION = "a duration of whole milliseconds from 1ms to 8760h (365 days),"
        + " like 30m or 2h";
    private static final String REASON = "why this change is made; it goes to the audit log";

    private Check() {}

    static String reason(String reason) {
      String r = reason == null ? "" : reason.trim();
      if (r.isEmpty()) {
        throw new Refusal.Exception(Refusal.INVALID_REQUEST, "reason: required (" + REASON + ")", "reason", reason,
            "a non-blank string: " + REASON);
      }
      text("reason", r);
      return r;
    }

    static void target(String field, String id) {
      if (id == null || id.isBlank()) {
        throw Refusal.INVALID_REQUEST.at(field, id, "a configured id");
      }
      text(field, id);
    }

    /** Free text that goes to the journal: bounded, and only characters that encode and decode exactly. */
    static void text(String field, String value) {
      if (value.length() > MAX_TEXT) {
        throw Refusal.INVALID_REQUEST.atDescribed(field, value.length() + " characters", "at most " + MAX_TEXT);
      }
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
          i++;
        } else if (Character.isSurrogate(c)) {
          throw Refusal.INVALID_REQUEST.atDescribed(field, String.format("unpaired surrogate \\u%04x at index %d",
              (int) c, i), "valid Unicode text");
        }
      }
    }

    static void expiresIn(Duration d) {
      if (d != null && (d.isZero() || d.isNegative() || d.compareTo(MAX_EXPIRES_IN) > 0
          || d.toNanos() % 1_000_000 != 0)) {
        throw Refusal.INVALID_REQUEST.at("expires_in", ConfigNode.formatDuration(d), DURATION);
      }
    }

    static Duration duration(Object v) {
      if (v == null) {
        return null;
      }
      if (!(v instanceof String s)) {
        throw Refusal.INVALID_REQUEST.at("expires_in", v, DURATION);
      }
      // checked before parsing: 99999999999999999999h saturates to 292 years in the parser
      Duration d = s.length() > 20 ? null : ConfigNode.parseDuration(s);
      if (d == null || d.isZero() || d.compareTo(MAX_EXPIRES_IN) > 0 || d.toNanos() % 1_000_000 != 0) {
        throw Refusal.INVALID_REQUEST.at("expires_in", s, DURATION);
      }
      return d;
    }

    static Map<String, Double> weightsJson(Object v) {
      if (v == null) {
        return null;
      }
      if (!(v instanceof JsonObject w)) {
        throw Refusal.INVALID_REQUEST.at("weights", v, "an object of region → weight, e.g. {\"eu-west\": 1}");
      }
      Map<String, Double> out = new LinkedHashMap<>();
      for (String r : w.fieldNames()) {
        Object x = w.getValue(r);
        if (!(x instanceof Number n)) {
          throw Refusal.INVALID_REQUEST.at("weights." + r, x, "a finite number > 0");
        }
        out.put(r, n.doubleValue());
      }
      return out;
    }

    static Map<String, Double> weights(Map<String, Double> w) {
      if (w == null || w.isEmpty()) {
        throw new Refusal.Exception(Refusal.INVALID_REQUEST, "weights: required, e.g. {\"eu-west\": 1} to pin or"
            + " {\"eu-west\": 3, \"eu-central\": 1} to split", "weights", w == null ? null : new JsonObject(),
            "an object of region → weight, e.g. {\"eu-west\": 1}");
      }
      double total = 0;
      for (Map.Entry<String, Double> e : w.entrySet()) {
        target("weights", e.getKey());
        Double v = e.getValue();
        // 1e309 parses as Infinity: once acknowledged, stored as "Infinity" and every later start failed
        if (v == null || !Double.isFinite(v) || v <= 0) {
          throw Refusal.INVALID_REQUEST.at("weights." + e.getKey(), v, "a finite number > 0");
        }
        total += v;
      }
      if (!Double.isFinite(total)) { // the planner divides by the total
        throw new Refusal.Exception(Refusal.INVALID_REQUEST, "weights: total " + total + " of " + w.values()
            + " (expected: weights whose sum is a finite number)", "weights", String.valueOf(total),
            "weights whose sum is a finite number");
      }
      return Collections.unmodifiableMap(new LinkedHashMap<>(w));
    }
  }
}
