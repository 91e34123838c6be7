package io.meridian.controller.impl;

import io.meridian.config.AdminConfig;
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
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.StaticHandler;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's routes (vertx-web): an HTTP adapter. Reads need the viewer role, mutations operator. A
 * mutation's route, query, Idempotency-Key header and body become a {@link CommandRequest}; {@link Commands}
 * judges and applies it and the {@link Outcome} becomes the answer. Every refusal, including vertx-web's and
 * the HTTP codec's own (404, 405, 413, 414, 431), is a JSON {@link Refusal} body. The contract is
 * {@code /openapi.json}.
 */
final class AdminApi {
  private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
  private static final String PRINCIPAL = "meridian.principal";
  /** Largest body read: a mutation's is a few hundred bytes; a pin of every region a few KB. */
  static final int MAX_BODY = 64 * 1024;

  private final ControllerRoleImpl role;
  private final AdminAuth auth;
  /** The listener's address and TLS as bound at start: changing them needs a restart. */
  private final io.meridian.config.ListenAddress boundListen;
  private final AdminConfig.Tls boundTls;

  /**
   * The latest report of every vantage point and proxy as JSON, for {@code GET /v1/observations}: the console
   * shows health per vantage point and measured load, which the plan (a combined verdict, a planned load) does
   * not carry. Kept here, apart from the engine's {@link HealthView}, so reading them never touches the lane.
   */
  private final Map<String, JsonObject> healthReports = new ConcurrentHashMap<>();
  private final Map<String, JsonObject> trafficReports = new ConcurrentHashMap<>();
  /** The latest capacity readiness (key "controller"), sent on the observations stream as {@code readiness}. */
  private final Map<String, JsonObject> readinessReports = new ConcurrentHashMap<>();
  private final List<Consumer<JsonObject>> observers = new CopyOnWriteArrayList<>();

