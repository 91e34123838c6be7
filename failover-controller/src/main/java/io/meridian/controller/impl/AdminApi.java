package io.meridian.controller.impl;

import io.meridian.config.AdminConfig;
import io.meridian.config.ConfigNode;
import io.meridian.config.RegionConfig;
import io.meridian.controller.AdminState;
import io.meridian.controller.Refusal;
import io.meridian.controller.StateStore;
import io.meridian.core.Lifecycle;
import io.meridian.core.PlanJson;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.Zones;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's routes (vertx-web). Reads need the viewer role, mutations operator, {@code force} admin.
 * Every mutation takes a reason, honours {@code Idempotency-Key}, supports {@code ?dry_run=true}, is judged by
 * the safety rules against the plan it would lead to, and is appended to the durable audit journal before it
 * is acknowledged. The contract is {@code /openapi.json}.
 */
final class AdminApi {
  private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
  private static final String PRINCIPAL = "meridian.principal";
  /** Longest reason: a paragraph; it is stored up to three times per command (audit, override, answer). */
  static final int MAX_TEXT = 2000;
  /** Longest Idempotency-Key: UUIDs and hashes fit; up to 1,000 keys are stored. */
  static final int MAX_IDEMPOTENCY_KEY = 255;

  /** What a mutation does. */
  enum Action { DRAIN, UNDRAIN, FAIL, RESTORE, PROMOTE, UNPROMOTE, PIN, UNPIN, FREEZE, UNFREEZE }

  private final ControllerRoleImpl role;
  private final AdminAuth auth;
  /** The listener's address and TLS as bound at start: changing them needs a restart. */
  private final io.meridian.config.ListenAddress boundListen;
  private final AdminConfig.Tls boundTls;
  private volatile StateStore store;

  private AdminApi(ControllerRoleImpl role) {
    this.role = role;
    this.boundListen = role.config().controller().adminListen();
    this.boundTls = role.config().admin().tls();
    this.auth = new AdminAuth(role.config().admin(), boundListen);
    if (auth.open()) {
      LOG.warn("no admin tokens configured: the admin API accepts unauthenticated calls on loopback only");
    }
  }

  /**
   * A reloaded config (from the config watcher): its admin tokens and roles are in force from the next request
   * on. The listener itself (address, TLS) is bound once; a change there is reported as needing a restart.
   */
  void reconfigure(io.meridian.config.MeridianConfig next) {
    AdminAuth.Change change = auth.reload(next.admin());
    if (!change.isEmpty()) {
      LOG.info(change.describe());
    }
    if (!next.controller().adminListen().equals(boundListen)) {
      LOG.warn("controller.admin_listen changed to {}:{}: takes effect after a restart (still listening on {}:{})",
          next.controller().adminListen().host(), next.controller().adminListen().port(), boundListen.host(),
          boundListen.port());
    }
    if (!java.util.Objects.equals(next.admin().tls(), boundTls)) {
      LOG.warn("admin.tls changed: takes effect after a restart (the listener keeps its TLS settings)");
    }
  }

  static AdminApi create(ControllerRoleImpl role) {
    return new AdminApi(role);
  }

  void useStore(StateStore s) {
    this.store = s;
  }

