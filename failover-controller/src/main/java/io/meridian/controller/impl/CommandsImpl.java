package io.meridian.controller.impl;

import io.meridian.config.AdminConfig;
import io.meridian.config.RegionConfig;
import io.meridian.controller.AdminState;
import io.meridian.controller.Command;
import io.meridian.controller.CommandRequest;
import io.meridian.controller.Commands;
import io.meridian.controller.Outcome;
import io.meridian.controller.Refusal;
import io.meridian.controller.StateStore;
import io.meridian.core.PlanJson;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.Zones;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Commands} on the controller's worker lane: idempotency, existence checks, safety rules, preview,
 * journal, in that order, one command at a time. The admin API is one caller among others.
 */
final class CommandsImpl implements Commands {
  private static final Logger LOG = LoggerFactory.getLogger(CommandsImpl.class);
  /** The stored answer's binding of its key to the request (SHA-256 of issuer and command JSON). */
  private static final String REQUEST_HASH = "request_sha256";

  private final ControllerRoleImpl role;

  CommandsImpl(ControllerRoleImpl role) {
    this.role = role;
  }

  @Override
  public Future<Outcome> submit(CommandRequest request) {
    return submit(request, null, 0);
  }

  /**
   * {@link #submit(CommandRequest)} with what forwarding needs: the caller's Authorization header (handed on to
   * the leader as it is) and how many times the request was forwarded already.
   */
  Future<Outcome> submit(CommandRequest request, String authorization, int hops) {
    if (!role.leads()) {
      return forward(request, authorization, hops);
    }
    String action = request.command().action();
    return role.onLane(() -> execute(request)).recover(e -> {
      if (e instanceof io.meridian.etcd.NotLeaderException) {
        // deposed between the check and the write (the fence refused it): nothing was written; the leader decides
        return forward(request, authorization, hops);
      }
      if (e instanceof Refusal.Exception r) {
        role.metrics().mutations.labelValues(action, "refused").inc();
        role.metrics().refusals.labelValues(r.kind().label()).inc();
        return Future.succeededFuture(new Outcome.Refused(r));
      }
      LOG.error("{} {} failed", action, request.command().target(), e);
      return Future.failedFuture(e);
    }).onSuccess(o -> {
      if (o instanceof Outcome.Applied a && !a.replayed()) {
        role.scheduleEvaluation();
      }
    });
  }

  /**
   * A follower hands the command to the leader and relays its outcome; with no leader known (or none that
   * answers) it refuses with 503 no_leader and nothing is acknowledged: the caller retries with the same key.
   */
  private Future<Outcome> forward(CommandRequest request, String authorization, int hops) {
    var leader = role.leader();
    Forwarder f = role.forwarder();
    String action = request.command().action();
    String why;
    if (f == null || leader.isEmpty()) {
      why = "no controller leads now (an election is under way)";
    } else if (leader.get().id().equals(role.candidateId())) {
      why = "this controller was just elected and is still reading the state from etcd";
    } else if (leader.get().url() == null) {
      why = "the leader " + leader.get().id() + " advertises no admin URL";
    } else if (hops >= Forwarder.MAX_HOPS) {
      why = "forwarded " + hops + " times already; leadership is changing";
    } else {
      String url = leader.get().url();
      String id = leader.get().id();
      return f.forward(url, request, authorization, hops + 1).map(o -> {
        role.metrics().forwarded.labelValues("relayed").inc();
        LOG.info("{} {}: forwarded to the leader {} at {}: {} {}", action, request.command().target(), id, url,
            o.status(), o instanceof Outcome.Refused r ? r.rule().label() : "");
        return o;
      }).recover(e -> {
        role.metrics().forwarded.labelValues("unreachable").inc();
        return Future.succeededFuture(noLeader(action, request, "the leader " + id + " at " + url
            + " did not answer (" + e.getMessage() + ")"));
      });
    }
    role.metrics().forwarded.labelValues("no_leader").inc();
    return Future.succeededFuture(noLeader(action, request, why));
  }

  private Outcome noLeader(String action, CommandRequest request, String why) {
    role.metrics().mutations.labelValues(action, "refused").inc();
    role.metrics().refusals.labelValues(Refusal.NO_LEADER.label()).inc();
    return new Outcome.Refused(Refusal.NO_LEADER.with(action + " " + request.command().target()
        + " was not applied: " + why + "; retry (with the same Idempotency-Key it applies once)"));
  }

