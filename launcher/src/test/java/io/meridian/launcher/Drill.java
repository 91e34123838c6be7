package io.meridian.launcher;

import io.meridian.etcd.testing.EtcdServer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The multi-process failover drill (issue #16): three regions with a real HTTP app each (its own JVM), two DNS
 * processes, a proxy process per region, three checker processes (one vantage point each), two controllers and one
 * etcd — every Meridian role a separate {@code meridian run} process — under a constant client load through the
 * proxies ({@link DrillLoad}) and ECS queries against both DNS servers ({@link DrillDns}), watched through the
 * operators' interfaces ({@link DrillWatch}). The phases:
 *
 * <ol>
 *   <li>(a) kill -9 one region's app: detection, DNS and HTTP off the region, failed requests, load on the
 *       survivors against their capacity;</li>
 *   <li>(b) restart it: the failback ramp, step by step;</li>
 *   <li>(c) kill -9 the leading controller: the other takes over; plans keep flowing;</li>
 *   <li>(d) stop etcd for a while: the data planes keep answering, and catch up afterwards;</li>
 *   <li>(e) partition one checker from one region: no failover;</li>
 *   <li>(f) in network namespaces only: loss and jitter on every checker's probe paths: no false failover.</li>
 * </ol>
 *
 * <p>{@link DrillReport} turns what was recorded into figures, each next to its goal. {@code MultiProcessDrillTest}
 * runs a short drill in CI; {@code bench/drill/run.sh} runs {@link #main} with the full settings.
 */
public final class Drill implements AutoCloseable {
  static final List<String> REGIONS = List.of("us-east", "eu-west", "ap-south");
  /** Each region's DNS address (its {@code dns.a} in the drill config). */
  static final Map<String, String> DNS_ADDRESSES = Map.of("127.0.10.1", "us-east", "127.0.20.1", "eu-west",
      "127.0.30.1", "ap-south");
  /** The region nearest to each of {@link DrillLoad#CONTINENTS}' clients. */
  static final List<String> HOME_REGION = List.of("us-east", "eu-west", "ap-south");
  static final String KILLED_REGION = "us-east";
  static final String PARTITIONED_REGION = "eu-west";
  static final int PARTITIONED_CHECKER = 3;
  static final List<String> CONTROLLERS = List.of("ctl-a", "ctl-b");
  static final List<String> CHECKERS = List.of("vp-1", "vp-2", "vp-3");
  static final List<String> DNS_SERVERS = List.of("dns-1", "dns-2");
  /** Where the netns mode's regions and etcd listen: an address netlab.sh adds to lo, reachable from namespaces. */
  static final String NETLAB_HOST = "10.77.0.1";
  /** A zone the drill pins and unpins to show plans flowing (to the region that serves it anyway). */
  static final String PIN_ZONE = "19N72E";

  /** What the drill runs and for how long. Defaults: the full drill of {@code bench/drill/run.sh}. */
  static final class Settings {
    Path workDir;
    /** The class path of the launcher's tests (Meridian, the drill's app and the tests' helpers). */
    String classPath = System.getProperty("java.class.path");
    /** Start Meridian as users do, with this {@code meridian} script and its JVM flags; null: java from here. */
    Path meridianScript;
    /** JVM flags of every process started with java directly (the apps always; Meridian without the script). */
    List<String> jvmFlags = List.of("-Xms32m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    /** Put each checker in its own network namespace with this netlab.sh (root); null: everything on loopback. */
    Path netlab;
    /**
     * 40 % of the regions' total capacity. What a 2-core machine sustains beside the 14 JVMs and etcd of the drill:
     * at 300 rps (capacity 250) the machine saturated, the driver's own JVM fell behind its schedule and the proxies'
     * stalls bunched requests at their admission limits (docs/PERFORMANCE.md, "Multi-process failover drill").
     */
    double rps = 150;
    int capacityRps = 125;
    Duration warmup = Duration.ofSeconds(20);
    /** How long each phase keeps watching after its event settled. */
    Duration hold = Duration.ofSeconds(10);
    Duration failbackHoldDown = Duration.ofSeconds(10);
    Duration rampInterval = Duration.ofSeconds(5);
    Duration leaseTtl = Duration.ofSeconds(5);
    Duration etcdOutage = Duration.ofSeconds(30);
    Duration partitionHold = Duration.ofSeconds(30);
    Duration impair = Duration.ofMinutes(10);
    /**
     * Per packet and direction, as netlab.sh applies them (like {@code tc netem delay 200ms 200ms loss 5%} on both
     * ends of the path): 5 % loss, a delay uniform in 0..400 ms — the 5 % loss and 200 ms jitter, as the
     * health checker's lossy-path work measured them.
     */
    int impairLossPercent = 5;
    int impairDelayMs = 200;
    int impairJitterMs = 200;
    long dnsPeriodMs = 50;
    long requestTimeoutMs = 10_000;
    /** The command line that started the drill, for the report. */
    String command = "";

    boolean netns() {
      return netlab != null;
    }
  }

  /**
   * One phase as it ran: its window, the moments the drill acted ({@code marks}, e.g. "kill") and facts it learnt
   * on the way ({@code notes}, e.g. which controller led).
   */
  record Phase(String id, String title, long startMicros, long endMicros, Map<String, Long> marks,
      Map<String, Object> notes) {}

  private final Settings s;
  private final Path logs;
  private final Vertx vertx = Vertx.vertx();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Map<String, MeridianProcess> processes = new LinkedHashMap<>();
  private final Map<String, Integer> appPorts = new LinkedHashMap<>();
  private final Map<String, Integer> adminPorts = new LinkedHashMap<>();
  private final Map<String, Integer> checkerOpsPorts = new LinkedHashMap<>();
  private final Map<String, Integer> dnsPorts = new LinkedHashMap<>();
  private final Map<String, Integer> dataPlaneOpsPorts = new LinkedHashMap<>();
  private final Map<String, Integer> proxyPorts = new LinkedHashMap<>();
  private final List<Phase> phases = new ArrayList<>();
  private final Map<String, Object> facts = new LinkedHashMap<>();
  private EtcdServer etcd;
  private CuttableForwarder partitionPath;
  private DrillWatch watch;
  private DrillLoad load;
  private DrillDns dns;
  private String appHost;

  Drill(Settings settings) throws IOException {
    this.s = settings;
    this.logs = settings.workDir.resolve("logs");
    Files.createDirectories(logs);
  }

  // ---- the whole drill

  /** Runs every phase; returns the report (also when a phase failed: then it says where it stopped). */
  DrillReport run() throws Exception {
    String stoppedBy = null;
    try {
      startDeployment();
      warmUp();
      killRegion();
      restoreRegion();
      killLeader();
      stopEtcd();
      partitionChecker();
      if (s.netns()) {
        impairProbes();
      }
    } catch (Exception | AssertionError e) {
      stoppedBy = e.getClass().getSimpleName() + ": " + e.getMessage();
      log("drill stopped: " + stoppedBy);
    }
    if (load != null) {
      load.stop();
    }
    if (dns != null) {
      dns.stop();
    }
    if (watch != null) {
      watch.stop();
    }
    facts.put("load_skipped_requests", load == null ? 0 : load.skipped());
    for (Phase p : phases) {
      if (load != null && load.skipped(p.startMicros(), p.endMicros()) > 0) {
        facts.put("load_skipped_requests_" + p.id(), load.skipped(p.startMicros(), p.endMicros()));
      }
    }
    writeRecords();
    List<DrillWatch.DataPlanePlan> applied = new ArrayList<>();
    for (String p : dataPlaneOpsPorts.keySet()) {
      applied.addAll(DrillWatch.appliedPlans(p, processLog(p)));
    }
    return DrillReport.build(s, phases, load == null ? List.of() : load.samples(),
        dns == null ? List.of() : dns.answers(), watch, applied, facts, stoppedBy);
  }

  /** Every request and DNS query as CSV in the work directory, for analysis beyond the report. */
  private void writeRecords() throws IOException {
    if (load != null) {
      StringBuilder b = new StringBuilder("sent_us,proxy,continent,status,region,latency_us,failure\n");
      for (DrillLoad.Sample x : load.samples()) {
        b.append(x.sentMicros()).append(',').append(x.proxy()).append(',')
            .append(DrillLoad.CONTINENTS.get(x.continent())).append(',').append(x.status()).append(',')
            .append(x.region() == null ? "" : x.region()).append(',').append(x.latencyMicros()).append(',')
            .append(x.failure() == null ? "" : '"' + x.failure().replace('"', '\'') + '"').append('\n');
      }
      Files.writeString(s.workDir.resolve("requests.csv"), b);
    }
    if (dns != null) {
      StringBuilder b = new StringBuilder("sent_us,answered_us,server,continent,region,failure\n");
      for (DrillDns.Answer a : dns.answers()) {
        b.append(a.sentMicros()).append(',').append(a.micros()).append(',').append(DNS_SERVERS.get(a.server()))
            .append(',').append(a.continent() < 0 ? "" : DrillLoad.CONTINENTS.get(a.continent())).append(',')
            .append(a.region() == null ? "" : a.region()).append(',')
            .append(a.failure() == null ? "" : '"' + a.failure() + '"').append('\n');
      }
      Files.writeString(s.workDir.resolve("dns.csv"), b);
    }
    if (watch != null) {
      StringBuilder b = new StringBuilder("seen_us,process,series,value\n");
      for (DrillWatch.Metric m : watch.metrics()) {
        b.append(m.micros()).append(',').append(m.process()).append(",\"").append(m.series().replace('"', '\''))
            .append("\",").append(m.value()).append('\n');
      }
      Files.writeString(s.workDir.resolve("proxy-metrics.csv"), b);
    }
  }

  // ---- start-up

  private void startDeployment() throws Exception {
    long t0 = DrillClock.now();
    if (s.netns()) {
      // namespaces mdrill-vp1..3 (lo up: the checkers' ops listeners are there, read through netlab.sh exec), and
      // 10.77.0.1 on the host's lo, which they reach
      log(netlab("up", Integer.toString(CHECKERS.size())));
      appHost = NETLAB_HOST;
      etcd = EtcdServer.startOn(NETLAB_HOST, s.workDir.resolve("etcd"));
    } else {
      appHost = "127.0.0.1";
      etcd = EtcdServer.start(s.workDir.resolve("etcd"));
    }
    log("etcd at " + etcd.endpoint());
    for (String region : REGIONS) {
      int port = freePort(appHost);
      appPorts.put(region, port);
      List<String> cmd = new ArrayList<>(javaCommand());
      cmd.addAll(List.of(DrillApp.class.getName(), region, appHost, Integer.toString(port)));
      processes.put("app-" + region, MeridianProcess.command(cmd, Map.of(), logs.resolve("app-" + region + ".log")));
    }
    if (!s.netns()) {
      // loopback mode: one checker's probes of one region pass through a forwarder the drill can cut
      partitionPath = CuttableForwarder.start("127.0.0.1",
          new InetSocketAddress(appHost, appPorts.get(PARTITIONED_REGION)));
    }
    for (String region : REGIONS) {
      awaitTrue("the " + region + " app answers", Duration.ofSeconds(60), "app-" + region,
          () -> get("http://" + appHost + ":" + appPorts.get(region) + "/healthz").statusCode() == 200);
    }

    Map<String, String> common = commonValues();
    for (String c : CONTROLLERS) {
      adminPorts.put(c, Demo.freePort());
    }
    for (String vp : CHECKERS) {
      checkerOpsPorts.put(vp, Demo.freePort());
    }
    for (String d : DNS_SERVERS) {
      dnsPorts.put(d, Demo.freeUdpAndTcpPort());
      dataPlaneOpsPorts.put(d, Demo.freePort());
    }
    for (String r : REGIONS) {
      proxyPorts.put("proxy-" + r, Demo.freePort());
      dataPlaneOpsPorts.put("proxy-" + r, Demo.freePort());
    }
    // In three waves, each waiting for the one before: fourteen JVMs starting at once on a small machine starve
    // etcd's keep-alives (a leader stepped down within its first seconds so).
    watch = new DrillWatch(vertx, Demo.ADMIN_TOKEN);
    for (String c : CONTROLLERS) {
      Map<String, String> v = processValues(common, c);
      v.put("admin", Integer.toString(adminPorts.get(c)));
      startMeridian(c, "controller", v, List.of());
      watch.controller(c, adminPorts.get(c));
    }
    awaitTrue("one controller leads and the other follows it", Duration.ofSeconds(120), "ctl-a",
        () -> watch.leader() != null && CONTROLLERS.stream().filter(c -> !c.equals(watch.leader()))
            .allMatch(watch::follows));
    for (int i = 0; i < CHECKERS.size(); i++) {
      String vp = CHECKERS.get(i);
      Map<String, String> v = processValues(common, vp);
      v.put("vantage_point", vp);
      v.put("checker_ops", Integer.toString(checkerOpsPorts.get(vp)));
      if (partitionPath != null && i + 1 == PARTITIONED_CHECKER) {
        v.put("probe_" + key(PARTITIONED_REGION), "127.0.0.1:" + partitionPath.port());
      }
      startMeridian("checker-" + vp, "checker", v,
          s.netns() ? List.of(s.netlab.toString(), "exec", Integer.toString(i + 1)) : List.of());
    }
    awaitTrue("every vantage point reports every region", Duration.ofSeconds(90), "checker-vp-1",
        () -> CHECKERS.stream().allMatch(vp -> REGIONS.stream().allMatch(r -> watch.vantageHealth(vp, r) != null)));
    for (String d : DNS_SERVERS) {
      Map<String, String> v = processValues(common, d);
      v.put("dns", Integer.toString(dnsPorts.get(d)));
      v.put("dns_ops", Integer.toString(dataPlaneOpsPorts.get(d)));
      startMeridian(d, "dns", v, List.of());
    }
    for (String r : REGIONS) {
      String p = "proxy-" + r;
      Map<String, String> v = processValues(common, p);
      v.put("proxy", Integer.toString(proxyPorts.get(p)));
      v.put("proxy_ops", Integer.toString(dataPlaneOpsPorts.get(p)));
      startMeridian(p, "proxy", v, List.of());
    }

    dataPlaneOpsPorts.forEach(watch::dataPlane);
    proxyPorts.keySet().forEach(p -> watch.proxyMetrics(p, dataPlaneOpsPorts.get(p)));
    // 14 JVMs starting on 2 cores: give the data planes time, and restart one whose JVM exited at start (a port
    // taken between choosing it and binding it); a data plane that is missing then is shown with its log
    awaitSteady("start-up", Duration.ofSeconds(150), true);
    facts.put("startup_seconds", (DrillClock.now() - t0) / 1e6);
    log(String.format("deployment up in %.1f s: %d processes, etcd, leader %s", (DrillClock.now() - t0) / 1e6,
        processes.size(), watch.leader()));
  }

  private Map<String, String> commonValues() {
    Map<String, String> v = new HashMap<>();
    v.put("capacity", Integer.toString(s.capacityRps));
    v.put("app_host", appHost);
    for (String r : REGIONS) {
      v.put("app_" + key(r), Integer.toString(appPorts.get(r)));
      v.put("probe_" + key(r), appHost + ":" + appPorts.get(r));
    }
    v.put("zone_rps", Long.toString(Math.round(s.rps / DrillLoad.CONTINENTS.size())));
    v.put("failback_hold_down", seconds(s.failbackHoldDown));
    v.put("ramp_interval", seconds(s.rampInterval));
    v.put("lease_ttl", seconds(s.leaseTtl));
    v.put("token_sha256", Demo.sha256(Demo.ADMIN_TOKEN));
    v.put("etcd_host", s.netns() ? NETLAB_HOST : "127.0.0.1");
    v.put("etcd_port", Integer.toString(etcd.clientPort()));
    return v;
  }

  /**
   * A process's values: the common ones, its own state directory, and for the listeners of the roles it does not
   * run the first process's ports (never bound by this one, but the file must be complete).
   */
  private Map<String, String> processValues(Map<String, String> common, String name) {
    Map<String, String> v = new HashMap<>(common);
    v.put("state_path", s.workDir.resolve("state-" + name).toString());
    v.put("admin", Integer.toString(adminPorts.get(CONTROLLERS.get(0))));
    v.put("vantage_point", CHECKERS.get(0));
    v.put("checker_ops", Integer.toString(checkerOpsPorts.get(CHECKERS.get(0))));
    v.put("dns", Integer.toString(dnsPorts.get(DNS_SERVERS.get(0))));
    v.put("dns_ops", Integer.toString(dataPlaneOpsPorts.get(DNS_SERVERS.get(0))));
    String proxy = "proxy-" + REGIONS.get(0);
    v.put("proxy", Integer.toString(proxyPorts.get(proxy)));
    v.put("proxy_ops", Integer.toString(dataPlaneOpsPorts.get(proxy)));
    return v;
  }

  private void startMeridian(String name, String roles, Map<String, String> values, List<String> prefix)
      throws IOException {
    Path config = s.workDir.resolve("cfg").resolve(name + ".yaml");
    Files.createDirectories(config.getParent());
    Files.writeString(config, fill(template(), values));
    List<String> cmd = new ArrayList<>(prefix);
    Map<String, String> env = new HashMap<>();
    if (s.meridianScript != null) {
      // as users start it: the script chooses the JVM's flags for these roles
      cmd.add(s.meridianScript.toString());
      env.put("MERIDIAN_CLASSPATH", s.classPath);
    } else {
      cmd.addAll(javaCommand());
      cmd.add(Main.class.getName());
    }
    cmd.addAll(List.of("run", "--config", config.toString(), "--roles", roles));
    processes.put(name, MeridianProcess.command(cmd, env, logs.resolve(name + ".log")));
  }

  private List<String> javaCommand() {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (Runtime.version().feature() >= 22) {
      // as the meridian script does: Netty's native transport (and GeoDNS's native UDP listener) without warnings
      cmd.add("--enable-native-access=ALL-UNNAMED");
    }
    cmd.addAll(s.jvmFlags);
    cmd.addAll(List.of("-cp", s.classPath));
    return cmd;
  }

  static String template() throws IOException {
    try (InputStream in = Drill.class.getResourceAsStream("/drill/meridian-drill.yaml")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static String fill(String template, Map<String, String> values) {
    String out = template;
    for (Map.Entry<String, String> e : values.entrySet()) {
      out = out.replace("{{" + e.getKey() + "}}", e.getValue());
    }
    int open = out.indexOf("{{");
    if (open >= 0) {
      throw new IllegalStateException("drill config: no value for " + out.substring(open, out.indexOf("}}", open) + 2));
    }
    return out;
  }

  private static String key(String region) {
    return region.replace('-', '_');
  }

  static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
  }

  // ---- warm-up

  private void warmUp() throws Exception {
    long start = DrillClock.now();
    load = new DrillLoad(vertx, new ArrayList<>(proxyPorts.values()), s.rps, s.requestTimeoutMs);
    dns = new DrillDns(new ArrayList<>(dnsPorts.values()), DNS_ADDRESSES, s.dnsPeriodMs);
    load.start();
    dns.start();
    Thread.sleep(s.warmup.toMillis());
    // steady: the last 3 s answered in full, every continent by its own region, in DNS and through the proxies
    awaitTrue("3 s of load without a failure, every client served by its home region", Duration.ofSeconds(90),
        "proxy-" + REGIONS.get(0), () -> {
          long since = DrillClock.now() - 4_000_000;
          long until = DrillClock.now() - 1_000_000;
          return load.count(since, x -> x.sentMicros() < until) > s.rps * 2
              && load.count(since, x -> x.sentMicros() < until && (x.failed()
                  || !HOME_REGION.get(x.continent()).equals(x.region()))) == 0
              && dns.count(since, x -> x.sentMicros() < until && (x.failed()
                  || !HOME_REGION.get(x.continent()).equals(x.region()))) == 0;
        });
    phases.add(new Phase("warmup", "warm-up until steady", start, DrillClock.now(), Map.of(), Map.of()));
  }

  // ---- (a) kill -9 a region's app

  private void killRegion() throws Exception {
    long start = DrillClock.now();
    Map<String, Long> marks = new LinkedHashMap<>();
    Map<String, Object> notes = new LinkedHashMap<>();
    long kill = DrillClock.now();
    processes.get("app-" + KILLED_REGION).kill();
    marks.put("kill", kill);
    log("(a) killed the " + KILLED_REGION + " app (kill -9)");
    awaitTrue("a plan with " + KILLED_REGION + " out", Duration.ofSeconds(60), "ctl-a", () -> {
      DrillWatch.PlanView p = watch.latestPlan();
      return p != null && !p.region(KILLED_REGION).eligible();
    });
    long version = watch.latestPlan().version();
    notes.put("plan_version_out", version);
    awaitTrue("every DNS and proxy process serves plan v" + version, Duration.ofSeconds(60), "dns-1",
        () -> watch.dataPlaneNow().values().stream().allMatch(d -> d.version() >= version));
    sleepUntil(kill + s.hold.toNanos() / 1000);
    phases.add(new Phase("a", "kill -9 the " + KILLED_REGION + " app", start, DrillClock.now(), marks, notes));
  }

  // ---- (b) restart it: failback

  private void restoreRegion() throws Exception {
    long start = DrillClock.now();
    Map<String, Long> marks = new LinkedHashMap<>();
    MeridianProcess app = processes.get("app-" + KILLED_REGION);
    marks.put("restart", DrillClock.now());
    app.restart();
    log("(b) restarted the " + KILLED_REGION + " app");
    awaitTrue("the " + KILLED_REGION + " app answers again", Duration.ofSeconds(60), "app-" + KILLED_REGION,
        () -> get("http://" + appHost + ":" + appPorts.get(KILLED_REGION) + "/healthz").statusCode() == 200);
    marks.put("app_up", DrillClock.now());
    Duration ramp = s.rampInterval.multipliedBy(4);
    awaitTrue(KILLED_REGION + " active at full share again", s.failbackHoldDown.plus(ramp).plusSeconds(60),
        "ctl-a", () -> {
          DrillWatch.PlanView p = watch.latestPlan();
          DrillWatch.RegionView r = p.region(KILLED_REGION);
          return "ACTIVE".equals(r.lifecycle()) && r.share() >= 0.999;
        });
    long version = watch.latestPlan().version();
    awaitTrue("every DNS and proxy process serves plan v" + version, Duration.ofSeconds(60), "dns-1",
        () -> watch.dataPlaneNow().values().stream().allMatch(d -> d.version() >= version));
    marks.put("active", DrillClock.now());
    // a little time at full share, so the report shows the region's load back where it was
    Thread.sleep(Math.min(s.hold.toMillis(), 5000));
    phases.add(new Phase("b", "restart the " + KILLED_REGION + " app: failback", start, DrillClock.now(), marks,
        Map.of()));
  }

  // ---- (c) kill -9 the leading controller

  private void killLeader() throws Exception {
    awaitSteady("before the leader kill", Duration.ofSeconds(60));
    long start = DrillClock.now();
    Map<String, Long> marks = new LinkedHashMap<>();
    Map<String, Object> notes = new LinkedHashMap<>();
    String leader = watch.leader();
    String other = CONTROLLERS.stream().filter(c -> !c.equals(leader)).findFirst().orElseThrow();
    notes.put("killed_leader", leader);
    notes.put("new_leader", other);
    long kill = DrillClock.now();
    processes.get(leader).kill();
    marks.put("kill", kill);
    log("(c) killed the leading controller " + leader + " (kill -9)");
    awaitTrue(other + " leads", s.leaseTtl.multipliedBy(3).plusSeconds(30), other,
        () -> other.equals(watch.leader()));
    marks.put("takeover_seen", DrillClock.now());
    log("(c) " + other + " leads; restarting " + leader);
    processes.get(leader).restart();
    awaitTrue(leader + " is back and follows " + other, Duration.ofSeconds(90), leader,
        () -> watch.follows(leader) && other.equals(watch.leader()));
    marks.put("old_leader_follows", DrillClock.now());
    plansFlow(leader, marks, notes, "pin");
    Thread.sleep(Math.min(s.hold.toMillis(), 3000));
    phases.add(new Phase("c", "kill -9 the leading controller", start, DrillClock.now(), marks, notes));
  }

  /**
   * Shows that plans flow from the current leader to every data plane: a command sent to {@code via} (forwarded
   * to the leader when {@code via} follows) pins {@link #PIN_ZONE} to the region that serves it anyway, then unpins
   * it; each plan must reach every DNS and proxy process.
   */
  private void plansFlow(String via, Map<String, Long> marks, Map<String, Object> notes, String markPrefix)
      throws Exception {
    for (String action : List.of("pin", "unpin")) {
      long before = watch.latestPlan().version();
      JsonObject body = new JsonObject().put("reason", "drill: plans keep flowing");
      if (action.equals("pin")) {
        body.put("weights", new JsonObject().put(HOME_REGION.get(2), 1));
      }
      marks.put(markPrefix + "_" + action + "_sent", DrillClock.now());
      awaitTrue(action + " " + PIN_ZONE + " applied through " + via, Duration.ofSeconds(60), via,
          () -> admin(via, "/v1/zones/" + PIN_ZONE + "/" + action, body).getBoolean("applied", false));
      awaitTrue("a plan after v" + before, Duration.ofSeconds(30), via,
          () -> watch.latestPlan().version() > before);
      long version = watch.latestPlan().version();
      awaitTrue("every DNS and proxy process serves plan v" + version, Duration.ofSeconds(60), "dns-1",
          () -> watch.dataPlaneNow().values().stream().allMatch(d -> d.version() >= version));
      marks.put(markPrefix + "_" + action + "_everywhere", DrillClock.now());
      notes.put(markPrefix + "_" + action + "_version", version);
    }
  }

  // ---- (d) etcd down

  private void stopEtcd() throws Exception {
    awaitSteady("before the etcd outage", Duration.ofSeconds(60));
    long start = DrillClock.now();
    Map<String, Long> marks = new LinkedHashMap<>();
    marks.put("etcd_stop", DrillClock.now());
    etcd.stop(true);
    log("(d) etcd stopped (SIGKILL) for " + s.etcdOutage.toSeconds() + " s");
    Thread.sleep(s.etcdOutage.toMillis());
    marks.put("etcd_start", DrillClock.now());
    etcd.restart();
    marks.put("etcd_up", DrillClock.now());
    log("(d) etcd back");
    awaitTrue("every DNS and proxy process reconnected", Duration.ofSeconds(90), "dns-1",
        () -> watch.dataPlaneNow().values().stream().allMatch(DrillWatch.DataPlanePlan::connected));
    marks.put("data_planes_connected", DrillClock.now());
    awaitTrue("a leader and a follower again", Duration.ofSeconds(90), "ctl-a",
        () -> watch.leader() != null && CONTROLLERS.stream().filter(c -> !c.equals(watch.leader()))
            .allMatch(watch::follows));
    marks.put("leader_again", DrillClock.now());
    String follower = CONTROLLERS.stream().filter(c -> !c.equals(watch.leader())).findFirst().orElseThrow();
    Map<String, Object> notes = new LinkedHashMap<>();
    plansFlow(follower, marks, notes, "pin");
    Thread.sleep(Math.min(s.hold.toMillis(), 3000));
    phases.add(new Phase("d", "etcd stopped for " + s.etcdOutage.toSeconds() + " s", start, DrillClock.now(),
        marks, notes));
  }

  // ---- (e) one checker partitioned from one region

  private void partitionChecker() throws Exception {
    awaitSteady("before the partition", Duration.ofSeconds(60));
    long start = DrillClock.now();
    Map<String, Long> marks = new LinkedHashMap<>();
    String vp = CHECKERS.get(PARTITIONED_CHECKER - 1);
    marks.put("cut", DrillClock.now());
    if (s.netns()) {
      netlab("partition", Integer.toString(PARTITIONED_CHECKER), Integer.toString(appPorts.get(PARTITIONED_REGION)));
    } else {
      partitionPath.cut();
    }
    log("(e) " + vp + " cut off from " + PARTITIONED_REGION);
    // the partition must be real, or this phase proves nothing: that vantage point sees the region down
    awaitTrue(vp + " reports " + PARTITIONED_REGION + " failed", Duration.ofSeconds(30), "checker-" + vp,
        () -> "FAILED".equals(watch.vantageHealth(vp, PARTITIONED_REGION)));
    marks.put("seen_failed_by_" + vp, DrillClock.now());
    Thread.sleep(s.partitionHold.toMillis());
    marks.put("heal", DrillClock.now());
    if (s.netns()) {
      netlab("heal", Integer.toString(PARTITIONED_CHECKER));
    } else {
      partitionPath.heal();
    }
    awaitTrue(vp + " reports " + PARTITIONED_REGION + " healthy again", Duration.ofSeconds(30), "checker-" + vp,
        () -> "HEALTHY".equals(watch.vantageHealth(vp, PARTITIONED_REGION)));
    marks.put("seen_healthy_by_" + vp, DrillClock.now());
    Thread.sleep(2000);
    phases.add(new Phase("e", vp + " partitioned from " + PARTITIONED_REGION, start, DrillClock.now(), marks,
        Map.of("checker", vp, "region", PARTITIONED_REGION)));
  }

  // ---- (f) loss and jitter on every probe path (network namespaces only)

  private void impairProbes() throws Exception {
    awaitSteady("before the impairment", Duration.ofSeconds(60));
    long start = DrillClock.now();
    Map<String, Long> marks = new LinkedHashMap<>();
    Map<String, Object> notes = new LinkedHashMap<>();
    notes.put("probes_before", checkerProbes());
    String ports = String.join(",", appPorts.values().stream().map(String::valueOf).toList());
    marks.put("impair", DrillClock.now());
    for (int i = 1; i <= CHECKERS.size(); i++) {
      netlab("impair", Integer.toString(i), "--loss", Integer.toString(s.impairLossPercent), "--delay",
          Integer.toString(s.impairDelayMs), "--jitter", Integer.toString(s.impairJitterMs), "--ports", ports);
    }
    log(String.format("(f) %d %% loss, %d ms delay, %d ms jitter on every probe path for %d s (per packet and"
            + " direction)",
        s.impairLossPercent, s.impairDelayMs, s.impairJitterMs, s.impair.toSeconds()));
    Thread.sleep(s.impair.toMillis());
    List<String> stats = new ArrayList<>();
    for (int i = 1; i <= CHECKERS.size(); i++) {
      stats.add(netlab("stats", Integer.toString(i)));
      netlab("heal", Integer.toString(i));
    }
    marks.put("heal", DrillClock.now());
    notes.put("probes_after", checkerProbes());
    notes.put("netlab_stats", stats);
    Thread.sleep(3000);
    phases.add(new Phase("f", String.format("%d %% loss, %d ± %d ms delay on every probe path",
        s.impairLossPercent, s.impairDelayMs, s.impairJitterMs), start, DrillClock.now(), marks, notes));
  }

  /** Each checker's probes so far: {vantage point: {region: {ok, failed}}}, from its /metrics. */
  private Map<String, Map<String, long[]>> checkerProbes() {
    Map<String, Map<String, long[]>> out = new LinkedHashMap<>();
    for (int i = 0; i < CHECKERS.size(); i++) {
      String vp = CHECKERS.get(i);
      String url = "http://127.0.0.1:" + checkerOpsPorts.get(vp) + "/metrics";
      String text = s.netns() ? netlab("exec", Integer.toString(i + 1), "curl", "-s", "--max-time", "5", url)
          : get(url).body();
      Map<String, long[]> byRegion = new LinkedHashMap<>();
      for (String line : text.split("\n")) {
        if (!line.startsWith("meridian_checker_probes_total{")) {
          continue;
        }
        String region = label(line, "region");
        boolean ok = "ok".equals(label(line, "result"));
        long n = (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        byRegion.computeIfAbsent(region, r -> new long[2])[ok ? 0 : 1] += n;
      }
      out.put(vp, byRegion);
    }
    return out;
  }

  private static String label(String line, String name) {
    int i = line.indexOf(name + "=\"");
    return i < 0 ? "" : line.substring(i + name.length() + 2, line.indexOf('"', i + name.length() + 2));
  }

  // ---- waits

  /** Every region active and healthy at full share in the latest plan, which every data plane serves. */
  private void awaitSteady(String when, Duration max) throws Exception {
    awaitSteady(when, max, false);
  }

  private void awaitSteady(String when, Duration max, boolean restartDead) throws Exception {
    awaitTrue("steady " + when + ": every region active, every data plane on the latest plan", max, "ctl-a", () -> {
      if (restartDead) {
        restartExitedDataPlanes();
      }
      DrillWatch.PlanView p = watch.latestPlan();
      if (p == null || watch.leader() == null) {
        return false;
      }
      boolean regions = p.regions().values().stream().allMatch(r -> "ACTIVE".equals(r.lifecycle())
          && "HEALTHY".equals(r.health()) && r.share() >= 0.999);
      Map<String, DrillWatch.DataPlanePlan> dp = watch.dataPlaneNow();
      return regions && dp.size() == dataPlaneOpsPorts.size()
          && dp.values().stream().allMatch(d -> d.connected() && d.version() >= p.version());
    }, () -> "\n  latest plan: " + watch.latestPlan() + "\n  leader: " + watch.leader() + "\n  data planes: "
        + watch.dataPlaneNow().values() + missingDataPlanes());
  }

  private final java.util.Set<String> restarted = new java.util.HashSet<>();

  /** Restarts (once each) a data-plane process whose JVM has exited. */
  private void restartExitedDataPlanes() {
    for (String name : dataPlaneOpsPorts.keySet()) {
      MeridianProcess p = processes.get(name);
      if (p != null && !p.alive() && restarted.add(name)) {
        try {
          log(name + " exited during start-up; restarting it once. Its log:\n"
              + EtcdMultiProcessTest.tail(p.log()));
          p.restart();
        } catch (Exception e) {
          throw new IllegalStateException("restart of " + name + " failed", e);
        }
      }
    }
  }

  /** The data planes that report no plan, each with whether it runs and its log's tail. */
  private String missingDataPlanes() {
    StringBuilder sb = new StringBuilder();
    Map<String, DrillWatch.DataPlanePlan> dp = watch.dataPlaneNow();
    for (String name : dataPlaneOpsPorts.keySet()) {
      boolean reports = dp.values().stream().anyMatch(d -> name.equals(d.process()));
      MeridianProcess p = processes.get(name);
      if (!reports && p != null) {
        String tail = EtcdMultiProcessTest.tail(p.log());
        sb.append("\n--- ").append(name).append(p.alive() ? " (running)" : " (exited)")
            .append(", no plan on its /readyz (ops port ").append(dataPlaneOpsPorts.get(name)).append("); log tail:\n")
            .append(tail.length() > 2500 ? tail.substring(tail.length() - 2500) : tail);
      }
    }
    return sb.toString();
  }

  private void awaitTrue(String what, Duration max, String logOf, BooleanSupplier condition) throws Exception {
    awaitTrue(what, max, logOf, condition, () -> "");
  }

  /** Waits for {@code condition}; when it does not hold in time, fails with {@code state} and a log's tail. */
  private void awaitTrue(String what, Duration max, String logOf, BooleanSupplier condition,
      java.util.function.Supplier<String> state) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    while (true) {
      boolean ok;
      try {
        ok = condition.getAsBoolean();
      } catch (RuntimeException notYet) {
        ok = false;
      }
      if (ok) {
        return;
      }
      if (System.nanoTime() > deadline) {
        MeridianProcess p = processes.get(logOf);
        throw new AssertionError("drill: not within " + max.toSeconds() + " s: " + what + state.get()
            + (p == null ? "" : "\n--- " + logOf + " log (tail):\n" + EtcdMultiProcessTest.tail(p.log())));
      }
      Thread.sleep(100);
    }
  }

  private static void sleepUntil(long micros) throws InterruptedException {
    long ms = (micros - DrillClock.now()) / 1000;
    if (ms > 0) {
      Thread.sleep(ms);
    }
  }

  // ---- clients of the drill's own

  private HttpResponse<String> get(String url) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(3))
          .header("Authorization", "Bearer " + Demo.ADMIN_TOKEN).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException(url + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private JsonObject admin(String controller, String path, JsonObject body) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
              + adminPorts.get(controller) + path)).timeout(Duration.ofSeconds(10))
          .header("Authorization", "Bearer " + Demo.ADMIN_TOKEN).header("content-type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(), HttpResponse.BodyHandlers.ofString());
      return r.body().startsWith("{") ? new JsonObject(r.body()) : new JsonObject().put("raw", r.body());
    } catch (IOException e) {
      return new JsonObject().put("error", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Runs netlab.sh with {@code args}; returns its output; fails the drill when it fails. */
  private String netlab(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(s.netlab.toString());
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
      }
      return out.strip();
    } catch (IOException e) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static int freePort(String host) {
    return io.meridian.core.LoopbackPorts.tcp(host);
  }

  private static void log(String line) {
    System.out.printf("[drill %tT] %s%n", System.currentTimeMillis(), line);
  }

  /** The log of one of the drill's processes (for a failing test's message). */
  String processLog(String name) {
    MeridianProcess p = processes.get(name);
    return p == null ? "" : p.log();
  }

  @Override
  public void close() throws Exception {
    if (partitionPath != null) {
      partitionPath.close();
    }
    processes.values().forEach(MeridianProcess::terminate);
    for (MeridianProcess p : processes.values()) {
      p.close();
    }
    if (etcd != null) {
      etcd.close();
      // etcd's write-ahead log preallocates 64 MB files: the work directory keeps the logs, configs and records only
      deleteRecursively(s.workDir.resolve("etcd").resolve("data"));
    }
    if (s.netns()) {
      try {
        netlab("down");
      } catch (RuntimeException e) {
        log("netlab down: " + e.getMessage());
      }
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  // ---- bench/drill/run.sh

  /**
   * {@code Drill [--netns NETLAB_SH] [--impair-minutes N] [--out FILE] [--meridian SCRIPT] [--work DIR] [--rps R]
   * [--capacity C] [--etcd-outage-seconds S]}: runs the full drill, prints the report, writes its JSON to FILE.
   * Exits 0 when every goal was met, 1 otherwise.
   */
  public static void main(String[] args) throws Exception {
    Settings s = new Settings();
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (a) {
        case "--netns" -> s.netlab = Path.of(v);
        case "--impair-minutes" -> s.impair = Duration.ofSeconds(Math.round(Double.parseDouble(v) * 60));
        case "--out" -> out = Path.of(v);
        case "--meridian" -> s.meridianScript = Path.of(v).toAbsolutePath();
        case "--work" -> s.workDir = Path.of(v);
        case "--rps" -> s.rps = Double.parseDouble(v);
        case "--capacity" -> s.capacityRps = Integer.parseInt(v);
        case "--etcd-outage-seconds" -> s.etcdOutage = Duration.ofSeconds(Long.parseLong(v));
        case "--command" -> s.command = v;
        default -> {
          System.err.println("unknown argument " + a);
          System.exit(2);
        }
      }
      i++;
    }
    if (s.workDir == null) {
      s.workDir = Files.createTempDirectory("meridian-drill");
    }
    DrillReport report;
    try (Drill drill = new Drill(s)) {
      report = drill.run();
    }
    System.out.println(report.text());
    if (out != null) {
      Files.writeString(out, report.json().encodePrettily());
      System.out.println("report JSON: " + out);
    }
    System.out.println("process logs: " + s.workDir.resolve("logs"));
    System.exit(report.allGoalsMet() ? 0 : 1);
  }
}