  void mount(Router router) {
    router.get("/openapi.json").handler(this::openapi);
    // no file uploads: BodyHandler would otherwise create a file-uploads/ directory wherever the process runs
    router.route("/v1/*").handler(BodyHandler.create(false).setBodyLimit(64 * 1024));
    router.route("/v1/*").handler(this::authenticate);
    router.get("/v1/plan").handler(rc -> json(rc, 200, PlanJson.toJson(role.bus().currentPlan())));
    router.get("/v1/plan/explain").handler(this::explain);
    router.get("/v1/plan/diff").handler(this::diff);
    router.get("/v1/regions").handler(this::regions);
    router.get("/v1/audit").handler(this::audit);
    router.get("/v1/events").handler(this::events);
    router.post("/v1/regions/:id/:action").handler(rc -> {
      Action a = switch (rc.pathParam("action")) {
        case "drain" -> Action.DRAIN;
        case "undrain" -> Action.UNDRAIN;
        case "fail" -> Action.FAIL;
        case "restore" -> Action.RESTORE;
        default -> null;
      };
      if (a == null) {
        refuse(rc, Refusal.NOT_FOUND.with("unknown action '" + rc.pathParam("action")
            + "' (expected: drain, undrain, fail, restore)"));
      } else {
        mutate(rc, a, rc.pathParam("id"));
      }
    });
    router.post("/v1/homes/:home/promote").handler(rc -> mutate(rc, Action.PROMOTE, rc.pathParam("home")));
    router.post("/v1/homes/:home/restore").handler(rc -> mutate(rc, Action.UNPROMOTE, rc.pathParam("home")));
    router.post("/v1/zones/:zone/pin").handler(rc -> mutate(rc, Action.PIN, rc.pathParam("zone")));
    router.post("/v1/zones/:zone/unpin").handler(rc -> mutate(rc, Action.UNPIN, rc.pathParam("zone")));
    router.post("/v1/freeze").handler(rc -> mutate(rc, Action.FREEZE, "automation"));
    router.post("/v1/unfreeze").handler(rc -> mutate(rc, Action.UNFREEZE, "automation"));
  }

  private void authenticate(RoutingContext rc) {
    AdminAuth.Principal p = auth.authenticate(rc.request().getHeader("Authorization"));
    if (p == null) {
      role.metrics().authFailures.labelValues("401").inc();
      rc.response().putHeader("WWW-Authenticate", "Bearer realm=\"meridian\"");
      refuse(rc, Refusal.UNAUTHENTICATED.with("missing or unknown bearer token (Authorization: Bearer <token>)"));
      return;
    }
    AdminConfig.Role needed = rc.request().method().name().equals("GET") ? AdminConfig.Role.VIEWER
        : AdminConfig.Role.OPERATOR;
    if (!p.may(needed)) {
      role.metrics().authFailures.labelValues("403").inc();
      refuse(rc, Refusal.FORBIDDEN.with("token '" + p.name() + "' has role " + p.role().name().toLowerCase()
          + "; " + rc.request().method() + " " + rc.request().path() + " needs " + needed.name().toLowerCase()));
      return;
    }
    rc.put(PRINCIPAL, p);
    rc.next();
  }

  private void openapi(RoutingContext rc) {
    try (InputStream in = AdminApi.class.getResourceAsStream("/openapi.json")) {
      rc.response().putHeader("content-type", "application/json").end(Buffer.buffer(in.readAllBytes()));
    } catch (IOException | NullPointerException e) {
      rc.fail(500, e);
    }
  }

  private void explain(RoutingContext rc) {
    String zoneId = rc.queryParams().get("zone");
    int zone = zoneId == null ? Zones.UNKNOWN : Zones.parse(zoneId);
    if (zone == Zones.UNKNOWN) {
      refuse(rc, Refusal.INVALID_REQUEST.with("zone: '" + zoneId + "' (expected: a 1° cell id like 50N8E)"));
      return;
    }
    role.onLane(() -> {
      JsonArray lines = new JsonArray();
      var result = role.engine().lastResult();
      if (result != null) {
        result.explain(zone).forEach(lines::add);
      }
      RoutingPlan plan = role.bus().currentPlan();
      JsonArray candidates = new JsonArray();
      for (var c : io.meridian.core.RegionSelector.explain(plan, zone, io.meridian.core.RegionSelector.Constraint.NONE)) {
        candidates.add(new JsonObject().put("region", c.region()).put("distance_km", Math.round(c.distanceKm()))
            .put("eligible", c.eligible()).put("why", c.why())
            .put("zone_weight", Double.isNaN(c.zoneWeight()) ? null : c.zoneWeight()));
      }
      return new JsonObject().put("zone", Zones.id(zone)).put("plan_version", plan.version())
          .put("planner", lines).put("candidates", candidates);
    }).onSuccess(j -> json(rc, 200, j)).onFailure(rc::fail);
  }

