package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.etcd.testing.EtcdServer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Control-plane state in a real etcd, with every role in its own {@code meridian run} process: a plan change made
 * by the controller reaches a separate DNS process (asked with dig); that DNS process keeps answering while etcd
 * is down, catches up when it is back, and serves its last-known-good plan from disk when it restarts while
 * etcd is down; a restarted controller resumes the plan version instead of starting again at 1.
 */
class EtcdMultiProcessTest {
  static final String NAME = "www.demo.meridian.test";
  static final String US = "198.51.100.0/24";
  static final String EU = "203.0.113.0/24";

  @TempDir
  Path dir;
  EtcdServer etcd;
  Vertx vertx;
  final List<DemoApp> apps = new ArrayList<>();
  final List<MeridianProcess> processes = new ArrayList<>();
  Demo.Ports ports;
  Path config;

  @BeforeEach
  void setUp() throws Exception {
    etcd = EtcdServer.start(dir.resolve("etcd"));
    vertx = Vertx.vertx();
    ports = Demo.Ports.ephemeral();
    for (String region : Demo.REGIONS) {
      DemoApp app = DemoApp.create(vertx, region, List.of());
      app.listen("127.0.0.1", ports.app(region)).await(10, TimeUnit.SECONDS);
      apps.add(app);
    }
    // The demo's layout with one residency group (so failing a region is allowed) and state in etcd.
    String yaml = Files.readString(Demo.writeConfig(dir.resolve("cfg"), ports), StandardCharsets.UTF_8)
        .replaceAll("residency_group: \\w+", "residency_group: global")
        // probes from a cold JVM on a loaded CI machine can take longer than the demo's 400 ms and fail every
        // region at start; this test is about plans crossing processes, not detection speed
        .replace("  interval: 500ms\n  timeout: 400ms\n", "  interval: 2s\n  timeout: 2s\n")
        .replace("state_store:\n  type: embedded\n  path: state",
            "state_store:\n  type: etcd\n  path: state\n  etcd:\n    endpoints: [" + etcd.endpoint() + "]\n"
                + "    prefix: /test/\n    lease_ttl: 2s\n    timeout: 1s");
    config = dir.resolve("cfg/meridian.yaml");
    Files.writeString(config, yaml);
  }

  @AfterEach
  void tearDown() throws Exception {
    for (MeridianProcess p : processes) {
      p.close();
    }
    for (DemoApp a : apps) {
      a.close().await(10, TimeUnit.SECONDS);
    }
    vertx.close().await(10, TimeUnit.SECONDS);
    etcd.close();
  }

  MeridianProcess run(String name, String... args) throws Exception {
    MeridianProcess p = MeridianProcess.start(config, dir.resolve(name + ".log"), args);
    processes.add(p);
    return p;
  }

  String dig(String subnet) {
    return Cli.digA(ports.dns(), NAME, subnet);
  }

  JsonObject admin(String method, String path) {
    Cli.Result r = Cli.run(List.of("curl", "-s", "-X", method, "--max-time", "5", "-H",
        "Authorization: Bearer " + Demo.ADMIN_TOKEN, "-H", "content-type: application/json",
        "-d", "{\"reason\":\"test\"}", "http://127.0.0.1:" + ports.admin() + path));
    return r.out().startsWith("{") ? new JsonObject(r.out()) : new JsonObject().put("raw", r.out());
  }

  JsonObject dnsPlanStatus() {
    Cli.Result r = Cli.run(List.of("curl", "-s", "--max-time", "3", "http://127.0.0.1:" + ports.dnsOps() + "/readyz"));
    JsonObject body = r.out().startsWith("{") ? new JsonObject(r.out()) : new JsonObject();
    for (Object o : body.getJsonArray("checks", new io.vertx.core.json.JsonArray())) {
      JsonObject c = (JsonObject) o;
      if ("plan".equals(c.getString("id"))) {
        return c.getJsonObject("data");
      }
    }
    return new JsonObject();
  }