  private AdminApi(ControllerRoleImpl role) {
    this.role = role;
    role.bus().onHealth(r -> observe("health", r.vantagePoint(), healthReports,
        io.meridian.core.ReportJson.toJson(r)));
    // an empty traffic report is how a bus says its proxy is gone: it no longer measures anything
    role.bus().onTraffic(r -> observe("traffic", r.source(), trafficReports,
        r.isEmpty() ? null : io.meridian.core.ReportJson.toJson(r)));
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

  /** A new capacity readiness (from the lane): kept for new observers and sent to the current ones. */
  void readiness(JsonObject r) {
    observe("readiness", "controller", readinessReports, r);
  }

  private void observe(String type, String source, Map<String, JsonObject> latest, JsonObject report) {
    if (report == null) {
      latest.remove(source);
    } else {
      latest.put(source, report);
    }
    JsonObject event = new JsonObject().put("type", type).put("source", source).put("report", report);
    observers.forEach(o -> o.accept(event));
  }

  void mount(Router router) {
    router.get("/openapi.json").handler(this::openapi);
    // The console: static files from the jar (classpath console/). They are public like /openapi.json; every
    // piece of data the page shows comes from /v1/* with the operator's bearer token.
    // vertx-web's "/console" also matches "/console/": redirect only the bare path, or the redirect loops
    router.get("/console").handler(rc -> {
      if (rc.request().path().equals("/console")) {
        rc.redirect("/console/");
      } else {
        rc.next();
      }
    });
    router.get("/console/*").handler(StaticHandler.create("console").setIndexPage("index.html")
        .setDirectoryListing(false));
    // no file uploads: BodyHandler would otherwise create a file-uploads/ directory wherever the process runs
    router.route("/v1/*").handler(BodyHandler.create(false).setBodyLimit(MAX_BODY));
    router.route("/v1/*").handler(this::authenticate);
    router.get("/v1/plan").handler(rc -> json(rc, 200, PlanJson.toJson(role.bus().currentPlan())));
    router.get("/v1/plan/explain").handler(this::explain);
    router.get("/v1/plan/diff").handler(this::diff);
    router.get("/v1/plan/flows").handler(this::flows);
    router.get("/v1/regions").handler(this::regions);
    router.get("/v1/audit").handler(this::audit);
    router.get("/v1/events").handler(this::events);
    router.get("/v1/observations").handler(this::observations);
    router.get("/v1/whoami").handler(rc -> {
      AdminAuth.Principal p = rc.get(PRINCIPAL);
      json(rc, 200, new JsonObject().put("name", p == null ? null : p.name())
          .put("role", p == null ? "admin" : p.role().name().toLowerCase()));
    });
    router.post("/v1/regions/:id/:action").handler(rc -> {
      String action = rc.pathParam("action");
      if (List.of("drain", "undrain", "fail", "restore").contains(action)) {
        mutate(rc, action, rc.pathParam("id"));
      } else {
        refuse(rc, Refusal.NOT_FOUND.at("action", action, "drain, undrain, fail or restore"));
      }
    });
    router.post("/v1/homes/:home/promote").handler(rc -> mutate(rc, "promote", rc.pathParam("home")));
    router.post("/v1/homes/:home/restore").handler(rc -> mutate(rc, "unpromote", rc.pathParam("home")));
    router.post("/v1/zones/:zone/pin").handler(rc -> mutate(rc, "pin", rc.pathParam("zone")));
    router.post("/v1/zones/:zone/unpin").handler(rc -> mutate(rc, "unpin", rc.pathParam("zone")));
    router.post("/v1/commands").handler(this::command);
    router.post("/v1/freeze").handler(rc -> mutate(rc, "freeze", "automation"));
    router.post("/v1/unfreeze").handler(rc -> mutate(rc, "unfreeze", "automation"));
    // vertx-web answers these with plain text or HTML by default; every refusal here is JSON with the field,
    // the value and the expectation
    router.errorHandler(400, rc -> refuse(rc, Refusal.INVALID_REQUEST.at("uri", rc.request().uri(),
        "a well-formed request (percent-encoding, UTF-8)")));
    router.errorHandler(404, rc -> refuse(rc, Refusal.NOT_FOUND.at("path", rc.request().path(),
        "a route of the admin API (GET /openapi.json lists them)")));
    router.errorHandler(405, rc -> refuse(rc, Refusal.METHOD_NOT_ALLOWED.at("method", rc.request().method().name(),
        "the method of " + rc.request().path() + " in GET /openapi.json (mutations are POST)")));
    router.errorHandler(413, rc -> {
      String length = rc.request().getHeader("Content-Length");
      refuse(rc, Refusal.BODY_TOO_LARGE.atDescribed("body", (length == null ? "more than " + MAX_BODY : length)
          + " bytes", "at most " + MAX_BODY + " bytes"));
    });
    router.errorHandler(500, rc -> {
      LOG.error("{} {} failed", rc.request().method(), rc.request().path(), rc.failure());
      json(rc, 500, new JsonObject().put("error", "internal").put("status", 500)
          .put("message", String.valueOf(rc.failure())));
    });
  }

  /**
   * Requests the HTTP codec rejects before any route sees them (a request line over 4,096 bytes: 414; headers
   * over 8,192 bytes: 431; otherwise malformed: 400). Vert.x's default answers with an empty body; this one with
   * the same JSON refusal as every route. The connection is closed after the answer: the codec has lost its
   * place in the byte stream (RFC 9112 section 9.6 lets a server close after an error).
   */
  static void invalidRequest(io.vertx.core.http.HttpServerRequest req) {
    Throwable cause = req.decoderResult().cause();
    String why = cause == null ? "" : String.valueOf(cause.getMessage());
    Refusal.Exception r;
    if (why.startsWith("An HTTP line is larger than")) {
      r = Refusal.URI_TOO_LONG.atDescribed("uri", "request line longer than " + MAX_REQUEST_LINE + " bytes",
          "a request line of at most " + MAX_REQUEST_LINE + " bytes");
    } else if (why.startsWith("HTTP header is larger than")) {
      r = Refusal.HEADERS_TOO_LARGE.atDescribed("headers", "more than " + MAX_HEADERS + " bytes",
          "request headers of at most " + MAX_HEADERS + " bytes");
    } else {
      r = Refusal.INVALID_REQUEST.atDescribed("request", "not valid HTTP/1.1 (" + why + ")",
          "an HTTP/1.1 request (RFC 9112)");
    }
    req.response().setStatusCode(r.kind().status()).putHeader("content-type", "application/json")
        .putHeader("connection", "close").end(r.body().encodePrettily());
  }

  /** The HTTP codec's limits (Netty's defaults, named so the refusals can quote them). */
  static final int MAX_REQUEST_LINE = 4096;
  static final int MAX_HEADERS = 8192;

  private void authenticate(RoutingContext rc) {
    AdminAuth.Principal p = auth.authenticate(rc.request().getHeader("Authorization"));
    if (p == null) {
      role.metrics().authFailures.labelValues("401").inc();
      rc.response().putHeader("WWW-Authenticate", "Bearer realm=\"meridian\"");
      // the token itself is never echoed
      String given = rc.request().getHeader("Authorization") == null ? "missing" : "a token not in admin.tokens";
      refuse(rc, new Refusal.Exception(Refusal.UNAUTHENTICATED, "missing or unknown bearer token (Authorization:"
          + " Bearer <token>)", "Authorization", given, "Bearer <token> for a token whose SHA-256 is in admin.tokens"));
      return;
    }
    AdminConfig.Role needed = rc.request().method().name().equals("GET") ? AdminConfig.Role.VIEWER
        : AdminConfig.Role.OPERATOR;
    if (!p.may(needed)) {
      role.metrics().authFailures.labelValues("403").inc();
      refuse(rc, new Refusal.Exception(Refusal.FORBIDDEN, "token '" + p.name() + "' has role "
          + p.role().name().toLowerCase() + "; " + rc.request().method() + " " + rc.request().path() + " needs "
          + needed.name().toLowerCase(), "Authorization", "token '" + p.name() + "' (role "
          + p.role().name().toLowerCase() + ")", "a token with role " + needed.name().toLowerCase() + " or above"));
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
    String client = rc.queryParams().get("client");
    if (client != null) {
      if (rc.queryParams().contains("zone")) {
        refuse(rc, Refusal.INVALID_REQUEST.at("zone", rc.queryParams().get("zone"), "zone or client, not both"));
        return;
      }
      ClientExplain.Client c;
      try {
        c = ClientExplain.parse(client);
      } catch (Refusal.Exception r) {
        refuse(rc, r);
        return;
      }
      role.onLane(() -> {
        RoutingPlan plan = role.bus().currentPlan();
        var geo = role.geo();
        var where = geo == null ? null : geo.locate(c.address());
        var result = role.engine().lastResult();
        List<String> lines = result == null || where == null ? List.of() : result.explain(where.zone());
        return ClientExplain.explain(c, geo, plan, role.config(), lines);
      }).onSuccess(j -> json(rc, 200, j)).onFailure(rc::fail);
      return;
    }
    String zoneId = rc.queryParams().get("zone");
    int zone = zoneId == null ? Zones.UNKNOWN : Zones.parse(zoneId);
    if (zone == Zones.UNKNOWN) {
      refuse(rc, Refusal.INVALID_REQUEST.with("zone: '" + zoneId + "' (expected: a 1° cell id like 50N8E, or"
          + " client=IP[/prefix])"));
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

  /**
   * The last evaluation's planned flows, client zone → region, largest first (at most {@code limit}, default
   * 500): what the console draws on its map. The plan's routes are these flows as weights.
   */
  private void flows(RoutingContext rc) {
    int limit = parseInt(rc.queryParams().get("limit"), 500, 10_000);
    List<ControllerEngine.Flow> all = role.engine().flows();
    List<ControllerEngine.Flow> top = all.stream()
        .sorted(java.util.Comparator.comparingDouble(ControllerEngine.Flow::rps).reversed()).limit(limit).toList();
    JsonArray out = new JsonArray();
    double total = 0;
    for (ControllerEngine.Flow f : all) {
      total += f.rps();
    }
    for (ControllerEngine.Flow f : top) {
      out.add(new JsonObject().put("zone", Zones.id(f.zone())).put("latitude", Zones.centerLatitude(f.zone()))
          .put("longitude", Zones.centerLongitude(f.zone())).put("region", f.region()).put("rps", f.rps())
          .put("pinned", f.pinned()));
    }
    json(rc, 200, new JsonObject().put("plan_version", role.bus().currentPlan().version())
        .put("total_rps", total).put("count", all.size()).put("flows", out));
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
    Readiness readiness = role.readiness();
    JsonArray out = new JsonArray();
    for (RegionState r : plan.regions()) {
      AdminState.RegionOverride o = admin.regions().get(r.id());
      out.add(PlanJson.regionJson(r)
          .put("utilisation", r.capacityRps() > 0 ? r.loadRps() / r.capacityRps() : 0)
          .put("limit_rps", r.capacityRps() * role.config().controller().headroom())
          .put("note", role.engine().note(r.id()))
          .put("override", o == null ? null : new JsonObject().put("mode", o.mode().name().toLowerCase())
              .put("reason", o.reason()).put("by", o.by()).put("force", o.force())
              .put("expires_at", o.expiresAt() == null ? null : o.expiresAt().toString()))
          .put("readiness", readiness == null || readiness.region(r.id()) == null ? null
              : Readiness.json(readiness.region(r.id()), readiness)));
    }
    JsonObject frozen = admin.frozen() == null ? null : new JsonObject().put("reason", admin.frozen().reason())
        .put("by", admin.frozen().by());
    JsonObject promotions = new JsonObject();
    plan.homes().promotions().forEach(promotions::put);
    JsonObject successors = new JsonObject();
    role.config().controller().successors().forEach(successors::put);
    JsonObject homes = new JsonObject().put("promotions", promotions)
        .put("fenced", new JsonArray(plan.homes().fenced().stream().sorted().toList()));
    json(rc, 200, new JsonObject().put("plan_version", plan.version()).put("shortfall_rps", plan.shortfallRps())
        .put("frozen", frozen).put("controller", role.leadership()).put("homes", homes)
        .put("successors", successors).put("regions", out));
  }

  private void audit(RoutingContext rc) {
    int limit = parseInt(rc.queryParams().get("limit"), 50);
    StateStore s = role.store();
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

  /**
   * Server-sent events of what the controller observes: first the latest health report of every vantage point
   * and traffic report of every proxy, then each new one ({@code event: health|traffic}, data {@code {type,
   * source, report}}; {@code report} null when a proxy is gone).
   */
  private void observations(RoutingContext rc) {
    HttpServerResponse res = rc.response();
    res.setChunked(true).putHeader("content-type", "text/event-stream").putHeader("cache-control", "no-cache");
    res.write(": meridian controller observations\n\n");
    Consumer<JsonObject> send = e -> {
      if (!res.ended() && !res.closed()) {
        res.write("event: " + e.getString("type") + "\ndata: " + e.encode() + "\n\n");
      }
    };
    healthReports.forEach((k, v) -> send.accept(new JsonObject().put("type", "health").put("source", k)
        .put("report", v)));
    trafficReports.forEach((k, v) -> send.accept(new JsonObject().put("type", "traffic").put("source", k)
        .put("report", v)));
    readinessReports.forEach((k, v) -> send.accept(new JsonObject().put("type", "readiness").put("source", k)
        .put("report", v)));
    observers.add(send);
    res.closeHandler(v -> observers.remove(send));
  }

  /**
   * The HTTP side of a mutation: the route, query, Idempotency-Key and body become a {@link CommandRequest}
   * (refused here with 400 if they do not make one); {@link Commands} judges and applies it.
   */
  private void mutate(RoutingContext rc, String action, String target) {
    CommandRequest request;
    try {
      request = request(rc, action, target);
    } catch (Refusal.Exception r) {
      role.metrics().mutations.labelValues(action, "refused").inc();
      refuse(rc, r);
      return;
    }
    ((CommandsImpl) role.commands()).submit(request, rc.request().getHeader("Authorization"), 0).onComplete(ar -> {
      if (ar.failed()) {
        json(rc, 500, new JsonObject().put("error", "internal").put("status", 500)
            .put("message", String.valueOf(ar.cause())));
        return;
      }
      Outcome o = ar.result();
      if (o instanceof Outcome.Applied a && a.replayed()) {
        rc.response().putHeader("Idempotent-Replayed", "true");
      }
      json(rc, o.status(), o.body());
    });
  }

  /**
   * {@code POST /v1/commands}: a {@link CommandRequest} as JSON in, its {@link Outcome} as JSON out (with the
   * outcome's status). What a follower forwards to the leader; scripts may use it too. The issuer is the caller's
   * token, whatever the body says: a forwarding controller hands on the caller's token, not its own authority.
   */
  private void command(RoutingContext rc) {
    CommandRequest request;
    try {
      if (!rc.queryParams().isEmpty()) {
        throw Refusal.INVALID_REQUEST.at(rc.queryParams().names().iterator().next(), null,
            "no query parameters; dry_run goes in the body");
      }
      JsonObject j = body(rc);
      for (String f : j.fieldNames()) {
        if (!List.of("command", "issuer", "dry_run", "idempotency_key").contains(f)) {
          throw Refusal.INVALID_REQUEST.at(f, j.getValue(f), "no field '" + f + "'; a command request has command,"
              + " dry_run and idempotency_key (issuer is taken from the token)");
        }
      }
      if (!(j.getValue("command") instanceof JsonObject c)) {
        throw Refusal.INVALID_REQUEST.at("command", j.getValue("command"), "an object with action, target and the"
            + " action's fields");
      }
      Object dry = j.getValue("dry_run", false);
      if (!(dry instanceof Boolean d)) {
        throw Refusal.INVALID_REQUEST.at("dry_run", dry, "true or false");
      }
      Object key = j.getValue("idempotency_key");
      if (key != null && !(key instanceof String)) {
        throw Refusal.INVALID_REQUEST.at("idempotency_key", key, "a string");
      }
      String header = rc.request().getHeader("Idempotency-Key");
      if (header != null && !header.equals(key)) {
        throw Refusal.INVALID_REQUEST.at("Idempotency-Key", header, "the same as the body's idempotency_key ("
            + key + ")");
      }
      AdminAuth.Principal p = rc.get(PRINCIPAL);
      request = new CommandRequest(Command.fromJson(c), new CommandRequest.Issuer(p.name(), p.role()), d,
          (String) key);
    } catch (Refusal.Exception r) {
      refuse(rc, r);
      return;
    }
    int hops = (int) Math.max(0, Math.min(Forwarder.MAX_HOPS, parseLong(rc.request().getHeader(Forwarder.HOPS), 0)));
    String from = rc.request().getHeader(Forwarder.FORWARDED_BY);
    if (from != null) {
      LOG.info("{} {} forwarded by {}", request.command().action(), request.command().target(), from);
    }
    ((CommandsImpl) role.commands()).submit(request, rc.request().getHeader("Authorization"), hops)
        .onComplete(ar -> {
          if (ar.failed()) {
            json(rc, 500, new JsonObject().put("error", "internal").put("status", 500)
                .put("message", String.valueOf(ar.cause())));
            return;
          }
          json(rc, ar.result().status(), ar.result().toJson());
        });
  }

  private static CommandRequest request(RoutingContext rc, String action, String target) {
    boolean dryRun = false;
    for (String name : rc.queryParams().names()) {
      List<String> values = rc.queryParams().getAll(name);
      if (!name.equals("dry_run")) {
        throw Refusal.INVALID_REQUEST.at(name, String.join(",", values), "no query parameter '" + name
            + "'; a mutation takes only dry_run=true or dry_run=false");
      }
      // anything but true/false once: "?dry_run=banana" used to apply the change for real
      if (values.size() != 1 || !(values.get(0).equals("true") || values.get(0).equals("false"))) {
        throw Refusal.INVALID_REQUEST.at("dry_run", String.join(",", values), "true or false, given once");
      }
      dryRun = values.get(0).equals("true");
    }
    List<String> keys = rc.request().headers().getAll("Idempotency-Key");
    if (keys.size() > 1) {
      throw Refusal.INVALID_REQUEST.at("Idempotency-Key", String.join(",", keys), "one Idempotency-Key header");
    }
    JsonObject body = body(rc);
    if (body.containsKey("dry_run")) {
      Object d = body.remove("dry_run");
      if (!(d instanceof Boolean b)) {
        throw Refusal.INVALID_REQUEST.at("dry_run", d, "true or false");
      }
      if (rc.queryParams().contains("dry_run") && b != dryRun) {
        throw Refusal.INVALID_REQUEST.at("dry_run", b, "the same as ?dry_run=" + dryRun + " (or only one of them)");
      }
      dryRun = b;
    }
    Command command = Command.parse(action, target, body);
    AdminAuth.Principal p = rc.get(PRINCIPAL);
    return new CommandRequest(command, new CommandRequest.Issuer(p.name(), p.role()), dryRun,
        keys.isEmpty() ? null : keys.get(0));
  }

  private static JsonObject body(RoutingContext rc) {
    Buffer raw = rc.body().buffer();
    if (raw == null || raw.length() == 0) {
      return new JsonObject();
    }
    Object v;
    try {
      v = Json.decodeValue(raw);
    } catch (DecodeException e) {
      String why = String.valueOf(e.getMessage());
      int cut = why.indexOf('\n');
      throw Refusal.INVALID_REQUEST.atDescribed("body", "not JSON (" + (cut > 0 ? why.substring(0, cut) : why) + ")",
          "a JSON object such as {\"reason\": \"...\"}");
    }
    if (!(v instanceof JsonObject o)) {
      throw Refusal.INVALID_REQUEST.atDescribed("body", v == null ? "null" : "a JSON "
          + (v instanceof JsonArray ? "array" : v instanceof String ? "string" : v instanceof Boolean ? "boolean"
          : "number"), "a JSON object such as {\"reason\": \"...\"}");
    }
    return o;
  }

  private static int parseInt(String s, int dflt) {
    return parseInt(s, dflt, 1000);
  }

  private static int parseInt(String s, int dflt, int max) {
    try {
      return s == null ? dflt : Math.max(1, Math.min(max, Integer.parseInt(s)));
    } catch (NumberFormatException e) {
      return dflt;
    }
  }

  private void refuse(RoutingContext rc, Refusal.Exception r) {
    role.metrics().refusals.labelValues(r.kind().label()).inc();
    json(rc, r.kind().status(), r.body());
  }

  static void json(RoutingContext rc, int status, JsonObject body) {
    if (!rc.response().ended()) {
      rc.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encodePrettily());
    }
  }

}