  private void diff(RoutingContext rc) {
    RoutingPlan current = role.bus().currentPlan();
    long to = parseLong(rc.queryParams().get("to"), current.version());
    long from = parseLong(rc.queryParams().get("from"), to - 1);
    RoutingPlan a = role.plan(from);
    RoutingPlan b = to == current.version() ? current : role.plan(to);
    if (a == null || b == null) {
      refuse(rc, Refusal.NOT_FOUND.with("plan version " + (a == null ? from : to) + " is not in the last "
          + ControllerRoleImpl.HISTORY + " plans (current: " + current.version() + ")"));
      return;
    }
    json(rc, 200, io.meridian.controller.PlanDiff.between(a, b));
  }

  private static long parseLong(String s, long dflt) {
    try {
      return s == null ? dflt : Long.parseLong(s);
    } catch (NumberFormatException e) {
      return dflt;
    }
  }

  private void regions(RoutingContext rc) {
    RoutingPlan plan = role.bus().currentPlan();
    AdminState admin = role.engine().admin();
    JsonArray out = new JsonArray();
    for (RegionState r : plan.regions()) {
      AdminState.RegionOverride o = admin.regions().get(r.id());
      out.add(PlanJson.regionJson(r)
          .put("utilisation", r.capacityRps() > 0 ? r.loadRps() / r.capacityRps() : 0)
          .put("limit_rps", r.capacityRps() * role.config().controller().headroom())
          .put("note", role.engine().note(r.id()))
          .put("override", o == null ? null : new JsonObject().put("mode", o.mode().name().toLowerCase())
              .put("reason", o.reason()).put("by", o.by()).put("force", o.force())
              .put("expires_at", o.expiresAt() == null ? null : o.expiresAt().toString())));
    }
    JsonObject frozen = admin.frozen() == null ? null : new JsonObject().put("reason", admin.frozen().reason())
        .put("by", admin.frozen().by());
    json(rc, 200, new JsonObject().put("plan_version", plan.version()).put("shortfall_rps", plan.shortfallRps())
        .put("frozen", frozen).put("regions", out));
  }

  private void audit(RoutingContext rc) {
    int limit = parseInt(rc.queryParams().get("limit"), 50);
    StateStore s = store;
    JsonArray out = new JsonArray();
    if (s != null) {
      role.onLane(() -> s.audit(limit)).onSuccess(list -> {
        list.forEach(out::add);
        json(rc, 200, new JsonObject().put("entries", out));
      }).onFailure(rc::fail);
    } else {
      json(rc, 200, new JsonObject().put("entries", out));
    }
  }

  /** Server-sent events (text/event-stream): lifecycle changes, plans, admin actions as they happen. */
  private void events(RoutingContext rc) {
    HttpServerResponse res = rc.response();
    res.setChunked(true).putHeader("content-type", "text/event-stream").putHeader("cache-control", "no-cache");
    res.write(": meridian controller events\n\n");
    Runnable cancel = role.subscribeEvents(e -> {
      if (!res.ended() && !res.closed()) {
        res.write("event: " + e.getString("type") + "\ndata: " + e.encode() + "\n\n");
      }
    });
    res.closeHandler(v -> cancel.run());
  }

  private void mutate(RoutingContext rc, Action action, String target) {
    AdminAuth.Principal p = rc.get(PRINCIPAL);
    JsonObject body;
    try {
      body = rc.body().length() == 0 ? new JsonObject() : rc.body().asJsonObject();
      if (body == null) {
        body = new JsonObject();
      }
    } catch (DecodeException | ClassCastException e) {
      refuse(rc, Refusal.INVALID_REQUEST.with("body: not a JSON object (" + e.getMessage() + ")"));
      return;
    }
    boolean dryRun = "true".equalsIgnoreCase(rc.queryParams().get("dry_run")) || body.getBoolean("dry_run", false);
    String key = rc.request().getHeader("Idempotency-Key");
    JsonObject req = body;
    role.onLane(() -> execute(p, action, target, req, dryRun, key)).onComplete(ar -> {
      if (ar.failed()) {
        if (ar.cause() instanceof Refusal.Exception r) {
          role.metrics().mutations.labelValues(action.name().toLowerCase(), "refused").inc();
          refuse(rc, r);
        } else {
          LOG.error("{} {} failed", action, target, ar.cause());
          json(rc, 500, new JsonObject().put("error", "internal").put("message", String.valueOf(ar.cause())));
        }
        return;
      }
      JsonObject out = ar.result();
      if (out.getBoolean("replayed", false)) {
        rc.response().putHeader("Idempotent-Replayed", "true");
      }
      json(rc, 200, out);
      if (out.getBoolean("applied", false)) {
        role.scheduleEvaluation();
      }
    });
  }

