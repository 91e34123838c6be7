package io.meridian.launcher;

import io.meridian.config.ConfigException;
import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * {@code meridian demo}: four simulated regional apps on loopback plus every role, configured by the bundled
 * demo config (no GeoIP database: {@code nets} overrides place client subnets on three continents). Two regions
 * share the eu residency group and the demand estimates are set so that the printed commands show a paced
 * drain, a drain refused for capacity and a home promotion ({@code DemoCommandsTest} runs them as printed).
 */
public final class Demo {
  /** The demo's admin token; its SHA-256 is what the demo config holds. */
  public static final String ADMIN_TOKEN = "demo-admin-token";
  public static final List<String> REGIONS = List.of("us-east", "eu-west", "eu-north", "ap-south");

  /** Every port the demo uses. */
  public record Ports(int dns, int dnsOps, int proxy, int proxyOps, int checkerOps, int admin, int appUsEast,
      int appEuWest, int appApSouth, int appEuNorth, int apiUsEast, int apiEuWest, int apiApSouth, int apiEuNorth) {

    /** The documented defaults, shifted by {@code offset}. */
    public static Ports standard(int offset) {
      return new Ports(8053 + offset, 9153 + offset, 8080 + offset, 9180 + offset, 9190 + offset, 9090 + offset,
          18081 + offset, 18082 + offset, 18083 + offset, 18084 + offset,
          18085 + offset, 18086 + offset, 18087 + offset, 18088 + offset);
    }

    /** Free ports chosen by the OS, for tests that run beside other servers. */
    public static Ports ephemeral() {
      return new Ports(freeUdpAndTcpPort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(),
          freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort());
    }

    int app(String region) {
      return switch (region) {
        case "us-east" -> appUsEast;
        case "eu-west" -> appEuWest;
        case "eu-north" -> appEuNorth;
        default -> appApSouth;
      };
    }

    /** The port of the region's second service, the demo's API ({@code /api/} on the proxy). */
    int api(String region) {
      return switch (region) {
        case "us-east" -> apiUsEast;
        case "eu-west" -> apiEuWest;
        case "eu-north" -> apiEuNorth;
        default -> apiApSouth;
      };
    }
  }

  private final Vertx vertx;
  private final Ports ports;
  private final Path configFile;
  private final List<DemoApp> apps;
  private final MeridianNode node;

  private Demo(Vertx vertx, Ports ports, Path configFile, List<DemoApp> apps, MeridianNode node) {
    this.vertx = vertx;
    this.ports = ports;
    this.configFile = configFile;
    this.apps = apps;
    this.node = node;
  }

  /** Writes the demo config into {@code workDir}, starts the apps and all roles. */
  public static Future<Demo> start(Vertx vertx, Path workDir, Ports ports) {
    Path file;
    MeridianConfig config;
    try {
      file = writeConfig(workDir, ports);
      config = ConfigLoader.load(file);
    } catch (IOException e) {
      return Future.failedFuture(e);
    } catch (ConfigException e) {
      return Future.failedFuture(new IllegalStateException("bundled demo config is invalid: " + e.getMessage(), e));
    }
    List<DemoApp> apps = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    DemoApp.Replication replication = new DemoApp.Replication();
    for (String region : REGIONS) {
      DemoApp app = DemoApp.create(vertx, region, REGIONS.stream().filter(r -> !r.equals(region)).toList(),
          replication);
      apps.add(app);
      chain = chain.compose(v -> app.listen("127.0.0.1", ports.app(region)).mapEmpty());
      DemoApp api = DemoApp.api(vertx, region);
      apps.add(api);
      chain = chain.compose(v -> api.listen("127.0.0.1", ports.api(region)).mapEmpty());
    }
    return chain
        .compose(v -> MeridianNode.start(vertx, file, config, EnumSet.allOf(MeridianNode.RoleName.class)))
        .map(node -> new Demo(vertx, ports, file, apps, node));
  }

