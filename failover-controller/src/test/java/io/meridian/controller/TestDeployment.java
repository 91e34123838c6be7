package io.meridian.controller;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.ops.OpsEndpoints;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** A three-region deployment with a controller on an ephemeral admin port, driven by a {@link MutableClock}. */
final class TestDeployment implements AutoCloseable {
  static final String REGIONS = """
      regions:
        - id: us-east
          latitude: 39.0
          longitude: -77.5
          capacity_rps: 1000
          residency_group: us
          upstreams: [http://127.0.0.1:1]
          health_check: {url: http://127.0.0.1:1/health}
        - id: us-west
          latitude: 45.6
          longitude: -121.2
          capacity_rps: 1000
          residency_group: us
          upstreams: [http://127.0.0.1:1]
          health_check: {url: http://127.0.0.1:1/health}
        - id: us-central
          latitude: 41.3
          longitude: -95.9
          capacity_rps: 1000
          residency_group: us
          upstreams: [http://127.0.0.1:1]
          health_check: {url: http://127.0.0.1:1/health}
        - id: eu-west
          latitude: 53.3
          longitude: -6.3
          capacity_rps: 1000
          residency_group: eu
          upstreams: [http://127.0.0.1:1]
          health_check: {url: http://127.0.0.1:1/health}
      """;

  final Vertx vertx;
  final MeridianConfig config;
  final ControlBus bus;
  final MutableClock clock = new MutableClock(Instant.parse("2025-01-01T00:00:00Z"));
  volatile ControllerRole role;
  final List<RoutingPlan> plans = new CopyOnWriteArrayList<>();
  /** The client locator the launcher would share with the roles (config {@code geo}: nets overrides). */
  final io.meridian.core.geo.GeoLocator geo;
  private long sequence;

  TestDeployment(Vertx vertx, Path stateDir, String controllerYaml, String extraYaml) throws Exception {
    this(vertx, stateDir, controllerYaml, extraYaml, REGIONS);
  }

  /** {@link #REGIONS} with a DNS address per region (192.0.2.1, .2, ...), for configs with geo names. */
  static String regionsWithDns() {
    StringBuilder b = new StringBuilder();
    int n = 0;
    for (String line : REGIONS.split("\n", -1)) {
      b.append(line).append('\n');
      if (line.startsWith("  - id: ")) {
        b.append("    dns: {a: [192.0.2.").append(++n).append("]}\n");
      }
    }
    return b.toString();
  }

  TestDeployment(Vertx vertx, Path stateDir, String controllerYaml, String extraYaml, String regions)
      throws Exception {
    this.vertx = vertx;
    this.stateDir = stateDir;
    this.yaml = regions + "controller:\n  admin_listen: 127.0.0.1:PORT\n" + controllerYaml.indent(2)
        + "state_store:\n  path: " + stateDir.toAbsolutePath() + "\n" + extraYaml;
    this.config = parse(0);
    this.bus = ControlBus.inProcess(RoutingPlan.initial(config));
    bus.onPlan(plans::add);
    this.geo = io.meridian.core.geo.GeoLocator.open(vertx, config.geo());
    this.role = startRole(config);
  }

  private final Path stateDir;
  private final String yaml;

  private MeridianConfig parse(int port) throws Exception {
    return ConfigLoader.parse("test.yaml", yaml.replace("127.0.0.1:PORT", "127.0.0.1:" + port), stateDir,
        stateDir.resolve("test.yaml"));
  }

  private ControllerRole startRole(MeridianConfig c) throws Exception {
    ControllerRole r = ControllerRole.create(new RoleContext(vertx, c, bus, geo,
        OpsEndpoints.create(vertx, "controller")), clock);
    await(r.start());
    return r;
  }

  /** Stops the controller (its listener closes, its streams end); the bus and the state directory stay. */
  int stopController() throws Exception {
    int port = role.adminPort();
    await(role.stop());
    return port;
  }

  /** Starts a new controller on {@code port} with the same state directory and bus: a restart. */
  void startController(int port) throws Exception {
    role = startRole(parse(port));
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  /** Publishes one report per vantage point; {@code failed} regions FAILED, every other HEALTHY. */
  void report(List<String> vantagePoints, List<String> failed) {
    for (String vp : vantagePoints) {
      List<HealthReport.RegionReport> rs = new ArrayList<>();
      for (var r : config.regions()) {
        Health h = failed.contains(r.id()) ? Health.FAILED : Health.HEALTHY;
        rs.add(new HealthReport.RegionReport(r.id(), h, h == Health.FAILED ? 0 : 1, 1, clock.instant(), "test",
            Map.of()));
      }
      bus.publishHealth(new HealthReport(vp, ++sequence, clock.instant(), clock.instant().plus(Duration.ofHours(1)),
          rs));
    }
  }

  RoutingPlan evaluate() throws Exception {
    return await(role.evaluateNow());
  }

  /** One HTTP exchange with the admin API: status and JSON body. */
  record Reply(int status, io.vertx.core.json.JsonObject body, java.net.http.HttpHeaders headers) {}

  private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newHttpClient();

  Reply call(String method, String path, String token, String body, String idempotencyKey) throws Exception {
    var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(baseUrl() + path))
        .timeout(java.time.Duration.ofSeconds(20))
        .method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
            : java.net.http.HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (idempotencyKey != null) {
      b.header("Idempotency-Key", idempotencyKey);
    }
    var res = HTTP.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    String text = res.body();
    return new Reply(res.statusCode(), text.startsWith("{") ? new io.vertx.core.json.JsonObject(text)
        : new io.vertx.core.json.JsonObject().put("text", text), res.headers());
  }

  Reply post(String path, String token, String body) throws Exception {
    return call("POST", path, token, body, null);
  }

  /** Admin tokens: "viewer-token", "operator-token", "admin-token". */
  static String tokensYaml() {
    return "admin:\n  tokens:\n"
        + "    - {name: vic, role: viewer, sha256: " + sha("viewer-token") + "}\n"
        + "    - {name: olga, role: operator, sha256: " + sha("operator-token") + "}\n"
        + "    - {name: ada, role: admin, sha256: " + sha("admin-token") + "}\n";
  }

  static String sha(String s) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
          .digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  String baseUrl() {
    return "http://127.0.0.1:" + role.adminPort();
  }

  /**
   * Waits until {@code GET /v1/regions} carries every region's capacity readiness computed for the plan it shows
   * (readiness is computed on the controller's lane right after the evaluation that published the plan), and
   * returns that answer.
   */
  io.vertx.core.json.JsonObject awaitReadiness() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    io.vertx.core.json.JsonObject body;
    do {
      body = call("GET", "/v1/regions", "viewer-token", null, null).body();
      boolean all = true;
      for (Object o : body.getJsonArray("regions")) {
        var r = ((io.vertx.core.json.JsonObject) o).getJsonObject("readiness");
        all &= r != null && r.getLong("plan_version") == body.getLong("plan_version");
      }
      if (all) {
        return body;
      }
      Thread.sleep(20);
    } while (System.nanoTime() < deadline);
    throw new AssertionError("no readiness for plan v" + body.getLong("plan_version") + ": " + body.encodePrettily());
  }

  @Override
  public void close() throws Exception {
    await(role.stop());
    geo.close();
  }
}
