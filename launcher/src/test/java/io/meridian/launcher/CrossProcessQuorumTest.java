package io.meridian.launcher;

import static io.meridian.launcher.EtcdMultiProcessTest.awaitTrue;
import static io.meridian.launcher.EtcdMultiProcessTest.region;
import static io.meridian.launcher.EtcdMultiProcessTest.tail;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.etcd.testing.EtcdServer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vantage-point quorum across processes: three `meridian run --roles checker` processes (vp-1, vp-2, vp-3)
 * report through a real etcd to a controller process, with {@code min_vantage_points: 2}.
 *
 * <ol>
 *   <li>vp-3 is cut off from us-east (its probes of us-east go through a relay that starts black-holing them):
 *       vp-3 reports us-east failed, the other two see it healthy, and us-east is never failed over.
 *   <li>us-east really dies: a vantage point that reaches it sees it refuse connections and agrees with vp-3; it
 *       fails over, and the event names the voters and their evidence.
 *   <li>vp-1 and vp-2 die (kill -9): their leases expire and they leave the electorate; vp-3 alone is below
 *       min_vantage_points, so when it sees eu-north fail nothing is failed over.
 * </ol>
 */
class CrossProcessQuorumTest {
  @TempDir
  Path dir;
  EtcdServer etcd;
  Vertx vertx;
  final Map<String, DemoApp> apps = new HashMap<>();
  final List<MeridianProcess> processes = new ArrayList<>();
  final Map<String, Integer> checkerOps = new HashMap<>();
  Demo.Ports ports;
  BlackHoleRelay relay;

  @BeforeEach
  void setUp() throws Exception {
    etcd = EtcdServer.start(dir.resolve("etcd"));
    vertx = Vertx.vertx();
    ports = Demo.Ports.ephemeral();
    for (String region : Demo.REGIONS) {
      startApp(region);
    }
    relay = BlackHoleRelay.start(vertx, ports.app("us-east"));
  }

  @AfterEach
  void tearDown() throws Exception {
    for (MeridianProcess p : processes) {
      p.close();
    }
    for (DemoApp a : apps.values()) {
      a.close().await(10, TimeUnit.SECONDS);
    }
    relay.close();
    vertx.close().await(10, TimeUnit.SECONDS);
    etcd.close();
  }

  void startApp(String region) throws Exception {
    DemoApp app = DemoApp.create(vertx, region, List.of());
    app.listen("127.0.0.1", ports.app(region)).await(10, TimeUnit.SECONDS);
    apps.put(region, app);
  }

  void killApp(String region) throws Exception {
    apps.remove(region).close().await(10, TimeUnit.SECONDS);
  }

  /** The demo's layout, one residency group (so a failed region's users may move), state in etcd. */
  String baseConfig() throws Exception {
    return Files.readString(Demo.writeConfig(dir.resolve("cfg"), ports), StandardCharsets.UTF_8)
        .replaceAll("residency_group: \\w+", "residency_group: global")
        .replace("  vantage_points: [vp-a, vp-b, vp-c]\n", "  vantage_point: vp-0\n  min_vantage_points: 2\n")
        .replace("state_store:\n  type: embedded\n  path: state",
            "state_store:\n  type: etcd\n  path: state\n  etcd:\n    endpoints: [" + etcd.endpoint() + "]\n"
                + "    prefix: /quorum/\n    lease_ttl: 2s\n    timeout: 1s");
  }

  MeridianProcess checker(String name, String base, boolean viaRelay) throws Exception {
    int ops = Demo.freePort();
    checkerOps.put(name, ops);
    String yaml = base.replace("  vantage_point: vp-0\n", "  vantage_point: " + name + "\n")
        .replace("ops_listen: 127.0.0.1:" + ports.checkerOps(), "ops_listen: 127.0.0.1:" + ops)
        .replace("path: state", "path: state-" + name);
    if (viaRelay) {
      yaml = yaml.replace("url: \"http://127.0.0.1:" + ports.appUsEast() + "/healthz\"",
          "url: \"http://127.0.0.1:" + relay.port() + "/healthz\"");
    }
    Path file = dir.resolve("cfg/" + name + ".yaml");
    Files.writeString(file, yaml);
    MeridianProcess p = MeridianProcess.start(file, dir.resolve(name + ".log"), "--roles", "checker");
    processes.add(p);
    return p;
  }

  JsonObject plan() {
    Cli.Result r = Cli.run(List.of("curl", "-s", "--max-time", "3", "-H", "Authorization: Bearer " + Demo.ADMIN_TOKEN,
        "http://127.0.0.1:" + ports.admin() + "/v1/plan"));
    return r.out().startsWith("{") ? new JsonObject(r.out()) : new JsonObject();
  }

  String state(String region) {
    JsonObject p = plan();
    if (!p.containsKey("regions")) {
      return "";
    }
    JsonObject r = region(p, region);
    return r.getString("lifecycle") + "/" + r.getString("health");
  }

  /** What one checker process itself reports for a region (its evidence endpoint). */
  String seenBy(String vantagePoint, String region) {
    Cli.Result r = Cli.run(List.of("curl", "-s", "--max-time", "3",
        "http://127.0.0.1:" + checkerOps.get(vantagePoint) + "/v1/evidence?region=" + region));
    if (!r.out().startsWith("{")) {
      return "";
    }
    JsonArray vps = new JsonObject(r.out()).getJsonArray("vantage_points", new JsonArray());
    return vps.isEmpty() ? "" : vps.getJsonObject(0).getJsonArray("regions").getJsonObject(0).getString("health");
  }

