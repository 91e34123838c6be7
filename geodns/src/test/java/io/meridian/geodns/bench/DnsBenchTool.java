package io.meridian.geodns.bench;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.geo.SyntheticGeoDb;
import io.meridian.core.ops.OpsEndpoints;
import io.meridian.geodns.GeoDnsRole;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Helper for bench/dns/run.sh.
 *
 * <ul>
 *   <li>{@code prepare DIR MERIDIAN_PORT GDNSD_PORT [NETWORKS] [SUBNETS]}: the synthetic City MMDB (core's
 *       {@link SyntheticGeoDb}), the same regions for Meridian (meridian.yaml) and gdnsd (gdnsd/config, geoip plugin
 *       with auto_dc_coords), and the dnsperf inputs: plain text queries and binary ECS queries from SUBNETS client
 *       /24s spread over every continent of the database.</li>
 *   <li>{@code serve CONFIG}: runs the GeoDNS role (native transport when available) until killed.</li>
 * </ul>
 */
public final class DnsBenchTool {
  static final String[][] REGIONS = {
      {"us-east", "39.04", "-77.49", "192.0.2.1"},
      {"eu-west", "53.35", "-6.26", "192.0.2.2"},
      {"ap-south", "19.08", "72.88", "192.0.2.3"},
  };

  private DnsBenchTool() {}

