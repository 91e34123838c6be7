package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.Health;
import io.meridian.core.Lifecycle;
import io.meridian.core.RegionState;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.ZoneRoute;
import io.meridian.core.ZoneRoutes;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.geo.Zones;
import io.meridian.core.ops.OpsEndpoints;
import io.meridian.geodns.GeoDnsRole;
import io.meridian.proxy.ProxyRole;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * One routing truth: for random plans (failures, drains, ramps, weighted zone routes) and random clients, the GeoDNS
 * role (asked with ECS for the client's /24) and the proxy (the client named by X-Forwarded-For) choose the same
 * region on a route that is not home- or residency-bound — both locate the client with the same database, key it
 * with core's {@code ClientKey} and decide in {@code RegionSelector.choose}. "No region" must agree too: the DNS
 * name's fallback (every region) against the proxy's 503.
 */
class DnsAndProxyAgreeTest {
  static final String[][] REGIONS = {
      {"us-east", "39.0", "-77.5", "192.0.2.1"}, {"us-west", "37.4", "-122.1", "192.0.2.2"},
      {"eu-west", "53.3", "-6.3", "192.0.2.3"}, {"ap-south", "19.1", "72.9", "192.0.2.4"},
      {"ap-east", "35.7", "139.7", "192.0.2.5"}};
  static final int NETS = 24;

  Vertx vertx;
  final List<HttpServer> upstreams = new ArrayList<>();
  ControlBus bus;
  GeoDnsRole dns;
  ProxyRole proxy;
  final Map<String, String> regionByAddress = new HashMap<>();
  final List<double[]> netLocations = new ArrayList<>();
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    Random random = new Random(7);
    StringBuilder y = new StringBuilder("version: 1\nregions:\n");
    for (String[] r : REGIONS) {
      String region = r[0];
      HttpServer s = vertx.createHttpServer().requestHandler(req -> req.response().end(region))
          .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
      upstreams.add(s);
      regionByAddress.put(r[3], region);
      // capacity far above this test's load: what is compared is the choice, not admission
      y.append("  - id: ").append(region).append("\n    latitude: ").append(r[1]).append("\n    longitude: ")
          .append(r[2]).append("\n    capacity_rps: 1000000\n    residency_group: global\n")
          .append("    dns: {a: [").append(r[3]).append("]}\n    upstreams: [http://127.0.0.1:")
          .append(s.actualPort()).append("]\n    health_check: {url: 'http://127.0.0.1:")
          .append(s.actualPort()).append("/health'}\n");
    }
    // 24 client networks (10.N.0.0/16) at random places on every continent; clients are /24s inside them
    y.append("geo:\n  nets:\n");
    for (int n = 0; n < NETS; n++) {
      double lat = -50 + random.nextDouble() * 110;
      double lon = -180 + random.nextDouble() * 360;
      netLocations.add(new double[] {lat, lon});
      y.append(String.format(java.util.Locale.ROOT,
          "    - {cidr: 10.%d.0.0/16, latitude: %.2f, longitude: %.2f, country: ZZ, continent: EU}%n", n, lat, lon));
    }
    y.append("""
        dns:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          rrl: {responses_per_second: 0}
          zones:
            - origin: example.test.
              ttl: 30s
              names:
                - name: www
        proxy:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          trusted_hops: 1
        """);
    MeridianConfig config = ConfigLoader.parse("agree.yaml", y.toString(), Path.of("."), Path.of("agree.yaml"));
    bus = ControlBus.inProcess(RoutingPlan.initial(config));
    GeoLocator geo = GeoLocator.open(vertx, config.geo());
    dns = GeoDnsRole.create(new RoleContext(vertx, config, bus, geo, OpsEndpoints.create(vertx, "dns")));
    dns.start().await(10, TimeUnit.SECONDS);
    proxy = ProxyRole.create(new RoleContext(vertx, config, bus, geo, OpsEndpoints.create(vertx, "proxy")));
    proxy.start().await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.stop().await(10, TimeUnit.SECONDS);
    }
    if (dns != null) {
      dns.stop().await(10, TimeUnit.SECONDS);
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void dnsAndProxyChooseTheSameRegionForEveryClientUnderRandomPlans() throws Exception {
    Random random = new Random(20261205);
    int compared = 0;
    int split = 0;
    int none = 0;
    TreeSet<String> seen = new TreeSet<>();
    for (int round = 0; round < 60; round++) {
      // every 12th plan leaves no region eligible (all failed or drained): fallback against 503
      RoutingPlan plan = randomPlan(bus.currentPlan(), random, round % 12 == 11);
      bus.publishPlan(plan).await(5, TimeUnit.SECONDS);
      for (int i = 0; i < 25; i++) {
        int net = random.nextInt(NETS);
        String client = "10." + net + "." + random.nextInt(256) + "." + (1 + random.nextInt(254));
        String byDns = askDns(client);
        String byProxy = askProxy(client);
        assertEquals(byDns, byProxy, "plan v" + plan.version() + " (" + describe(plan) + "), client " + client
            + " in zone " + Zones.id(zoneOf(net)));
        compared++;
        seen.add(byDns);
        none += byDns.equals("none") ? 1 : 0;
        split += plan.zones().get(zoneOf(net)) != null ? 1 : 0;
      }
    }
    // the random plans must have exercised what the property is about, or it proves nothing
    assertTrue(seen.size() >= 5, "regions chosen: " + seen);
    assertTrue(none > 0 && none < compared / 4, "clients with no eligible region: " + none + " of " + compared);
    assertTrue(split > compared / 5, "clients in zones with a weighted route: " + split + " of " + compared);
    System.out.printf("DNS and proxy agreed on %d clients (%d in weighted zones, %d with no region); regions %s%n",
        compared, split, none, seen);
  }

  private int zoneOf(int net) {
    return Zones.indexOf(netLocations.get(net)[0], netLocations.get(net)[1]);
  }

  /** Random health, lifecycle and share per region; weighted routes over 1–3 regions for about half the zones. */
  private RoutingPlan randomPlan(RoutingPlan prev, Random random, boolean noneEligible) {
    List<RegionState> states = new ArrayList<>();
    for (RegionState r : prev.regions()) {
      double h = noneEligible ? 0.95 : random.nextDouble();
      Health health = h < 0.7 ? Health.HEALTHY : h < 0.8 ? Health.DEGRADED : h < 0.9 ? Health.UNKNOWN : Health.FAILED;
      double l = random.nextDouble();
      Lifecycle lifecycle = l < 0.6 ? Lifecycle.ACTIVE : l < 0.75 ? Lifecycle.DRAINING : l < 0.9
          ? Lifecycle.RECOVERING : Lifecycle.DRAINED;
      double share = switch (lifecycle) {
        case DRAINING, RECOVERING -> 0.1 + random.nextDouble() * 0.8;
        case DRAINED, FAILED -> 0;
        default -> 1;
      };
      states.add(r.withHealth(health).withLifecycle(lifecycle, share));
    }
    Map<String, ZoneRoute> routes = new LinkedHashMap<>();
    for (int n = 0; n < NETS; n++) {
      if (random.nextBoolean()) {
        String zone = Zones.id(zoneOf(n));
        List<ZoneRoute.Choice> choices = new ArrayList<>();
        int k = 1 + random.nextInt(3);
        for (int c = 0; c < k; c++) {
          choices.add(new ZoneRoute.Choice(REGIONS[random.nextInt(REGIONS.length)][0], 0.1 + random.nextDouble()));
        }
        routes.put(zone, new ZoneRoute(zone, choices));
      }
    }
    return prev.next("random plan", states, ZoneRoutes.of(routes), prev.homes(), 0);
  }

  private static String describe(RoutingPlan p) {
    StringBuilder b = new StringBuilder();
    for (RegionState r : p.regions()) {
      b.append(r.id()).append('=').append(r.health()).append('/').append(r.lifecycle()).append('/')
          .append(String.format(java.util.Locale.ROOT, "%.2f", r.trafficShare())).append(' ');
    }
    return b.toString().trim();
  }

  /** The region named by the DNS answer for {@code client}'s /24 (ECS), or "none" for the fallback (every region). */
  private String askDns(String client) throws Exception {
    Message q = Message.newQuery(Record.newRecord(Name.fromConstantString("www.example.test."), Type.A, DClass.IN));
    q.addRecord(new OPTRecord(1232, 0, 0, 0, new ClientSubnetOption(24, InetAddress.getByName(client.substring(0, client.lastIndexOf('.')) + ".0"))),
        Section.ADDITIONAL);
    byte[] wire = q.toWire();
    try (DatagramSocket s = new DatagramSocket()) {
      s.setSoTimeout(3000);
      s.send(new DatagramPacket(wire, wire.length, InetAddress.getLoopbackAddress(), dns.dnsPort()));
      byte[] buf = new byte[1500];
      DatagramPacket p = new DatagramPacket(buf, buf.length);
      s.receive(p);
      Message r = new Message(java.util.Arrays.copyOf(buf, p.getLength()));
      List<String> regions = new ArrayList<>();
      for (Record rec : r.getSection(Section.ANSWER)) {
        if (rec instanceof ARecord a) {
          regions.add(regionByAddress.get(a.getAddress().getHostAddress()));
        }
      }
      return regions.size() == 1 ? regions.get(0) : regions.size() == REGIONS.length ? "none" : "dns:" + regions;
    }
  }

  /** The region that served {@code client} through the proxy, or "none" for its 503 no-eligible-region answer. */
  private String askProxy(String client) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/x"))
        .header("X-Forwarded-For", client).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() == 200) {
      return r.body();
    }
    return r.statusCode() == 503 && r.body().contains("no_region") ? "none" : "proxy:" + r.statusCode() + " " + r.body();
  }
}
