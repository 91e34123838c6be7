package io.meridian.geodns;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.Health;
import io.meridian.core.RegionState;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.xbill.DNS.Message;

/**
 * A real GeoDNS role on loopback (ephemeral ports) with three regions and {@code nets} overrides placing client
 * subnets on several continents, plus real clients: dig, kdig, and raw UDP/TCP with dnsjava messages.
 */
public final class DnsFixture implements AutoCloseable {
  /** us-east answers 192.0.2.1, eu-west 192.0.2.2, ap-south 192.0.2.3. */
  public static final String US = "192.0.2.1";
  public static final String EU = "192.0.2.2";
  public static final String AP = "192.0.2.3";
  /** ECS subnets and where the config places them. */
  public static final String LONDON = "198.51.100.0/24";
  public static final String NEW_YORK = "203.0.113.0/24";
  public static final String MUMBAI = "100.64.1.0/24";
  public static final String PARIS = "100.64.2.0/24";
  public static final String TOKYO = "100.64.3.0/24";

  public static final String REGIONS = """
      version: 1
      regions:
        - id: us-east
          latitude: 39.04
          longitude: -77.49
          capacity_rps: 1000
          residency_group: us
          dns: {a: [192.0.2.1], aaaa: ["2001:db8::1"]}
          upstreams: ["http://127.0.0.1:1"]
          health_check: {url: "http://127.0.0.1:1/healthz"}
        - id: eu-west
          latitude: 53.35
          longitude: -6.26
          capacity_rps: 1000
          residency_group: eu
          dns: {a: [192.0.2.2], aaaa: ["2001:db8::2"]}
          upstreams: ["http://127.0.0.1:1"]
          health_check: {url: "http://127.0.0.1:1/healthz"}
        - id: ap-south
          latitude: 19.08
          longitude: 72.88
          capacity_rps: 1000
          residency_group: in
          dns: {a: [192.0.2.3]}
          upstreams: ["http://127.0.0.1:1"]
          health_check: {url: "http://127.0.0.1:1/healthz"}
      geo:
        nets:
          - {cidr: 198.51.100.0/24, latitude: 51.51, longitude: -0.13, country: GB, continent: EU}
          - {cidr: 203.0.113.0/24, latitude: 40.71, longitude: -74.01, country: US, continent: NA}
          - {cidr: 100.64.1.0/24, latitude: 19.08, longitude: 72.88, country: IN, continent: AS}
          - {cidr: 100.64.2.0/24, latitude: 48.86, longitude: 2.35, country: FR, continent: EU}
          - {cidr: 100.64.3.0/24, latitude: 35.68, longitude: 139.69, country: JP, continent: AS}
          - {cidr: 100.65.0.0/16, latitude: 51.51, longitude: -0.13, country: GB, continent: EU}
          - {cidr: 127.0.0.0/8, latitude: 40.71, longitude: -74.01, country: US, continent: NA}
          - {cidr: "::1/128", latitude: 40.71, longitude: -74.01, country: US, continent: NA}
      """;

  public static final String DEFAULT_DNS = """
      dns:
        listen: 127.0.0.1:0
        ops_listen: 127.0.0.1:0
        rrl: {responses_per_second: 0}
        zones:
          - origin: example.test.
            ttl: 30s
            names:
              - name: www
      """;

  final Path dir;
  final Vertx vertx;
  final ControlBus bus;
  final GeoLocator geo;
  public final GeoDnsRole role;
  final MeridianConfig config;
  /** The role's ops endpoints (its metric registry). */
  public final OpsEndpoints ops;
  /**
   * The role's clock (TTL change windows) and the creation time of plans {@link #publish} makes: stands still
   * unless a test moves it.
   */
  public final TestClock clock = new TestClock(java.time.Instant.now());

  private DnsFixture(Path dir, MeridianConfig config) throws Exception {
    this.dir = dir;
    this.config = config;
    this.vertx = Vertx.vertx();
    this.bus = ControlBus.inProcess(RoutingPlan.initial(config));
    this.geo = GeoLocator.open(vertx, config.geo());
    this.ops = OpsEndpoints.create(vertx, "dns");
    this.role = GeoDnsRole.create(new RoleContext(vertx, config, bus, geo, ops), clock);
    await(role.start());
  }

  /** Starts with the default dns section. */
  public static DnsFixture start() throws Exception {
    return start(DEFAULT_DNS);
  }

  /** Starts with {@code dnsSection} (YAML, the whole {@code dns:} key) after the shared regions and nets. */
  static DnsFixture start(String dnsSection) throws Exception {
    Path dir = Files.createTempDirectory("geodns-test");
    return start(dir, dnsSection);
  }

  public static DnsFixture start(Path dir, String dnsSection) throws Exception {
    return startYaml(dir, REGIONS + dnsSection);
  }

  /** Same, with a GeoIP database file (relative to dir) checked for replacement every 100 ms. */
  static DnsFixture startWithGeoIp(Path dir, String database, String dnsSection) throws Exception {
    return startYaml(dir, REGIONS.replace("geo:\n  nets:", "geo:\n  database: " + database
        + "\n  reload_check_interval: 100ms\n  nets:") + dnsSection);
  }