  public static void main(String[] args) throws Exception {
    if (args.length >= 4 && args[0].equals("prepare")) {
      prepare(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]),
          args.length > 4 ? Integer.parseInt(args[4]) : 10_000, args.length > 5 ? Integer.parseInt(args[5]) : 1000);
    } else if (args.length == 2 && args[0].equals("serve")) {
      serve(Path.of(args[1]));
    } else {
      System.err.println("usage: DnsBenchTool prepare DIR MERIDIAN_PORT GDNSD_PORT [NETWORKS] [SUBNETS]"
          + " | serve CONFIG");
      System.exit(2);
    }
  }

  static void prepare(Path dir, int meridianPort, int gdnsdPort, int networks, int subnets) throws Exception {
    Files.createDirectories(dir.resolve("gdnsd/geoip"));
    Files.createDirectories(dir.resolve("gdnsd/zones"));
    Files.createDirectories(dir.resolve("gdnsd/run"));
    Files.createDirectories(dir.resolve("gdnsd/state"));
    Path db = dir.resolve("city.mmdb");
    List<SyntheticGeoDb.Entry> entries = SyntheticGeoDb.writeCityDb(db, networks, 1);
    Files.copy(db, dir.resolve("gdnsd/geoip/city.mmdb"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);

    StringBuilder regions = new StringBuilder("version: 1\nregions:\n");
    for (String[] r : REGIONS) {
      regions.append("  - id: ").append(r[0]).append("\n    latitude: ").append(r[1]).append("\n    longitude: ")
          .append(r[2]).append("\n    capacity_rps: 100000\n    dns: {a: [").append(r[3])
          .append("]}\n    upstreams: [\"http://127.0.0.1:1\"]\n    health_check: {url: \"http://127.0.0.1:1/\"}\n");
    }
    Files.writeString(dir.resolve("meridian.yaml"), regions + """
        geo:
          database: city.mmdb
        dns:
          listen: 127.0.0.1:%d
          ops_listen: 127.0.0.1:0
          rrl: {responses_per_second: 0}    # a benchmark is one client prefix: RRL would measure itself
          # the plain mix comes from 127.0.0.1, which the database does not locate: gdnsd answers such a client
          # with its first datacenter, so Meridian does the same. Without this (default: resolver, then all
          # regions) the two servers answered the plain mix differently: gdnsd one address, Meridian all three
          unlocated: {region: us-east}
          zones:
            - origin: example.test.
              names:
                - {name: www, ttl: 30s}
        """.formatted(meridianPort));

    writeGdnsd(dir, gdnsdPort, REGIONS, 30);

    Files.writeString(dir.resolve("queries-plain.txt"), "www.example.test A\n");
    // ECS: SUBNETS distinct client /24s, round-robin over continents so every region is answered
    Map<String, List<SyntheticGeoDb.Entry>> byContinent = new TreeMap<>();
    for (SyntheticGeoDb.Entry e : entries) {
      if (e.cidr().contains(".")) {
        byContinent.computeIfAbsent(e.continentCode(), k -> new ArrayList<>()).add(e);
      }
    }
    List<SyntheticGeoDb.Entry> picked = new ArrayList<>();
    for (int i = 0; picked.size() < subnets; i++) {
      boolean any = false;
      for (List<SyntheticGeoDb.Entry> l : byContinent.values()) {
        if (i < l.size() && picked.size() < subnets) {
          picked.add(l.get(i));
          any = true;
        }
      }
      if (!any) {
        break;
      }
    }
    ByteArrayOutputStream bin = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bin);
    StringBuilder csv = new StringBuilder("cidr,continent,country,city\n");
    for (SyntheticGeoDb.Entry e : picked) {
      String net = e.cidr().substring(0, e.cidr().indexOf('/'));
      Message m = Message.newQuery(Record.newRecord(Name.fromConstantString("www.example.test."), Type.A, DClass.IN));
      m.addRecord(new OPTRecord(1232, 0, 0, 0, new ClientSubnetOption(24, InetAddress.getByName(net))),
          Section.ADDITIONAL);
      byte[] w = m.toWire();
      out.writeShort(w.length);
      out.write(w);
      csv.append(e.cidr()).append(',').append(e.continentCode()).append(',').append(e.countryIso()).append(',')
          .append(e.city()).append('\n');
    }
    Files.write(dir.resolve("queries-ecs.bin"), bin.toByteArray());
    Files.writeString(dir.resolve("ecs-subnets.csv"), csv);
    System.out.println("prepared " + dir + ": " + entries.size() + " networks, " + picked.size()
        + " ECS client subnets over " + byContinent.keySet());
  }

  static void serve(Path config) throws Exception {
    MeridianConfig cfg = ConfigLoader.load(config);
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true)
        .setEventLoopPoolSize(Integer.getInteger("loops", Runtime.getRuntime().availableProcessors())));
    ControlBus bus = ControlBus.inProcess(RoutingPlan.initial(cfg));
    GeoLocator geo = GeoLocator.open(vertx, cfg.geo());
    GeoDnsRole role = GeoDnsRole.create(new RoleContext(vertx, cfg, bus, geo, OpsEndpoints.create(vertx, "dns")));
    role.start().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    System.out.println("meridian geodns ready on port " + role.dnsPort() + " (native transport: "
        + vertx.isNativeTransportEnabled() + ")");
    new CountDownLatch(1).await();
  }

  /**
   * gdnsd's config and zone under {@code dir/gdnsd}: the geoip plugin on {@code dir/city.mmdb} with one datacenter
   * per region at its coordinates ({id, latitude, longitude, address}) and {@code www} answered from it.
   */
  static void writeGdnsd(Path dir, int gdnsdPort, String[][] regions, int ttlSeconds) throws java.io.IOException {
    StringBuilder dcs = new StringBuilder();
    StringBuilder coords = new StringBuilder();
    StringBuilder dcmap = new StringBuilder();
    for (String[] r : regions) {
      dcs.append(r[0]).append(", ");
      coords.append(r[0]).append(" => [ ").append(r[1]).append(", ").append(r[2]).append(" ], ");
      dcmap.append(r[0]).append(" => ").append(r[3]).append(", ");
    }
    Files.writeString(dir.resolve("gdnsd/config"), """
        options => {
          listen => [ 127.0.0.1 ]
          dns_port => %d
          udp_threads => 1
          tcp_threads => 1
          run_dir => %s
          state_dir => %s
        }
        plugins => {
          geoip => {
            maps => {
              geo => {
                geoip2_db => city.mmdb
                datacenters => [ %s ]
                auto_dc_coords => { %s }
              }
            }
            resources => {
              www => { map => geo, dcmap => { %s } }
            }
          }
        }
        """.formatted(gdnsdPort, dir.resolve("gdnsd/run").toAbsolutePath(), dir.resolve("gdnsd/state").toAbsolutePath(),
        dcs, coords, dcmap));
    Files.writeString(dir.resolve("gdnsd/zones/example.test"), """
        $TTL 3600
        @    SOA ns1 hostmaster 1 7200 1800 259200 30
        @    NS  ns1
        ns1  A   192.0.2.53
        www  %d  DYNA geoip!www
        """.formatted(ttlSeconds));
  }
}