  /** Runs on the lane: replays, judges, previews and (unless a dry run) persists one command. */
  private Outcome execute(CommandRequest req) {
    if (!role.leads()) {
      throw new io.meridian.etcd.NotLeaderException("deposed before the command ran", role.leader().orElse(null));
    }
    ControllerEngine engine = role.engine();
    AdminState admin = engine.admin();
    Instant now = role.clock().instant();
    Command cmd = req.command();
    CommandRequest.Issuer by = req.issuer();
    String action = cmd.action();
    String target = cmd.target();
    String key = req.idempotencyKey();
    String hash = hash(by, cmd);
    JsonObject answered = req.dryRun() ? null : admin.idempotentResponse(key, now);
    if (answered != null) {
      if (!sameRequest(answered, hash, cmd)) {
        throw Refusal.IDEMPOTENCY_KEY_REUSED.at("Idempotency-Key", key, "a new key for a new request; this one"
            + " answered " + answered.getString("action") + " " + answered.getString("target") + " at "
            + answered.getString("at") + " (revision " + answered.getLong("revision") + ") with another"
            + " route, body or token");
      }
      role.metrics().mutations.labelValues(action, "replayed").inc();
      JsonObject replay = answered.copy().put("replayed", true);
      replay.remove(REQUEST_HASH);
      return new Outcome.Applied(replay, true);
    }
    boolean force = cmd.force();
    if (force && !by.may(AdminConfig.Role.ADMIN)) {
      throw Refusal.FORCE_REQUIRES_ADMIN.with("force: token '" + by.name() + "' has role "
          + by.role().name().toLowerCase() + "; forcing past safety rules needs admin");
    }
    String reason = cmd.reason();
    Instant expiresAt = cmd.expiresIn() == null ? null : now.plus(cmd.expiresIn()); // at most a year: no overflow
    var cfg = role.config();
    AdminState candidate;
    JsonArray homesMoving = new JsonArray();
    if (cmd instanceof Command.Drain) {
      region("region", target);
      candidate = admin.withRegion(target,
          new AdminState.RegionOverride(AdminState.Mode.DRAIN, force, reason, by.name(), now, expiresAt));
    } else if (cmd instanceof Command.Fail) {
      region("region", target);
      candidate = admin.withRegion(target,
          new AdminState.RegionOverride(AdminState.Mode.FAIL, force, reason, by.name(), now, expiresAt));
    } else if (cmd instanceof Command.Undrain) {
      candidate = clearOverride(admin, target, AdminState.Mode.DRAIN);
    } else if (cmd instanceof Command.Restore) {
      candidate = clearOverride(admin, target, AdminState.Mode.FAIL);
    } else if (cmd instanceof Command.Promote c) {
      RegionConfig home = region("home", target);
      String to = c.to() != null ? c.to() : cfg.controller().successors().get(target);
      if (to == null) {
        throw Refusal.INVALID_REQUEST.at("to", null, "a region of " + target + "'s residency group (no successor"
            + " configured for " + target + " in controller.successors)");
      }
      RegionConfig succ = region("to", to);
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
    } else if (cmd instanceof Command.Unpromote) {
      region("home", target);
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
    } else if (cmd instanceof Command.Pin c) {
      zone(target);
      for (String r : c.weights().keySet()) {
        region("weights." + r, r);
      }
      candidate = admin.withPin(target, new AdminState.ZonePin(target, c.weights(), reason, by.name(), expiresAt));
    } else if (cmd instanceof Command.Unpin) {
      zone(target);
      if (!admin.pins().containsKey(target)) {
        throw Refusal.CONFLICT.with("zone " + target + " is not pinned");
      }
      candidate = admin.withPin(target, null);
    } else if (cmd instanceof Command.Freeze) {
      candidate = admin.withFrozen(new AdminState.Freeze(reason, by.name(), now, expiresAt));
    } else if (cmd instanceof Command.Unfreeze) {
      if (admin.frozen() == null) {
        throw Refusal.CONFLICT.with("automation is not frozen");
      }
      candidate = admin.withFrozen(null);
    } else {
      throw new IllegalStateException(action);
    }
    ControllerEngine.Built before = engine.target(admin, now);
    ControllerEngine.Built after = engine.target(candidate, now);
    judge(admin, candidate, before, after, force, target);
    RoutingPlan current = role.bus().currentPlan();
    RoutingPlan predicted = engine.asPlan(after, current, "predicted after " + action + " " + target + ": " + reason,
        now);
    JsonObject response = new JsonObject().put("action", action).put("target", target)
        .put("reason", reason).put("by", by.name()).put("force", force).put("dry_run", req.dryRun())
        .put("applied", !req.dryRun()).put("predicted", predictedJson(after, homesMoving));
    if (req.dryRun()) {
      role.metrics().mutations.labelValues(action, "dry_run").inc();
      return new Outcome.Preview(response.put("plan", PlanJson.toJson(predicted)));
    }
    response.put("revision", admin.revision() + 1);
    AdminState next = candidate.nextRevision(key, key == null ? null : storedAnswer(response, now, hash));
    // the command and its effect, not copies of the plans: their versions are enough for /v1/plan/diff, and
    // whole plans in every entry made 2,226 commands a 1.08 GB journal
    JsonObject entry = new JsonObject().put("seq", next.revision()).put("at", now.toString()).put("who", by.name())
        .put("role", by.role().name().toLowerCase()).put("action", action).put("target", target)
        .put("reason", reason).put("force", force).put("idempotency_key", key)
        .put("plan_version_before", current.version()).put("plan_version_after", predicted.version());
    StateStore s = role.store();
    if (s == null) {
      throw Refusal.STATE_STORE_UNAVAILABLE.with(action + " " + target + " was not applied:"
          + " the controller has not read operators' state yet (its state store is unreachable)");
    }
    try {
      s.append(entry, next); // durable before we answer
    } catch (IOException e) {
      throw Refusal.STATE_STORE_UNAVAILABLE.with(action + " " + target + " was not applied: " + e.getMessage());
    } catch (IllegalArgumentException e) {
      throw Refusal.INVALID_REQUEST.with(action + " " + target + " cannot be stored exactly: " + e.getMessage());
    }
    engine.setAdmin(next);
    role.metrics().mutations.labelValues(action, "applied").inc();
    role.emit(ControllerEngine.event(now, "admin_" + action, target, by.name() + ": " + action + " " + target
        + (force ? " (forced)" : "") + ": " + reason));
    return new Outcome.Applied(response, false);
  }