  public static DnsFixture startYaml(Path dir, String yaml) throws Exception {
    Path file = dir.resolve("meridian.yaml");
    Files.writeString(file, yaml);
    return new DnsFixture(dir, ConfigLoader.load(file));
  }

  public int port() {
    return role.dnsPort();
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  /** Publishes the next plan, made now by {@link #clock}, with each region's state changed by {@code change}. */
  public RoutingPlan publish(String why, UnaryOperator<RegionState> change) throws Exception {
    RoutingPlan p = bus.currentPlan();
    List<RegionState> next = p.regions().stream().map(change).toList();
    return publish(why, next, p.zones());
  }

  /** Publishes the next plan, made now by {@link #clock}, with these region states and zone routes. */
  public RoutingPlan publish(String why, List<RegionState> regions, io.meridian.core.ZoneRoutes zones)
      throws Exception {
    RoutingPlan p = bus.currentPlan();
    RoutingPlan np = new RoutingPlan(p.version() + 1, clock.instant(), why, p.topology(), regions, zones, p.homes(),
        0);
    await(bus.publishPlan(np));
    return np;
  }

  /** Publishes a ready-made plan. */
  void fixture(RoutingPlan plan) throws Exception {
    await(bus.publishPlan(plan));
  }

  public RoutingPlan fail(String region) throws Exception {
    return publish("fail " + region, r -> r.id().equals(region) ? r.withHealth(Health.FAILED) : r);
  }

  /** Runs dig against the server; returns stdout. */
  public String dig(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("dig", "@127.0.0.1", "-p", Integer.toString(port()), "+time=3",
        "+tries=1"));
    cmd.addAll(Arrays.asList(args));
    return run(cmd);
  }

  /** Runs kdig against the server; returns stdout. */
  String kdig(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("kdig", "@127.0.0.1", "-p", Integer.toString(port()), "+time=3",
        "+retry=0"));
    cmd.addAll(Arrays.asList(args));
    return run(cmd);
  }

  /** dig +short: the answer lines. */
  public List<String> digShort(String... args) throws Exception {
    List<String> all = new ArrayList<>(Arrays.asList(args));
    all.add("+short");
    return dig(all.toArray(String[]::new)).lines().map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  static String run(List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out;
    try (InputStream in = p.getInputStream()) {
      out = in.readAllBytes();
    }
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("timed out: " + cmd);
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  /** An A query for {@code name} with an ECS option for {@code subnet} (a.b.c.d/len). */
  public static Message ecsQuery(String name, int type, String subnet) throws IOException {
    Message m = Message.newQuery(org.xbill.DNS.Record.newRecord(org.xbill.DNS.Name.fromConstantString(name), type,
        org.xbill.DNS.DClass.IN));
    String[] parts = subnet.split("/");
    m.addRecord(new org.xbill.DNS.OPTRecord(1232, 0, 0, 0, new org.xbill.DNS.ClientSubnetOption(
        Integer.parseInt(parts[1]), InetAddress.getByName(parts[0]))), org.xbill.DNS.Section.ADDITIONAL);
    return m;
  }

  /** The A/AAAA addresses in an answer, in order. */
  public static List<String> addresses(Message m) {
    List<String> out = new ArrayList<>();
    for (org.xbill.DNS.Record r : m.getSection(org.xbill.DNS.Section.ANSWER)) {
      if (r instanceof org.xbill.DNS.ARecord a) {
        out.add(a.getAddress().getHostAddress());
      } else if (r instanceof org.xbill.DNS.AAAARecord a) {
        out.add(a.getAddress().getHostAddress());
      }
    }
    return out;
  }

  /** One query over UDP from loopback; null on timeout. */
  public Message udp(Message query) throws IOException {
    byte[] raw = udpRaw(query.toWire());
    return raw == null ? null : new Message(raw);
  }

  public byte[] udpRaw(byte[] wire) throws IOException {
    try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      s.setSoTimeout(2000);
      s.send(new DatagramPacket(wire, wire.length, InetAddress.getLoopbackAddress(), port()));
      byte[] buf = new byte[65535];
      DatagramPacket p = new DatagramPacket(buf, buf.length);
      try {
        s.receive(p);
      } catch (java.net.SocketTimeoutException e) {
        return null;
      }
      return Arrays.copyOf(buf, p.getLength());
    }
  }

  /** Sends all queries on one TCP connection back to back, then reads as many answers. */
  List<Message> tcp(List<Message> queries) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port())) {
      s.setSoTimeout(5000);
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(all);
      for (Message q : queries) {
        byte[] w = q.toWire();
        out.writeShort(w.length);
        out.write(w);
      }
      s.getOutputStream().write(all.toByteArray());
      s.getOutputStream().flush();
      DataInputStream in = new DataInputStream(s.getInputStream());
      List<Message> answers = new ArrayList<>();
      for (int i = 0; i < queries.size(); i++) {
        int len = in.readUnsignedShort();
        byte[] b = new byte[len];
        in.readFully(b);
        answers.add(new Message(b));
      }
      return answers;
    }
  }

  @Override
  public void close() throws Exception {
    try {
      await(role.stop());
    } finally {
      geo.close();
      bus.close();
      await(vertx.close());
    }
  }
}
