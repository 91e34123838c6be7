package io.meridian.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * The GeoDNS role: where it listens and which names it answers.
 *
 * @param listen                 UDP and TCP address for DNS
 * @param opsListen              HTTP address for /healthz, /readyz, /metrics
 * @param ecsMaxSourcePrefixV4   EDNS Client Subnet source prefixes longer than this are truncated (privacy, RFC 7871 §11.1)
 * @param ecsMaxSourcePrefixV6   same for IPv6
 * @param zones                  the zones served authoritatively
 */
public record DnsConfig(ListenAddress listen, ListenAddress opsListen, int ecsMaxSourcePrefixV4,
    int ecsMaxSourcePrefixV6, List<ZoneConfig> zones) {

  /**
   * A zone: its origin, an optional standard zone file for static records, and the geo names in it.
   *
   * @param origin  absolute zone name, e.g. {@code example.com.}
   * @param file    zone file (RFC 1035 master format) or null; SOA/NS are synthesised when absent
   * @param names   names answered from the routing plan
   */
  public record ZoneConfig(String origin, Path file, List<GeoName> names) {}

  /**
   * A name answered with the region the routing plan chooses for the client.
   *
   * @param name  absolute name, e.g. {@code www.example.com.}
   * @param ttl   answer TTL
   */
  public record GeoName(String name, Duration ttl) {}

  public static DnsConfig defaults() {
    return new DnsConfig(ListenAddress.parse("127.0.0.1:8053"), ListenAddress.parse("127.0.0.1:9153"), 24, 56,
        List.of());
  }

  static DnsConfig parse(ConfigNode n, Path baseDir) {
    n.rejectUnknownKeys(Set.of("listen", "ops_listen", "ecs_max_source_prefix_v4", "ecs_max_source_prefix_v6",
        "zones"));
    ListenAddress listen = n.listen("listen", "127.0.0.1:8053");
    ListenAddress ops = n.listen("ops_listen", "127.0.0.1:9153");
    int v4 = n.integer("ecs_max_source_prefix_v4", 24, 0, 32);
    int v6 = n.integer("ecs_max_source_prefix_v6", 56, 0, 128);
    List<ZoneConfig> zones = n.list("zones", z -> {
      z.rejectUnknownKeys(Set.of("origin", "file", "ttl", "names"));
      String origin = z.requiredString("origin");
      if (origin != null && !origin.endsWith(".")) {
        origin = origin + ".";
      }
      String file = z.string("file", null);
      Duration zoneTtl = z.duration("ttl", Duration.ofSeconds(30), Duration.ZERO);
      String o = origin;
      List<GeoName> names = z.list("names", g -> {
        g.rejectUnknownKeys(Set.of("name", "ttl"));
        String name = g.requiredString("name");
        Duration ttl = g.duration("ttl", zoneTtl, Duration.ZERO);
        if (name == null || o == null) {
          return null;
        }
        String abs = name.endsWith(".") ? name : ("@".equals(name) ? o : name + "." + o);
        if (!abs.toLowerCase().endsWith(o.toLowerCase())) {
          g.problem("name", "must be inside zone " + o + ", got '" + name + "'");
          return null;
        }
        return new GeoName(abs, ttl);
      });
      return origin == null ? null : new ZoneConfig(origin, file == null ? null : baseDir.resolve(file), names);
    });
    return new DnsConfig(listen, ops, v4, v6, zones);
  }
}