  @Test
  void planChangesCrossProcessesAndTheDataPlaneSurvivesEtcdAndItsOwnRestarts() throws Exception {
    MeridianProcess control = run("control", "--roles", "controller,checker");
    MeridianProcess dns = run("dns", "--roles", "dns");
    awaitValue(() -> dig(US), "127.0.10.1", Duration.ofSeconds(60), dns);
    awaitValue(() -> dig(EU), "127.0.20.1", Duration.ofSeconds(30), dns);

    // A change made by the controller in another process reaches the DNS process through etcd.
    // The DNS process answers from the configuration's plan at once; the controller's JVM may still be starting
    // (its admin listener not bound, or its state not yet loaded from etcd: 503), so wait until it takes commands.
    awaitTrue(() -> admin("POST", "/v1/regions/us-east/fail").getBoolean("applied", false),
        Duration.ofSeconds(60), control);
    awaitValue(() -> dig(US), "127.0.20.1", Duration.ofSeconds(20), dns);
    long versionSeen = dnsPlanStatus().getLong("version", 0L);
    assertTrue(versionSeen > 1, "DNS reports the plan it serves: " + dnsPlanStatus());
    awaitValue(() -> dnsPlanStatus().getString("source", ""), "etcd", Duration.ofSeconds(30), dns);

    // etcd down: DNS keeps answering from the plan it has; readyz says so as a warning.
    etcd.stop(true);
    awaitTrue(() -> !dnsPlanStatus().getBoolean("connected", true), Duration.ofSeconds(20), dns);
    assertTrue(dnsPlanStatus().containsKey("warning"), dnsPlanStatus().encode());
    for (int i = 0; i < 5; i++) {
      assertEquals("127.0.20.1", dig(US), "DNS must keep answering while etcd is down");
    }
    // The operator's state lives in etcd: with etcd down a command is refused (503), never half-acknowledged.
    JsonObject refused = admin("POST", "/v1/regions/us-east/restore");
    assertEquals("state_store_unavailable", refused.getString("error"), refused.encode());
    assertEquals("127.0.20.1", dig(US), "no plan can arrive while etcd is down");
    etcd.restart();
    awaitTrue(() -> admin("POST", "/v1/regions/us-east/restore").getBoolean("applied", false),
        Duration.ofSeconds(30), control);
    awaitValue(() -> dig(US), "127.0.10.1", Duration.ofSeconds(40), dns);

    // Fail it again, then restart the DNS process while etcd is down: it serves its last-known-good plan.
    assertTrue(admin("POST", "/v1/regions/us-east/fail").getBoolean("applied", false));
    awaitValue(() -> dig(US), "127.0.20.1", Duration.ofSeconds(20), dns);
    long beforeRestart = dnsPlanStatus().getLong("version");
    etcd.stop(true);
    dns.restart();
    awaitValue(() -> dig(US), "127.0.20.1", Duration.ofSeconds(60), dns);
    awaitTrue(() -> dnsPlanStatus().containsKey("version"), Duration.ofSeconds(30), dns); // ops listener bound
    JsonObject status = dnsPlanStatus();
    assertEquals(beforeRestart, status.getLong("version"), "served from disk: " + status);
    assertTrue(dns.log().contains("resuming from the last plan on disk"), dns.log());
    etcd.restart();
    awaitTrue(() -> dnsPlanStatus().getBoolean("connected", false), Duration.ofSeconds(30), dns);

    // A restarted controller resumes the plan and its version: us-east stays failed, versions keep growing.
    long planVersion = admin("GET", "/v1/plan").getLong("version");
    control.restart();
    awaitTrue(() -> admin("GET", "/v1/plan").containsKey("version"), Duration.ofSeconds(60), control);
    JsonObject plan = admin("GET", "/v1/plan");
    assertTrue(plan.getLong("version") >= planVersion, "version went backwards: " + plan.getLong("version")
        + " < " + planVersion);
    assertNotEquals("ACTIVE", region(plan, "us-east").getString("lifecycle"), plan.encodePrettily());
    for (int i = 0; i < 20; i++) {
      assertEquals("127.0.20.1", dig(US), "the restarted controller must not replay: us-east is still failed");
      Thread.sleep(100);
    }
    assertTrue(dnsPlanStatus().getLong("version") >= beforeRestart);
  }

  @Test
  void aDataPlaneWithNoWayToReceivePlansRefusesToStartAndSaysWhatToConfigure() throws Exception {
    Files.writeString(config, Files.readString(config).replaceAll("(?s)state_store:.*", "state_store:\n  type: embedded\n  path: state\n"));
    MeridianProcess dns = run("lonely-dns", "--roles", "dns");
    assertEquals(1, dns.awaitExit());
    String log = dns.log();
    assertTrue(log.contains("no way to receive routing plans") && log.contains("state_store.type: etcd")
        && log.contains("--static-plan"), log);
    MeridianProcess explicit = run("static-dns", "--roles", "dns", "--static-plan");
    awaitValue(() -> dig(US), "127.0.10.1", Duration.ofSeconds(60), explicit);
    // the DNS listener can answer a moment before the ops listener (/readyz) is bound
    awaitValue(() -> dnsPlanStatus().getString("source", ""), "static", Duration.ofSeconds(30), explicit);
  }