  private AdminState clearOverride(AdminState admin, String target, AdminState.Mode expected) {
    region("region", target);
    AdminState.RegionOverride o = admin.regions().get(target);
    if (o == null || o.mode() != expected) {
      throw Refusal.CONFLICT.with(target + " is not " + (expected == AdminState.Mode.DRAIN ? "drained" : "failed")
          + " by an operator (override: " + (o == null ? "none" : o.mode().name().toLowerCase()) + ")");
    }
    return admin.withRegion(target, null);
  }

  /**
   * Binds an Idempotency-Key to its request: the issuer and the command (action, target, every field) hashed.
   * A retry must be the same request; anything else with the key is refused rather than answered with the
   * first command's outcome while the new one is dropped.
   */
  private static String hash(CommandRequest.Issuer by, Command cmd) {
    try {
      byte[] text = new JsonObject().put("by", by.name()).put("command", cmd.toJson()).encode()
          .getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Answers stored before requests were hashed carry no hash: then action, target and reason must match. */
  private static boolean sameRequest(JsonObject answered, String hash, Command cmd) {
    String stored = answered.getString(REQUEST_HASH);
    if (stored != null) {
      return stored.equals(hash);
    }
    return cmd.action().equals(answered.getString("action")) && cmd.target().equals(answered.getString("target"))
        && cmd.reason().equals(answered.getString("reason"));
  }

  /**
   * What a retry with the same Idempotency-Key gets: the answer without the per-region prediction (kept for up
   * to 1,000 keys, it would make the snapshot megabytes; the current numbers are in {@code GET /v1/regions}),
   * with the time it was given, which bounds the replay window ({@link AdminState#IDEMPOTENCY_WINDOW}), and the
   * request's hash that binds the key.
   */
  private static JsonObject storedAnswer(JsonObject response, Instant now, String hash) {
    JsonObject stored = response.copy().put("at", now.toString()).put(REQUEST_HASH, hash);
    JsonObject predicted = stored.getJsonObject("predicted");
    if (predicted != null) {
      predicted.remove("regions");
    }
    return stored;
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
    if (!force && ControllerEngine.overloads(before, after)) {
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

  private RegionConfig region(String field, String id) {
    List<String> ids = role.config().regions().stream().map(RegionConfig::id).toList();
    return role.config().region(id).orElseThrow(() -> {
      Refusal.Exception e = Refusal.NOT_FOUND.at(field, id, "one of " + ids);
      // "region 'x'" keeps the wording operators and scripts already match on
      return new Refusal.Exception(Refusal.NOT_FOUND, "region '" + id + "' (expected one of " + ids + ")",
          e.field(), e.value(), e.expected());
    });
  }

  private static void zone(String id) {
    if (Zones.parse(id) == Zones.UNKNOWN) {
      throw Refusal.NOT_FOUND.at("zone", id, "a 1° cell id like 50N8E");
    }
  }

  /** Automatic changes of operators' state (expiry, promotion) are journaled like operator ones. */
  void persistAutomatic(AdminState next, List<JsonObject> events) {
    StateStore s = role.store();
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
}