  /** Runs on the lane: validates, judges, previews and (unless a dry run) persists one mutation. */
  private JsonObject execute(AdminAuth.Principal p, Action action, String target, JsonObject body, boolean dryRun,
      String key) throws IOException {
    ControllerEngine engine = role.engine();
    AdminState admin = engine.admin();
    Instant now = role.clock().instant();
    if (key != null && (key.isEmpty() || key.length() > MAX_IDEMPOTENCY_KEY)) {
      throw Refusal.INVALID_REQUEST.with("Idempotency-Key: " + key.length() + " characters (expected: 1 to "
          + MAX_IDEMPOTENCY_KEY + ")");
    }
    JsonObject answered = dryRun ? null : admin.idempotentResponse(key, now);
    if (answered != null) {
      role.metrics().mutations.labelValues(action.name().toLowerCase(), "replayed").inc();
      return answered.copy().put("replayed", true);
    }
    String reason = body.getValue("reason") instanceof String s ? s.trim() : "";
    if (reason.isEmpty()) {
      throw Refusal.INVALID_REQUEST.with("reason: required (why this change is made; it goes to the audit log)");
    }
    text("reason", reason);
    boolean force = body.getBoolean("force", false);
    if (force && !p.may(AdminConfig.Role.ADMIN)) {
      throw Refusal.FORCE_REQUIRES_ADMIN.with("force: token '" + p.name() + "' has role "
          + p.role().name().toLowerCase() + "; forcing past safety rules needs admin");
    }
    Instant expiresAt = null;
    String expiresIn = body.getString("expires_in");
    if (expiresIn != null) {
      Duration d = ConfigNode.parseDuration(expiresIn);
      if (d == null || d.isZero() || d.isNegative()) {
        throw Refusal.INVALID_REQUEST.with("expires_in: '" + expiresIn + "' (expected: a duration like 30m or 2h)");
      }
      try {
        expiresAt = now.plus(d);
      } catch (java.time.DateTimeException | ArithmeticException e) {
        throw Refusal.INVALID_REQUEST.with("expires_in: '" + expiresIn + "' ends after " + Instant.MAX
            + " (expected: a duration like 30m or 2h)");
      }
    }
    var cfg = role.config();
    AdminState candidate = admin;
    JsonArray homesMoving = new JsonArray();
    switch (action) {
      case DRAIN, FAIL -> {
        region(target);
        AdminState.Mode mode = action == Action.DRAIN ? AdminState.Mode.DRAIN : AdminState.Mode.FAIL;
        candidate = admin.withRegion(target,
            new AdminState.RegionOverride(mode, force, reason, p.name(), now, expiresAt));
      }
      case UNDRAIN, RESTORE -> {
        region(target);
        AdminState.RegionOverride o = admin.regions().get(target);
        AdminState.Mode expected = action == Action.UNDRAIN ? AdminState.Mode.DRAIN : AdminState.Mode.FAIL;
        if (o == null || o.mode() != expected) {
          throw Refusal.CONFLICT.with(target + " is not " + (expected == AdminState.Mode.DRAIN ? "drained" : "failed")
              + " by an operator (override: " + (o == null ? "none" : o.mode().name().toLowerCase()) + ")");
        }
        candidate = admin.withRegion(target, null);
      }
      case PROMOTE -> {
        RegionConfig home = region(target);
        String to = body.getString("to", cfg.controller().successors().get(target));
        if (to == null) {
          throw Refusal.INVALID_REQUEST.with("to: required (no successor configured for " + target
              + " in controller.successors)");
        }
        RegionConfig succ = region(to);
        if (!succ.residencyGroup().equals(home.residencyGroup())) {
          throw Refusal.RESIDENCY_VIOLATION.with("promote " + to + " for " + target + ": " + to
              + " is in residency group '" + succ.residencyGroup() + "', " + target + " in '"
              + home.residencyGroup() + "'");
        }
        if (!engine.health(to, now).serves() || admin.regions().containsKey(to)) {
          throw Refusal.RESIDENCY_VIOLATION.with("promote " + to + " for " + target + ": " + to
              + " is itself failed or taken out");
        }
        Map<String, String> pr = new LinkedHashMap<>(admin.promotions());
        pr.put(target, to);
        Set<String> f = new LinkedHashSet<>(admin.fenced());
        f.add(target);
        candidate = admin.withHomes(pr, f);
        long lag = engine.replicationLag(target, to, now);
        homesMoving.add(new JsonObject().put("home", target).put("from", target).put("to", to)
            .put("replication_lag", lag < 0 ? null : lag)
            .put("data_loss_risk", lag < 0 ? "unknown: no replication watermarks reported"
                : lag == 0 ? "none: successor has applied every write reported" : lag + " writes not yet applied"));
      }
      case UNPROMOTE -> {
        region(target);
        String acting = admin.promotions().get(target);
        if (acting == null && !admin.fenced().contains(target)) {
          throw Refusal.CONFLICT.with(target + " is not promoted away or fenced");
        }
        Map<String, String> pr = new LinkedHashMap<>(admin.promotions());
        pr.remove(target);
        Set<String> f = new LinkedHashSet<>(admin.fenced());
        f.remove(target);
        candidate = admin.withHomes(pr, f);
        if (acting != null) {
          long lag = engine.replicationLag(acting, target, now);
          homesMoving.add(new JsonObject().put("home", target).put("from", acting).put("to", target)
              .put("replication_lag", lag < 0 ? null : lag));
        }
      }
      case PIN -> {
        if (Zones.parse(target) == Zones.UNKNOWN) {
          throw Refusal.NOT_FOUND.with("zone: '" + target + "' (expected: a 1° cell id like 50N8E)");
        }
        JsonObject w = body.getJsonObject("weights");
        if (w == null || w.isEmpty()) {
          throw Refusal.INVALID_REQUEST.with("weights: required, e.g. {\"eu-west\": 1} to pin or"
              + " {\"eu-west\": 3, \"eu-central\": 1} to split");
        }
        Map<String, Double> weights = new LinkedHashMap<>();
        double total = 0;
        for (String r : w.fieldNames()) {
          region(r);
          Object v = w.getValue(r);
          // 1e309 parses as Infinity: once acknowledged, stored as "Infinity" and every later start failed
          if (!(v instanceof Number n) || !Double.isFinite(n.doubleValue()) || n.doubleValue() <= 0) {
            throw Refusal.INVALID_REQUEST.with("weights." + r + ": " + v + " (expected: a finite number > 0)");
          }
          weights.put(r, n.doubleValue());
          total += n.doubleValue();
        }
        if (!Double.isFinite(total)) { // the planner divides by the total
          throw Refusal.INVALID_REQUEST.with("weights: total " + total + " of " + weights.values()
              + " (expected: weights whose sum is a finite number)");
        }
        candidate = admin.withPin(target, new AdminState.ZonePin(target, weights, reason, p.name(), expiresAt));
      }
      case UNPIN -> {
        if (!admin.pins().containsKey(target)) {
          throw Refusal.CONFLICT.with("zone " + target + " is not pinned");
        }
        candidate = admin.withPin(target, null);
      }
      case FREEZE -> candidate = admin.withFrozen(new AdminState.Freeze(reason, p.name(), now, expiresAt));
      case UNFREEZE -> {
        if (admin.frozen() == null) {
          throw Refusal.CONFLICT.with("automation is not frozen");
        }
        candidate = admin.withFrozen(null);
      }
      default -> throw new IllegalStateException(action.name());
    }
    ControllerEngine.Built before = engine.target(admin, now);
    ControllerEngine.Built after = engine.target(candidate, now);
    judge(admin, candidate, before, after, force, target);
    RoutingPlan current = role.bus().currentPlan();
    RoutingPlan predicted = engine.asPlan(after, current, "predicted after " + action.name().toLowerCase() + " "
        + target + ": " + reason, now);
    JsonObject response = new JsonObject().put("action", action.name().toLowerCase()).put("target", target)
        .put("reason", reason).put("by", p.name()).put("force", force).put("dry_run", dryRun)
        .put("applied", !dryRun).put("predicted", predictedJson(after, homesMoving));
    if (dryRun) {
      role.metrics().mutations.labelValues(action.name().toLowerCase(), "dry_run").inc();
      return response.put("plan", PlanJson.toJson(predicted));
    }
    response.put("revision", admin.revision() + 1);
    AdminState next = candidate.nextRevision(key, key == null ? null : storedAnswer(response, now));
    // the command and its effect, not copies of the plans: their versions are enough for /v1/plan/diff, and
    // whole plans in every entry made 2,226 commands a 1.08 GB journal
    JsonObject entry = new JsonObject().put("seq", next.revision()).put("at", now.toString()).put("who", p.name())
        .put("role", p.role().name().toLowerCase()).put("action", action.name().toLowerCase()).put("target", target)
        .put("reason", reason).put("force", force).put("idempotency_key", key)
        .put("plan_version_before", current.version()).put("plan_version_after", predicted.version());
    StateStore s = store;
    if (s == null) {
      throw Refusal.STATE_STORE_UNAVAILABLE.with(action.name().toLowerCase() + " " + target + " was not applied:"
          + " the controller has not read operators' state yet (its state store is unreachable)");
    }
    try {
      s.append(entry, next); // durable before we answer
    } catch (IOException e) {
      throw Refusal.STATE_STORE_UNAVAILABLE.with(action.name().toLowerCase() + " " + target + " was not applied: "
          + e.getMessage());
    } catch (IllegalArgumentException e) {
      throw Refusal.INVALID_REQUEST.with(action.name().toLowerCase() + " " + target + " cannot be stored exactly: "
          + e.getMessage());
    }
    engine.setAdmin(next);
    role.metrics().mutations.labelValues(action.name().toLowerCase(), "applied").inc();
    role.emit(ControllerEngine.event(now, "admin_" + action.name().toLowerCase(), target, p.name() + ": "
        + action.name().toLowerCase() + " " + target + (force ? " (forced)" : "") + ": " + reason));
    return response;
  }

