package io.meridian.geodns.bench;

import io.meridian.core.geo.SyntheticGeoDb;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Helper for bench/dns/ecs-scopes.sh: ECS scopes of Meridian and gdnsd on the same GeoLite-shaped database, asked
 * directly and through a caching ECS resolver.
 *
 * <ul>
 *   <li>{@code prepare DIR MERIDIAN_PORT MERIDIAN_OPS_PORT GDNSD_PORT [CLIENTS=1024 [HOLES=0]]}: a database in
 *       which every address of 10.0.0.0/8 is located ({@link SyntheticGeoDb#clusteredNetworks}, seed 1; with HOLES
 *       above 0, that share of its allocations is left unlocated), six regions on three
 *       continents for both servers (Meridian: meridian.yaml; gdnsd: gdnsd/config, geoip plugin with
 *       auto_dc_coords), and clients.txt: CLIENTS neighbouring client /24s from 10.64.0.0.</li>
 *   <li>{@code ask PORT CLIENTS_FILE OUT_FILE}: one ECS query per client /24 to 127.0.0.1:PORT, one at a time;
 *       writes {@code cidr scope answer ttl} per client and prints the scope distribution.</li>
 * </ul>
 */
public final class EcsScopeBench {
  /**
   * id, latitude, longitude, address. No city of the database is within 6 % of the same distance from its two
   * nearest regions, so Meridian (which ranks regions from the client's 1° zone) and gdnsd (from the client's
   * coordinates) agree on every answer.
   */
  static final String[][] REGIONS = {
      {"us-east", "39.04", "-77.49", "192.0.2.1"},
      {"us-west", "45.60", "-121.18", "192.0.2.2"},
      {"sa-east", "-23.55", "-46.63", "192.0.2.3"},
      {"eu-central", "50.11", "8.68", "192.0.2.4"},
      {"ap-south", "19.08", "72.88", "192.0.2.5"},
      {"ap-northeast", "35.68", "139.69", "192.0.2.6"},
  };
  /** Where the clients start: inside 10.0.0.0/8, with located neighbours on both sides. */
  static final int FIRST_CLIENT = 0x0A400000; // 10.64.0.0
  static final int TTL = 300;

  private EcsScopeBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length >= 5 && args[0].equals("prepare")) {
      prepare(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]),
          args.length > 5 ? Integer.parseInt(args[5]) : 1024, args.length > 6 ? Double.parseDouble(args[6]) : 0);
    } else if (args.length == 4 && args[0].equals("ask")) {
      ask(Integer.parseInt(args[1]), Path.of(args[2]), Path.of(args[3]));
    } else if (args.length == 2 && args[0].equals("model")) {
      model(Path.of(args[1]));
    } else {
      System.err.println("usage: EcsScopeBench prepare DIR MERIDIAN_PORT MERIDIAN_OPS_PORT GDNSD_PORT [CLIENTS [HOLES]]"
          + " | ask PORT CLIENTS_FILE OUT_FILE | model DIR");
      System.exit(2);
    }
  }

  static void prepare(Path dir, int meridianPort, int opsPort, int gdnsdPort, int clients, double holes)
      throws IOException {
    Files.createDirectories(dir.resolve("gdnsd/geoip"));
    Files.createDirectories(dir.resolve("gdnsd/zones"));
    Files.createDirectories(dir.resolve("gdnsd/run"));
    Files.createDirectories(dir.resolve("gdnsd/state"));
    List<SyntheticGeoDb.Entry> entries = SyntheticGeoDb.clusteredNetworks("10.0.0.0/8", 1, holes);
    Files.writeString(dir.resolve("holes"), Double.toString(holes));
    Path db = dir.resolve("city.mmdb");
    SyntheticGeoDb.write(db, entries, 1);
    Files.copy(db, dir.resolve("gdnsd/geoip/city.mmdb"), StandardCopyOption.REPLACE_EXISTING);
    List<String> csv = new ArrayList<>(List.of("cidr,country,continent,city"));
    entries.forEach(e -> csv.add(e.cidr() + "," + e.countryIso() + "," + e.continentCode() + "," + e.city()));
    Files.write(dir.resolve("networks.csv"), csv);

    StringBuilder regions = new StringBuilder("version: 1\nregions:\n");
    for (String[] r : REGIONS) {
      regions.append("  - id: ").append(r[0]).append("\n    latitude: ").append(r[1]).append("\n    longitude: ")
          .append(r[2]).append("\n    capacity_rps: 100000\n    dns: {a: [").append(r[3])
          .append("]}\n    upstreams: [\"http://127.0.0.1:1\"]\n    health_check: {url: \"http://127.0.0.1:1/\"}\n");
    }
    // unlocated: at us-east, as gdnsd answers clients it cannot locate with its datacenters list in order (with
    // HOLES 0 none is asked: every address of 10/8 is located; this keeps the two servers alike outside it too)
    Files.writeString(dir.resolve("meridian.yaml"), regions + """
        geo:
          database: city.mmdb
        dns:
          listen: 127.0.0.1:%d
          ops_listen: 127.0.0.1:%d
          rrl: {responses_per_second: 0}    # every query comes from the one resolver's /24
          unlocated: {region: us-east}
          zones:
            - origin: example.test.
              names:
                - {name: www, ttl: %ds}
        """.formatted(meridianPort, opsPort, TTL));

    DnsBenchTool.writeGdnsd(dir, gdnsdPort, REGIONS, TTL);

    List<String> subnets = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      subnets.add(dotted(FIRST_CLIENT + (i << 8)) + "/24");
    }
    Files.write(dir.resolve("clients.txt"), subnets);
    long located = entries.stream().mapToLong(e -> 1L << (32 - Integer.parseInt(e.cidr().split("/")[1]))).sum();
    System.out.printf("prepared %s: %d networks locating %.1f %% of 10.0.0.0/8, %d client /24s from %s to %s%n",
        dir, entries.size(), located * 100.0 / (1 << 24), clients, subnets.get(0), subnets.get(subnets.size() - 1));
  }

  static void ask(int port, Path clients, Path out) throws IOException {
    List<String> lines = new ArrayList<>();
    Map<Integer, Integer> scopes = new TreeMap<>();
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    int id = 0;
    try (DatagramSocket s = new DatagramSocket(0, loopback)) {
      s.setSoTimeout(5000);
      byte[] buf = new byte[65535];
      for (String cidr : Files.readAllLines(clients)) {
        String[] parts = cidr.split("/");
        Message q = Message.newQuery(Record.newRecord(Name.fromConstantString("www.example.test."), Type.A,
            DClass.IN));
        q.getHeader().setID(id = (id + 1) & 0xFFFF);
        q.addRecord(new OPTRecord(1232, 0, 0, 0, new ClientSubnetOption(Integer.parseInt(parts[1]),
            InetAddress.getByName(parts[0]))), Section.ADDITIONAL);
        byte[] wire = q.toWire();
        Message r = null;
        for (int attempt = 0; attempt < 3 && r == null; attempt++) { // a busy machine may be slow once
          s.send(new DatagramPacket(wire, wire.length, loopback, port));
          try {
            while (r == null) {
              DatagramPacket p = new DatagramPacket(buf, buf.length);
              s.receive(p);
              Message m = new Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
              if (m.getHeader().getID() == id) {
                r = m;
              }
            }
          } catch (SocketTimeoutException e) {
            // retried twice, then reported as "timeout"
          }
        }
        int scope = -1;
        String answer = "timeout";
        long ttl = -1;
        if (r != null) {
          OPTRecord opt = r.getOPT();
          List<EDNSOption> ecs = opt == null ? List.of() : opt.getOptions(EDNSOption.Code.CLIENT_SUBNET);
          scope = ecs.isEmpty() ? -1 : ((ClientSubnetOption) ecs.get(0)).getScopePrefixLength();
          List<String> addresses = new ArrayList<>();
          for (Record rec : r.getSection(Section.ANSWER)) {
            addresses.add(rec.rdataToString());
            ttl = rec.getTTL();
          }
          answer = addresses.isEmpty() ? Rcode.string(r.getRcode()) : String.join(",", addresses.stream().sorted()
              .toList());
        }
        scopes.merge(scope, 1, Integer::sum);
        lines.add(cidr + " " + scope + " " + answer + " " + ttl);
      }
    }
    Files.write(out, lines);
    StringBuilder sb = new StringBuilder();
    scopes.forEach((scope, n) -> sb.append(scope < 0 ? "none" : "/" + scope).append(' ').append(n).append("  "));
    System.out.println(sb.toString().trim());
  }

  static void model(Path dir) throws IOException {
    // the region ranking of every /24 of 10/8, as the first k regions by great-circle distance from its city
    double holes = Double.parseDouble(Files.readString(dir.resolve("holes")));
    List<SyntheticGeoDb.Entry> entries = SyntheticGeoDb.clusteredNetworks("10.0.0.0/8", 1, holes);
    // unlocated /24s: Meridian places them at us-east (dns.unlocated), whose nearest region is us-east; gdnsd
    // gives them its datacenters in configured order, of which the first three count
    int[] rank1 = new int[1 << 16];
    int[] rank3 = new int[1 << 16];
    java.util.Arrays.fill(rank1, ranking(Double.parseDouble(REGIONS[0][1]), Double.parseDouble(REGIONS[0][2]))[0]);
    java.util.Arrays.fill(rank3, (0 * REGIONS.length + 1) * REGIONS.length + 2);
    for (SyntheticGeoDb.Entry e : entries) {
      String[] net = e.cidr().split("[./]");
      int first = Integer.parseInt(net[1]) << 8 | Integer.parseInt(net[2]);
      int[] order = ranking(e.latitude(), e.longitude());
      int top1 = order[0];
      int top3 = (order[0] * REGIONS.length + order[1]) * REGIONS.length + order[2];
      for (int i = 0; i < 1 << (24 - Integer.parseInt(net[4])); i++) {
        rank1[first + i] = top1;
        rank3[first + i] = top3;
      }
    }
    StringBuilder sb = new StringBuilder();
    for (String server : List.of("meridian", "gdnsd")) {
      int same1 = 0;
      int same3 = 0;
      int n = 0;
      for (String line : Files.readAllLines(dir.resolve("direct-" + server + ".txt"))) {
        String[] f = line.split(" ");
        String[] a = f[0].split("[./]");
        int slash24 = Integer.parseInt(a[1]) << 8 | Integer.parseInt(a[2]);
        int scope = Integer.parseInt(f[1]);
        same1 += scope == widest(rank1, slash24) ? 1 : 0;
        same3 += scope == widest(rank3, slash24) ? 1 : 0;
        n++;
      }
      sb.append(String.format("   %s: scope = widest block of one nearest region for %d of %d clients,"
          + " = widest block of the same first three regions for %d%n", server, same1, n, same3));
    }
    System.out.print(sb);
  }

  /** Region indexes by distance from (lat, lon), nearest first. */
  static int[] ranking(double lat, double lon) {
    Integer[] idx = new Integer[REGIONS.length];
    double[] dist = new double[REGIONS.length];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = i;
      double la = Math.toRadians(Double.parseDouble(REGIONS[i][1]));
      double lo = Math.toRadians(Double.parseDouble(REGIONS[i][2]));
      double h = Math.pow(Math.sin((la - Math.toRadians(lat)) / 2), 2)
          + Math.cos(la) * Math.cos(Math.toRadians(lat)) * Math.pow(Math.sin((lo - Math.toRadians(lon)) / 2), 2);
      dist[i] = Math.asin(Math.sqrt(h));
    }
    java.util.Arrays.sort(idx, (x, y) -> Double.compare(dist[x], dist[y]));
    return java.util.Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
  }

  /** The widest prefix (/8../24) around the /24 whose /24s all have the same key ({@code key} indexed inside 10/8). */
  static int widest(int[] key, int slash24) {
    int best = 24;
    for (int prefix = 23; prefix >= 8; prefix--) {
      int size = 1 << (24 - prefix);
      int lo = slash24 & -size;
      for (int i = lo; i < lo + size; i++) {
        if (key[i] != key[slash24]) {
          return best;
        }
      }
      best = prefix;
    }
    return best;
  }

  static String dotted(int a) {
    return (a >>> 24) + "." + (a >>> 16 & 0xFF) + "." + (a >>> 8 & 0xFF) + "." + (a & 0xFF);
  }
}