  /** Polls for {@code hold}: the region must stay ACTIVE (never failed over) the whole time. */
  void staysActive(String region, Duration hold, MeridianProcess log) throws InterruptedException {
    long end = System.nanoTime() + hold.toNanos();
    while (System.nanoTime() < end) {
      String s = state(region);
      assertTrue(s.startsWith("ACTIVE/"), region + " left ACTIVE: " + s + "\n" + tail(log.log()));
      Thread.sleep(150);
    }
  }

  @Test
  void aCutOffVantagePointCannotFailARegionAndTooFewCannotJudge() throws Exception {
    String base = baseConfig();
    Path controllerConfig = dir.resolve("cfg/controller.yaml");
    Files.writeString(controllerConfig, base);
    MeridianProcess controller = MeridianProcess.start(controllerConfig, dir.resolve("controller.log"),
        "--roles", "controller");
    processes.add(controller);
    MeridianProcess vp1 = checker("vp-1", base, false);
    MeridianProcess vp2 = checker("vp-2", base, false);
    MeridianProcess vp3 = checker("vp-3", base, true);
    for (String region : Demo.REGIONS) {
      awaitTrue(() -> state(region).equals("ACTIVE/HEALTHY"), Duration.ofSeconds(90), controller);
    }

    // 1. vp-3 loses its path to us-east (a partition: packets vanish, probes time out). It says us-east failed;
    // the two others see it healthy: no failover.
    relay.blackHole(true);
    awaitTrue(() -> "FAILED".equals(seenBy("vp-3", "us-east")), Duration.ofSeconds(30), vp3);
    staysActive("us-east", Duration.ofSeconds(6), controller);
    assertEquals("HEALTHY", seenBy("vp-1", "us-east"));

    // 2. us-east really dies: vp-1 and vp-2 see it refused and agree with vp-3; it fails over.
    long killed = System.nanoTime();
    killApp("us-east");
    awaitTrue(() -> state("us-east").startsWith("FAILED/"), Duration.ofSeconds(30), controller);
    System.out.printf("us-east killed: failed over after %d ms with vp-3 cut off from it%n",
        (System.nanoTime() - killed) / 1_000_000);
    String log = controller.log();
    assertTrue(log.contains("event region_failed us-east") && log.contains("vantage point(s) see it failed"),
        tail(log));
    String failedLine = log.lines().filter(l -> l.contains("event region_failed us-east")).findFirst().orElseThrow();
    // the quorum is any two of three: vp-3's timeouts count once a vantage point that reaches us-east agrees
    assertTrue((failedLine.contains("vp-1: ") || failedLine.contains("vp-2: ")) && failedLine.contains("refused"),
        failedLine);

    // 3. Two of three vantage points die. Their leases (2 s) expire and they leave the electorate; the one left
    // is below min_vantage_points (2) and cannot fail eu-north alone.
    relay.blackHole(false);
    vp1.kill();
    vp2.kill();
    awaitTrue(() -> controller.log().contains("health/vp-1 is gone") && controller.log().contains("health/vp-2 is gone"),
        Duration.ofSeconds(30), controller);
    killApp("eu-north");
    awaitTrue(() -> "FAILED".equals(seenBy("vp-3", "eu-north")), Duration.ofSeconds(30), vp3);
    staysActive("eu-north", Duration.ofSeconds(5), controller);
    assertTrue(state("eu-north").equals("ACTIVE/UNKNOWN"), "one vantage point cannot judge: " + state("eu-north"));

    // A second vantage point comes back and agrees: now eu-north fails over.
    checker("vp-2", base, false);
    awaitTrue(() -> state("eu-north").startsWith("FAILED/"), Duration.ofSeconds(60), controller);
  }

  /**
   * A TCP relay in front of one app: forwards while open, and when black-holing accepts connections and never
   * answers (as a partition looks to a prober: no refusal, only silence).
   */
  static final class BlackHoleRelay {
    private final NetServer server;
    private final List<NetSocket> held = new ArrayList<>();
    private volatile boolean blackHole;

    private BlackHoleRelay(NetServer server) {
      this.server = server;
    }

    static BlackHoleRelay start(Vertx vertx, int targetPort) throws Exception {
      NetServer server = vertx.createNetServer();
      BlackHoleRelay relay = new BlackHoleRelay(server);
      var client = vertx.createNetClient();
      server.connectHandler(in -> {
        if (relay.blackHole) {
          in.pause();
          synchronized (relay.held) {
            relay.held.add(in);
          }
          return;
        }
        in.pause();
        client.connect(targetPort, "127.0.0.1").onComplete(ar -> {
          if (ar.failed()) {
            in.close();
            return;
          }
          NetSocket out = ar.result();
          in.handler(out::write);
          out.handler(in::write);
          in.closeHandler(v -> out.close());
          out.closeHandler(v -> in.close());
          in.resume();
        });
      });
      server.listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
      return relay;
    }

    int port() {
      return server.actualPort();
    }

    void blackHole(boolean on) {
      blackHole = on;
      if (!on) {
        synchronized (held) {
          held.forEach(NetSocket::close);
          held.clear();
        }
      }
    }

    void close() throws Exception {
      server.close().await(10, TimeUnit.SECONDS);
    }
  }
}