  @Test
  void aVantagePointProcessThatDiesStopsCountingWhenItsLeaseExpires() throws Exception {
    // quorum 1: one vantage point seeing us-east down is enough to fail it
    String base = Files.readString(config).replace("  vantage_points: [vp-a, vp-b, vp-c]\n",
        "  vantage_point: vp-a\n  quorum: 1\n");
    Files.writeString(config, base);
    // vp-x probes us-east on a port where nothing listens, and claims its reports stay valid for a minute: only
    // its lease (2 s) can stop them counting once it is dead
    int closedPort = Demo.freePort();
    Path xConfig = dir.resolve("cfg/checker-x.yaml");
    Files.writeString(xConfig, base.replace("  vantage_point: vp-a\n", "  vantage_point: vp-x\n  report_ttl: 60s\n")
        .replace("url: \"http://127.0.0.1:" + ports.appUsEast() + "/healthz\"",
            "url: \"http://127.0.0.1:" + closedPort + "/healthz\"")
        .replace("ops_listen: 127.0.0.1:" + ports.checkerOps(), "ops_listen: 127.0.0.1:" + Demo.freePort())
        .replace("path: state", "path: state-x"));
    MeridianProcess control = run("control", "--roles", "controller,checker");
    awaitTrue(() -> "HEALTHY".equals(regionHealth("us-east")), Duration.ofSeconds(60), control);
    MeridianProcess x = MeridianProcess.start(xConfig, dir.resolve("checker-x.log"), "--roles", "checker");
    processes.add(x);
    awaitTrue(() -> "FAILED".equals(regionHealth("us-east")), Duration.ofSeconds(60), x);
    long killedAt = System.nanoTime();
    x.kill();
    awaitTrue(() -> !"FAILED".equals(regionHealth("us-east")), Duration.ofSeconds(30), control);
    long ms = (System.nanoTime() - killedAt) / 1_000_000;
    System.out.printf("vp-x killed: us-east no longer failed after %d ms (lease_ttl 2s, vp-x's report_ttl 60s)%n", ms);
    assertTrue(ms < 60_000, "the dead vantage point counted until its report expired: " + ms + " ms");
    assertTrue(control.log().contains("health/vp-x is gone"), tail(control.log()));
  }

  @Test
  void twoDnsInstancesOnOneEtcdShareTheirCookieSecret() throws Exception {
    // a second DNS instance, as behind one anycast address: other ports, the same etcd
    int dns2 = Demo.freeUdpAndTcpPort();
    Path config2 = dir.resolve("cfg/dns-2.yaml");
    Files.writeString(config2, Files.readString(config)
        .replace("listen: 127.0.0.1:" + ports.dns() + "\n", "listen: 127.0.0.1:" + dns2 + "\n")
        .replace("ops_listen: 127.0.0.1:" + ports.dnsOps(), "ops_listen: 127.0.0.1:" + Demo.freePort())
        .replace("path: state", "path: state-2"));
    MeridianProcess one = run("dns", "--roles", "dns");
    MeridianProcess two = MeridianProcess.start(config2, dir.resolve("dns-2.log"), "--roles", "dns");
    processes.add(two);
    for (MeridianProcess p : List.of(one, two)) {
      awaitTrue(() -> p.log().contains("DNS cookie secret from the state store"), Duration.ofSeconds(60), p);
    }
    // RFC 7873 §5.2: a client sends back the server cookie it was given; the other instance accepts it (and so
    // echoes it unchanged: a cookie it could not check would be answered with a fresh one of its own)
    String cookie = serverCookie(ports.dns(), null);
    assertEquals(48, cookie.length(), cookie); // 8-byte client cookie + 16-byte RFC 9018 server cookie, in hex
    assertEquals(cookie, serverCookie(dns2, cookie), tail(two.log()));
    assertEquals(cookie, serverCookie(ports.dns(), cookie), tail(one.log()));
  }

  /** The COOKIE dig shows in the answer of the instance on {@code port}, sending {@code cookie} when not null. */
  static String serverCookie(int port, String cookie) {
    Cli.Result r = Cli.run(List.of("dig", "@127.0.0.1", "-p", Integer.toString(port), NAME, "A",
        cookie == null ? "+cookie" : "+cookie=" + cookie, "+time=2", "+tries=2"));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("; COOKIE: ([0-9a-fA-F]+)").matcher(r.out());
    if (!m.find()) {
      throw new AssertionError("no COOKIE in dig's output:\n" + r.out());
    }
    return m.group(1).toLowerCase(java.util.Locale.ROOT);
  }

  String regionHealth(String id) {
    JsonObject plan = admin("GET", "/v1/plan");
    return plan.containsKey("regions") ? region(plan, id).getString("health") : "";
  }

  static JsonObject region(JsonObject plan, String id) {
    for (Object o : plan.getJsonArray("regions")) {
      if (id.equals(((JsonObject) o).getString("id"))) {
        return (JsonObject) o;
      }
    }
    throw new AssertionError("no region " + id + " in " + plan.encode());
  }

  static void awaitValue(Supplier<String> probe, String expected, Duration max, MeridianProcess p)
      throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    String v = probe.get();
    while (!v.equals(expected)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("expected '" + expected + "' within " + max + ", last was '" + v + "'\n"
            + (p == null ? "" : tail(p.log())));
      }
      Thread.sleep(100);
      v = probe.get();
    }
  }

  static void awaitTrue(Supplier<Boolean> probe, Duration max, MeridianProcess p) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (!probe.get()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + max + "\n" + tail(p.log()));
      }
      Thread.sleep(100);
    }
  }

  static String tail(String s) {
    return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
  }
}