  /**
   * What a retry with the same Idempotency-Key gets: the answer without the per-region prediction (kept for up
   * to 1,000 keys, it would make the snapshot megabytes; the current numbers are in {@code GET /v1/regions}),
   * with the time it was given, which bounds the replay window ({@link AdminState#IDEMPOTENCY_WINDOW}).
   */
  private static JsonObject storedAnswer(JsonObject response, Instant now) {
    JsonObject stored = response.copy().put("at", now.toString());
    JsonObject predicted = stored.getJsonObject("predicted");
    if (predicted != null) {
      predicted.remove("regions");
    }
    return stored;
  }

  /** Free text that goes to the journal: bounded, and only characters that encode and decode exactly. */
  private static void text(String field, String value) {
    if (value.length() > MAX_TEXT) {
      throw Refusal.INVALID_REQUEST.with(field + ": " + value.length() + " characters (expected: at most " + MAX_TEXT
          + ")");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw Refusal.INVALID_REQUEST.with(String.format("%s: unpaired surrogate \\u%04x at index %d (expected:"
            + " valid Unicode text)", field, (int) c, i));
      }
    }
  }

  /** The safety rules. Each refusal names its rule and the numbers behind it. */
  private void judge(AdminState admin, AdminState candidate, ControllerEngine.Built before,
      ControllerEngine.Built after, boolean force, String target) {
    Map<String, Integer> servingBefore = serving(before);
    Map<String, Integer> servingAfter = serving(after);
    for (Map.Entry<String, Integer> e : servingBefore.entrySet()) {
      if (e.getValue() > 0 && servingAfter.getOrDefault(e.getKey(), 0) == 0) {
        throw Refusal.RESIDENCY_GROUP_EMPTY.with("residency group '" + e.getKey() + "' would have 0 active regions"
            + " (now " + e.getValue() + "); " + target + " is its last. Not overridable by force.");
      }
    }
    int max = role.config().controller().maxConcurrentDrains();
    if (!force && candidate.regions().size() > max && candidate.regions().size() > admin.regions().size()) {
      throw Refusal.TOO_MANY_DRAINS.with(candidate.regions().size() + " regions would be drained or failed by"
          + " operators " + candidate.regions().keySet() + "; controller.max_concurrent_drains is " + max);
    }
    if (!force && after.shortfall > before.shortfall + 0.5) {
      StringBuilder full = new StringBuilder();
      for (int i = 0; i < after.states.size(); i++) {
        RegionState r = after.states.get(i);
        double lim = after.limits[i];
        if (lim > 0 && r.loadRps() >= lim - 0.5) {
          full.append(String.format(" %s at %.0f of %.0f rps (%.0f%% of capacity %.0f);", r.id(), r.loadRps(),
              lim, 100 * r.loadRps() / r.capacityRps(), r.capacityRps()));
        }
      }
      throw Refusal.CAPACITY_EXCEEDED.with(String.format("%.1f rps would find no region within headroom"
          + " (shortfall %.1f -> %.1f rps; headroom %.0f%%):%s use force (admin) to accept shedding",
          after.shortfall - before.shortfall, before.shortfall, after.shortfall,
          role.config().controller().headroom() * 100, full));
    }
  }

  private static Map<String, Integer> serving(ControllerEngine.Built b) {
    Map<String, Integer> out = new LinkedHashMap<>();
    for (RegionState r : b.states) {
      out.merge(r.residencyGroup(), r.lifecycle().takesTraffic() && r.health().serves() ? 1 : 0, Integer::sum);
    }
    return out;
  }

  private JsonObject predictedJson(ControllerEngine.Built b, JsonArray homesMoving) {
    JsonArray regions = new JsonArray();
    for (int i = 0; i < b.states.size(); i++) {
      RegionState r = b.states.get(i);
      regions.add(new JsonObject().put("id", r.id()).put("lifecycle", r.lifecycle().name())
          .put("predicted_load_rps", r.loadRps()).put("limit_rps", b.limits[i]).put("capacity_rps", r.capacityRps())
          .put("predicted_utilisation", r.capacityRps() > 0 ? r.loadRps() / r.capacityRps() : 0));
    }
    return new JsonObject().put("regions", regions).put("shortfall_rps", b.shortfall)
        .put("homes_moving", homesMoving);
  }

  private RegionConfig region(String id) {
    return role.config().region(id).orElseThrow(() -> Refusal.NOT_FOUND.with("region '" + id + "' (expected one of "
        + role.config().regions().stream().map(RegionConfig::id).toList() + ")"));
  }

  /** Automatic changes of operators' state (expiry, promotion) are journaled like operator ones. */
  void persistAutomatic(AdminState next, List<JsonObject> events) {
    StateStore s = store;
    if (s == null) {
      return;
    }
    try {
      s.append(new JsonObject().put("seq", next.revision()).put("at", role.clock().instant().toString())
          .put("who", "controller").put("action", "automatic").put("events", new JsonArray(events)), next);
    } catch (IOException | IllegalArgumentException e) {
      // the store journals the difference from its last durable state, so the next append that succeeds
      // carries this change too; only this entry's audit line is lost
      LOG.error("could not journal an automatic change; it holds in memory until the next change is journaled: {}",
          e.getMessage());
    }
  }

  void close() {
    StateStore s = store;
    if (s != null) {
      s.close();
    }
  }

  private static int parseInt(String s, int dflt) {
    try {
      return s == null ? dflt : Math.max(1, Math.min(1000, Integer.parseInt(s)));
    } catch (NumberFormatException e) {
      return dflt;
    }
  }

  private void refuse(RoutingContext rc, Refusal.Exception r) {
    role.metrics().refusals.labelValues(r.kind().label()).inc();
    json(rc, r.kind().status(), r.kind().body(r.getMessage()));
  }

  static void json(RoutingContext rc, int status, JsonObject body) {
    if (!rc.response().ended()) {
      rc.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encodePrettily());
    }
  }

  @SuppressWarnings("unused")
  private static boolean out(Lifecycle l) {
    return !l.takesTraffic();
  }
}