  static Path writeConfig(Path workDir, Ports ports) throws IOException {
    String template;
    try (InputStream in = Demo.class.getResourceAsStream("/demo/meridian-demo.yaml")) {
      template = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Map<String, Integer> values = Map.of("dns", ports.dns(), "dns_ops", ports.dnsOps(), "proxy", ports.proxy(),
        "proxy_ops", ports.proxyOps(), "checker_ops", ports.checkerOps(), "admin", ports.admin(),
        "app_us_east", ports.appUsEast(), "app_eu_west", ports.appEuWest(), "app_ap_south", ports.appApSouth(),
        "app_eu_north", ports.appEuNorth());
    values = new java.util.HashMap<>(values);
    values.putAll(Map.of("api_us_east", ports.apiUsEast(), "api_eu_west", ports.apiEuWest(), "api_ap_south",
        ports.apiApSouth(), "api_eu_north", ports.apiEuNorth()));
    for (Map.Entry<String, Integer> e : values.entrySet()) {
      template = template.replace("{{" + e.getKey() + "}}", Integer.toString(e.getValue()));
    }
    template = template.replace("{{demo_token_sha256}}", sha256(ADMIN_TOKEN));
    Files.createDirectories(workDir);
    Path file = workDir.resolve("meridian-demo.yaml");
    Files.writeString(file, template, StandardCharsets.UTF_8);
    return file;
  }

  static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public Ports ports() {
    return ports;
  }

  public Path configFile() {
    return configFile;
  }

  public MeridianNode node() {
    return node;
  }

  public DemoApp app(String region) {
    return apps.stream().filter(a -> a.region().equals(region)).findFirst().orElseThrow();
  }

  /**
   * What {@code meridian demo} prints once everything listens. Every indented line that starts with {@code dig},
   * {@code curl} or {@code ./meridian} is a command that works as printed, in this order; a comment after it says
   * what it answers ({@code DemoCommandsTest} runs them all and checks that).
   */
  public String instructions() {
    int d = ports.dns();
    String ctl = "./meridian ctl --admin http://127.0.0.1:" + ports.admin() + " --token " + ADMIN_TOKEN;
    return String.join("\n",
        "",
        "Meridian demo is running. Regions (simulated apps on loopback: web app, then API):",
        "  us-east   http://127.0.0.1:" + ports.appUsEast() + " " + ports.apiUsEast()
            + "   DNS answer 127.0.10.1   residency group us,"
            + " capacity 2,000 rps",
        "  eu-west   http://127.0.0.1:" + ports.appEuWest() + " " + ports.apiEuWest()
            + "   DNS answer 127.0.20.1   residency group eu,"
            + " capacity 6,000 rps",
        "  eu-north  http://127.0.0.1:" + ports.appEuNorth() + " " + ports.apiEuNorth()
            + "   DNS answer 127.0.40.1   residency group eu,"
            + " capacity 2,000 rps",
        "  ap-south  http://127.0.0.1:" + ports.appApSouth() + " " + ports.apiApSouth()
            + "   DNS answer 127.0.30.1   residency group in,"
            + " capacity 2,000 rps",
        "Meridian:",
        "  GeoDNS      127.0.0.1:" + d + " (UDP+TCP)   ops http://127.0.0.1:" + ports.dnsOps() + "/metrics",
        "  L7 proxy    http://127.0.0.1:" + ports.proxy() + "   ops http://127.0.0.1:" + ports.proxyOps() + "/metrics",
        "  checker     ops http://127.0.0.1:" + ports.checkerOps() + "/metrics",
        "  controller  admin API http://127.0.0.1:" + ports.admin() + "  (token: " + ADMIN_TOKEN + ")",
        "  console     http://127.0.0.1:" + ports.admin() + "/console/  (open it in a browser, sign in with the token)",
        "  config      " + configFile + " (edits apply live)",
        "  demand      6,000 rps estimated (controller.demand_estimates); regions are planned up to 80% of capacity",
        "",
        "Ask GeoDNS as a US, a European and an Indian client (EDNS Client Subnet):",
        "  dig @127.0.0.1 -p " + d + " www.demo.meridian.test A +subnet=198.51.100.0/24 +short   # -> 127.0.10.1 us-east",
        "  dig @127.0.0.1 -p " + d + " www.demo.meridian.test A +subnet=203.0.113.0/24 +short   # -> 127.0.20.1 eu-west",
        "  dig @127.0.0.1 -p " + d + " www.demo.meridian.test A +subnet=192.0.2.0/24 +short     # -> 127.0.30.1 ap-south",
        "",
        "Go through the proxy (127.0.0.1 is placed in Europe, 127.0.0.2 in the US, 127.0.0.3 in India):",
        "  curl -s http://127.0.0.1:" + ports.proxy() + "/                       # hello from eu-west",
        "  curl -s --interface 127.0.0.2 http://127.0.0.1:" + ports.proxy() + "/  # hello from us-east",
        "Each region fronts two services; /api/ goes to its API (service api), the rest to its web app:",
        "  curl -s http://127.0.0.1:" + ports.proxy() + "/api/orders   # " + apiAnswer("eu-west"),
        "",
        "Operate the controller with meridian ctl (export MERIDIAN_TOKEN=" + ADMIN_TOKEN + " to leave out --token):",
        "  " + ctl + " status   # regions, load, capacity, utilisation",
        "",
        "Drain eu-west, the big EU region: refused, because the other regions lack the headroom for its traffic.",
        "The refusal names the rule and the numbers (--dry-run: nothing would change even if it were accepted):",
        "  " + ctl + " drain eu-west --reason 'demo: too big to drain' --dry-run"
            + "   # REFUSED (409 CAPACITY_EXCEEDED): 1200.0 rps would find no region within headroom ...",
        "",
        "Drain eu-north: its traffic moves to eu-west in steps, a quarter every 2 s, within eu-west's headroom.",
        "Run status a few times: eu-north goes DRAINING with SHARE 0.75, 0.50, 0.25, then DRAINED; undrain brings",
        "it back with a slow start:",
        "  " + ctl + " drain eu-north --reason 'demo: paced drain'   # APPLIED: drain eu-north",
        "  " + ctl + " status   # eu-north DRAINING 0.75 ... then DRAINED",
        "  " + ctl + " undrain eu-north --reason 'demo: drain over'   # APPLIED: undrain eu-north",
        "",
        "Promote eu-west's home to its successor eu-north (same residency group): the users whose home is eu-west",
        "write to eu-north and eu-west is fenced; unpromote gives the home back:",
        "  " + ctl + " promote eu-west --reason 'demo: home promotion'"
            + "   # users homed in eu-west move from eu-west to eu-north",
        "  " + ctl + " unpromote eu-west --reason 'demo: promotion over'   # APPLIED: unpromote eu-west",
        "",
        "Break a region and watch DNS and the proxy move away within ~2 seconds:",
        "  curl -s -X POST http://127.0.0.1:" + ports.appUsEast() + "/admin/break   # us-east is now broken",
        "  dig @127.0.0.1 -p " + d + " www.demo.meridian.test A +subnet=198.51.100.0/24 +short   # -> 127.0.20.1 eu-west",
        "  curl -s --interface 127.0.0.2 http://127.0.0.1:" + ports.proxy() + "/  # hello from eu-west",
        "  curl -s --interface 127.0.0.2 http://127.0.0.1:" + ports.proxy() + "/api/orders   # "
            + apiAnswer("eu-west"),
        "  curl -s -H 'Authorization: Bearer " + ADMIN_TOKEN + "' http://127.0.0.1:" + ports.admin()
            + "/v1/plan   # the routing plan as JSON",
        "Restore it (traffic returns after the failback hold-down and a ramp):",
        "  curl -s -X POST http://127.0.0.1:" + ports.appUsEast() + "/admin/restore   # us-east is restored",
        "",
        "Press Ctrl-C to stop everything.",
        "");
  }

  /** What the demo's API answers {@code GET /api/orders} with in {@code region}. */
  private static String apiAnswer(String region) {
    return "{\"service\":\"api\",\"region\":\"" + region + "\",\"path\":\"/api/orders\"}";
  }

  public Future<Void> stop() {
    Future<Void> f = node.stop();
    for (DemoApp app : apps) {
      f = f.eventually(app::close);
    }
    return f;
  }

  static int freePort() {
    return io.meridian.core.LoopbackPorts.tcp();
  }

  static int freeUdpAndTcpPort() {
    return io.meridian.core.LoopbackPorts.udpAndTcp();
  }
}
