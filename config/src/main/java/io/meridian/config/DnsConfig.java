package io.meridian.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The GeoDNS role: where it listens, which zones and names it answers, and how it protects itself.
 * Every key is documented with its default in docs/CONFIG.md ("dns").
 *
 * @param listen                    UDP and TCP address for DNS
 * @param opsListen                 HTTP address for /healthz, /readyz, /metrics, /v1/explain
 * @param ecsMaxSourcePrefixV4      EDNS Client Subnet source prefixes longer than this are truncated (privacy, RFC 7871 §11.1)
 * @param ecsMaxSourcePrefixV6      same for IPv6
 * @param zones                     the zones served authoritatively
 * @param udpPayloadSize            EDNS UDP payload size we advertise and honour at most (RFC 6891 §6.2.5)
 * @param tcpIdleTimeout            an idle TCP connection is closed after this (RFC 7766 §6.2.3)
 * @param udpSockets                UDP sockets bound with SO_REUSEPORT, one per event loop (native transport only)
 * @param zoneReloadCheckInterval   how often zone files are checked for replacement
 * @param explainLabel              TXT queries for {@code <label>.<geo name>} explain the answer; empty disables
 * @param rrl                       response rate limiting
 * @param nsid                      what NSID (RFC 5001) and CH {@code id.server} answer, or off
 * @param cookies                   DNS cookies (RFC 7873, server cookies per RFC 9018)
 * @param explain                   who may ask {@code _explain} names and {@code /v1/explain}
 * @param unlocated                 where clients without a location (no GeoIP entry, no nets match) are sent
 */
public record DnsConfig(ListenAddress listen, ListenAddress opsListen, int ecsMaxSourcePrefixV4,
    int ecsMaxSourcePrefixV6, List<ZoneConfig> zones, int udpPayloadSize, Duration tcpIdleTimeout, int udpSockets,
    Duration zoneReloadCheckInterval, String explainLabel, RrlConfig rrl, Nsid nsid, CookieConfig cookies,
    ExplainAccess explain, Unlocated unlocated) {

  private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_-]{0,62}");
  private static final Pattern COUNTRY = Pattern.compile("[A-Z]{2}");
  private static final Pattern CONTINENT = Pattern.compile("AF|AN|AS|EU|NA|OC|SA");

  /**
   * A zone: its origin, an optional standard zone file for static records, and the geo names in it.
   *
   * @param origin  absolute zone name, e.g. {@code example.com.}
   * @param file    zone file (RFC 1035 master format) or null; SOA/NS are synthesised when absent
   * @param names   names answered from the routing plan
   * @param dnssec  online DNSSEC signing, or null for an unsigned zone
   */
  public record ZoneConfig(String origin, Path file, List<GeoName> names, Dnssec dnssec) {
    /** An unsigned zone. */
    public ZoneConfig(String origin, Path file, List<GeoName> names) {
      this(origin, file, names, null);
    }
  }

  /**
   * Online DNSSEC signing of one zone (the geodns README, "DNSSEC").
   *
   * @param keys               key pairs as BIND writes them: each the path of a {@code K<zone>+<alg>+<tag>} pair
   *                           without its {@code .key}/{@code .private} suffix; every listed key is published and
   *                           signs (keys with the SEP flag sign the DNSKEY RRset, the others everything else; a
   *                           set of SEP keys only is a CSK set)
   * @param signatureValidity  how long each RRSIG is valid from its inception; signatures are renewed after a
   *                           quarter of it
   */
  public record Dnssec(List<Path> keys, Duration signatureValidity) {
    /** Default signature validity: a week, as BIND's default for non-DNSKEY signatures is two. */
    public static final Duration DEFAULT_VALIDITY = Duration.ofDays(7);
  }

  /**
   * A name answered with the region the routing plan chooses for the client.
   *
   * @param name           absolute name, e.g. {@code www.example.com.}
   * @param ttl            answer TTL
   * @param transitionTtl  TTL of answers that move a client or follow a recent change — failover, drain, ramp,
   *                        spill, fallback (never above {@code ttl}); the geodns README has the rules
   * @param fallback       what to answer when no region is eligible
   * @param geofences      clients in listed countries/continents only ever get the listed regions
   */
  public record GeoName(String name, Duration ttl, Duration transitionTtl, Fallback fallback,
      List<Geofence> geofences) {
    /** A name with defaults for everything but its TTL. */
    public GeoName(String name, Duration ttl) {
      this(name, ttl, min(ttl, Duration.ofSeconds(5)), Fallback.ALL_REGIONS, List.of());
    }
  }

  /**
   * The answer when no region is eligible, one of: {@code all} (fail open: every region's addresses),
   * {@code servfail}, or a last resort {@code {cname: sorry.example.net.}} / {@code {a: [...], aaaa: [...]}}.
   */
  public record Fallback(Kind kind, String cname, List<String> a, List<String> aaaa) {
    public static final Fallback ALL_REGIONS = new Fallback(Kind.ALL, null, List.of(), List.of());

    /** The fallback kinds. */
    public enum Kind { ALL, SERVFAIL, LAST_RESORT }
  }

  /** Clients located in one of {@code countries} or {@code continents} are only ever given {@code regions}. */
  public record Geofence(List<String> countries, List<String> continents, List<String> regions) {
    /** Whether a client located in {@code country}/{@code continent} (either may be null) is fenced by this. */
    public boolean covers(String country, String continent) {
      return covers(countries, continents, country, continent);
    }

    /**
     * The one definition of who a geofence covers, for GeoDNS's answers and the controller's explanations: a
     * listed country or a listed continent.
     */
    public static boolean covers(java.util.Collection<String> countries, java.util.Collection<String> continents,
        String country, String continent) {
      return (country != null && countries.contains(country)) || (continent != null && continents.contains(continent));
    }
  }

  /**
   * Response Rate Limiting per (client /24 or /56, name, type), as BIND and Knot do.
   *
   * @param responsesPerSecond  UDP responses per second per key; 0 disables
   * @param slip                every slip-th limited response is sent truncated (TC=1) instead of dropped; 0 = drop all
   * @param slots               counter table size: bounds memory under a flood of distinct prefixes
   */
  public record RrlConfig(int responsesPerSecond, int slip, int slots) {
    public static final RrlConfig DEFAULTS = new RrlConfig(100, 2, 65536);
  }

  /**
   * The NSID (RFC 5001) payload: the host name of the machine (read when the role starts), a configured text, the
   * bytes of a hex string, or none ({@code nsid: off}: NSID requests get no NSID option, {@code id.server} REFUSED).
   */
  public record Nsid(Kind kind, String value) {
    public static final Nsid HOSTNAME = new Nsid(Kind.HOSTNAME, null);
    public static final Nsid OFF = new Nsid(Kind.OFF, null);

    /** Where the payload comes from. */
    public enum Kind { HOSTNAME, TEXT, HEX, OFF }
  }

  /**
   * DNS cookies (RFC 7873) with the interoperable server cookie of RFC 9018.
   *
   * @param enabled         false: COOKIE options are ignored (never echoed, never checked)
   * @param secretFile      file with the 128-bit secret in hex, optionally the previous one on a second line (still
   *                        accepted); re-read when it changes. Null: a random secret made at start
   * @param secretRotation  how often a generated secret is replaced (the previous one stays accepted for an hour,
   *                        the lifetime of a server cookie); unused with a secret file
   */
  public record CookieConfig(boolean enabled, Path secretFile, Duration secretRotation) {
    public static final CookieConfig DEFAULTS = new CookieConfig(true, null, Duration.ofDays(1));
  }

  /**
   * Who may ask for explanations ({@code TXT <explain_label>.<geo name>} and {@code GET /v1/explain}): nobody
   * ({@code off}), everybody ({@code on}) or the clients inside {@code networks} (by transport source address, never
   * the ECS address, which any client can write).
   */
  public record ExplainAccess(Mode mode, List<String> networks) {
    /** Loopback and private networks (RFC 1918, RFC 4193 unique local, RFC 6598 shared address space). */
    public static final List<String> PRIVATE = List.of("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12",
        "192.168.0.0/16", "100.64.0.0/10", "fc00::/7");
    public static final ExplainAccess DEFAULTS = new ExplainAccess(Mode.NETWORKS, PRIVATE);

    /** The access modes. */
    public enum Mode { OFF, ON, NETWORKS }
  }

  /**
   * Where a client that cannot be located is sent: {@code resolver} — as if it were where its resolver (the
   * transport source) is, when that one is located, else {@code region} when given, else every region; {@code
   * region} — as if it were at {@code region}'s coordinates (that region, its nearest neighbours when it is out);
   * {@code all} — every eligible region's addresses.
   */
  public record Unlocated(Policy policy, String region) {
    public static final Unlocated DEFAULTS = new Unlocated(Policy.RESOLVER, null);

    /** The policies. */
    public enum Policy { RESOLVER, REGION, ALL }
  }

  public static DnsConfig defaults() {
    return new DnsConfig(ListenAddress.parse("127.0.0.1:8053"), ListenAddress.parse("127.0.0.1:9153"), 24, 56,
        List.of(), 1232, Duration.ofSeconds(10), 1, Duration.ofSeconds(2), "_explain", RrlConfig.DEFAULTS,
        Nsid.HOSTNAME, CookieConfig.DEFAULTS, ExplainAccess.DEFAULTS, Unlocated.DEFAULTS);
  }

  static DnsConfig parse(ConfigNode n, Path baseDir) {
    n.rejectUnknownKeys(Set.of("listen", "ops_listen", "ecs_max_source_prefix_v4", "ecs_max_source_prefix_v6",
        "zones", "udp_payload_size", "tcp_idle_timeout", "udp_sockets", "zone_reload_check_interval",
        "explain_label", "rrl", "nsid", "cookies", "explain", "unlocated"));
    ListenAddress listen = n.listen("listen", "127.0.0.1:8053");
    ListenAddress ops = n.listen("ops_listen", "127.0.0.1:9153");
    int v4 = n.integer("ecs_max_source_prefix_v4", 24, 0, 32);
    int v6 = n.integer("ecs_max_source_prefix_v6", 56, 0, 128);
    // 512 is the pre-EDNS maximum (RFC 1035 §2.3.4); above 4096 fragmentation is all but certain
    int payload = n.integer("udp_payload_size", 1232, 512, 4096);
    Duration idle = n.duration("tcp_idle_timeout", Duration.ofSeconds(10), Duration.ofSeconds(1));
    int sockets = n.integer("udp_sockets", 1, 1, 64);
    Duration reload = n.duration("zone_reload_check_interval", Duration.ofSeconds(2), Duration.ofMillis(100));
    String explain = n.child("explain_label").isPresent()
        ? n.string("explain_label", "_explain", LABEL, "a single DNS label like _explain") : "_explain";
    RrlConfig rrl = parseRrl(n.child("rrl"));
    Nsid nsid = parseNsid(n.child("nsid"));
    CookieConfig cookies = parseCookies(n.child("cookies"), baseDir);
    ExplainAccess explainAccess = parseExplain(n.child("explain"));
    Unlocated unlocated = parseUnlocated(n.child("unlocated"));
    List<ZoneConfig> zones = n.list("zones", z -> {
      z.rejectUnknownKeys(Set.of("origin", "file", "ttl", "transition_ttl", "names", "dnssec"));
      String origin = z.requiredString("origin");
      if (origin != null && !origin.endsWith(".")) {
        origin = origin + ".";
      }
      String file = z.string("file", null);
      Duration zoneTtl = z.duration("ttl", Duration.ofSeconds(30), Duration.ZERO);
      Duration zoneTransition = z.duration("transition_ttl", min(zoneTtl, Duration.ofSeconds(5)), Duration.ZERO);
      wholeSeconds(z, "ttl", zoneTtl);
      wholeSeconds(z, "transition_ttl", zoneTransition);
      String o = origin;
      List<GeoName> names = z.list("names", g -> {
        g.rejectUnknownKeys(Set.of("name", "ttl", "transition_ttl", "fallback", "geofences"));
        String name = g.requiredString("name");
        Duration ttl = g.duration("ttl", zoneTtl, Duration.ZERO);
        Duration transition = g.duration("transition_ttl", min(ttl, zoneTransition), Duration.ZERO);
        wholeSeconds(g, "ttl", ttl);
        wholeSeconds(g, "transition_ttl", transition);
        if (transition.compareTo(ttl) > 0) {
          g.problem("transition_ttl", "must be at most ttl (" + ConfigNode.formatDuration(ttl) + "), got "
              + ConfigNode.formatDuration(transition));
        }
        Fallback fallback = parseFallback(g.child("fallback"));
        List<Geofence> fences = g.list("geofences", DnsConfig::parseGeofence);
        if (name == null || o == null) {
          return null;
        }
        String abs = name.endsWith(".") ? name : ("@".equals(name) ? o : name + "." + o);
        if (!abs.toLowerCase().endsWith(o.toLowerCase())) {
          g.problem("name", "must be inside zone " + o + ", got '" + name + "'");
          return null;
        }
        return new GeoName(abs, ttl, transition, fallback, fences);
      });
      Dnssec dnssec = parseDnssec(z.child("dnssec"), baseDir);
      return origin == null ? null
          : new ZoneConfig(origin, file == null ? null : baseDir.resolve(file), names, dnssec);
    });
    return new DnsConfig(listen, ops, v4, v6, zones, payload, idle, sockets, reload, explain, rrl, nsid, cookies,
        explainAccess, unlocated);
  }

  private static final Pattern HEX = Pattern.compile("([0-9A-Fa-f]{2}){1,128}");
  /** Printable ASCII: what dig and kdig show as the NSID's text. */
  private static final Pattern NSID_TEXT = Pattern.compile("[\\x21-\\x7E][\\x20-\\x7E]{0,127}");

  /** absent: the host name | {@code off} | a text | {@code {hex: 6d6572}}. */
  private static Nsid parseNsid(ConfigNode n) {
    if (!n.isPresent()) {
      return Nsid.HOSTNAME;
    }
    if (n.child("hex").isPresent()) {
      n.rejectUnknownKeys(Set.of("hex"));
      String hex = n.string("hex", null, HEX, "1 to 128 bytes as hex digits, like 6d6572696469616e");
      return hex == null ? Nsid.HOSTNAME : new Nsid(Nsid.Kind.HEX, hex.toLowerCase(java.util.Locale.ROOT));
    }
    String s = n.asString(null);
    if (s == null) {
      return Nsid.HOSTNAME; // asString reported what it found instead
    }
    if (s.equals("off") || s.equals("false")) {
      return Nsid.OFF;
    }
    if (!NSID_TEXT.matcher(s).matches()) {
      n.problem("must be off, printable ASCII text of 1 to 128 characters, or {hex: ...}, got '" + s + "'");
      return Nsid.HOSTNAME;
    }
    return new Nsid(Nsid.Kind.TEXT, s);
  }

  /** {@code {keys: [K...], signature_validity: 7d}}; the key files must exist (their content is read by geodns). */
  private static Dnssec parseDnssec(ConfigNode d, Path baseDir) {
    if (!d.isPresent()) {
      return null;
    }
    d.rejectUnknownKeys(Set.of("keys", "signature_validity"));
    // at least an hour, so a signature outlives a re-sign check and a resolver's cache of the answer; at most 90
    // days, so a leaked signature cannot be replayed for long (RFC 6781 §4.4.2)
    Duration validity = d.duration("signature_validity", Dnssec.DEFAULT_VALIDITY, Duration.ofHours(1));
    if (validity.compareTo(Duration.ofDays(90)) > 0) {
      d.problem("signature_validity", "must be at most " + ConfigNode.formatDuration(Duration.ofDays(90)) + " (90 days),"
          + " got " + ConfigNode.formatDuration(validity));
    }
    List<String> names = d.stringList("keys");
    if (names.isEmpty()) {
      d.problem("keys", "must list at least one key (the path of a K<zone>+<alg>+<tag> pair without .key/.private;"
          + " meridian dnssec keygen makes one)");
      return null;
    }
    List<Path> keys = new java.util.ArrayList<>();
    for (String k : names) {
      String base = k.endsWith(".key") ? k.substring(0, k.length() - 4)
          : k.endsWith(".private") ? k.substring(0, k.length() - 8) : k;
      Path p = baseDir.resolve(base);
      for (String suffix : List.of(".key", ".private")) {
        Path f = p.resolveSibling(p.getFileName() + suffix);
        if (!java.nio.file.Files.isRegularFile(f)) {
          d.problem("keys", "'" + k + "': cannot read " + f + " (expected: a .key and a .private file, as"
              + " dnssec-keygen or meridian dnssec keygen write them)");
        }
      }
      keys.add(p);
    }
    return new Dnssec(List.copyOf(keys), validity);
  }

  private static CookieConfig parseCookies(ConfigNode c, Path baseDir) {
    if (!c.isPresent()) {
      return CookieConfig.DEFAULTS;
    }
    c.rejectUnknownKeys(Set.of("enabled", "secret_file", "secret_rotation"));
    boolean enabled = c.bool("enabled", true);
    String file = c.string("secret_file", null);
    // a rotation shorter than a cookie's lifetime (1 h, RFC 9018 §4.3) would turn away cookies still valid
    Duration rotation = c.duration("secret_rotation", CookieConfig.DEFAULTS.secretRotation(), Duration.ofHours(1));
    return new CookieConfig(enabled, file == null ? null : baseDir.resolve(file), rotation);
  }

  /** {@code off} | {@code on} | a list of CIDRs. */
  private static ExplainAccess parseExplain(ConfigNode e) {
    if (!e.isPresent()) {
      return ExplainAccess.DEFAULTS;
    }
    if (!e.isList()) {
      String s = e.asString(null);
      if ("on".equals(s) || "true".equals(s)) {
        return new ExplainAccess(ExplainAccess.Mode.ON, List.of());
      }
      if ("off".equals(s) || "false".equals(s)) {
        return new ExplainAccess(ExplainAccess.Mode.OFF, List.of());
      }
      e.problem("must be off, on or a list of client networks like [127.0.0.0/8, 10.0.0.0/8], got '" + s + "'");
      return ExplainAccess.DEFAULTS;
    }
    List<String> nets = e.asList().stream().map(x -> x.asString(null)).toList();
    for (String cidr : nets) {
      if (cidr != null && !GeoConfig.validCidr(cidr)) {
        e.problem("must list CIDRs like 10.0.0.0/8 or fc00::/7, got '" + cidr + "'");
      }
    }
    List<String> valid = nets.stream().filter(x -> x != null && GeoConfig.validCidr(x)).toList();
    return new ExplainAccess(ExplainAccess.Mode.NETWORKS, valid);
  }

  /** {@code resolver} | {@code all} | {@code {policy: resolver|region|all, region: ID}}. */
  private static Unlocated parseUnlocated(ConfigNode u) {
    if (!u.isPresent()) {
      return Unlocated.DEFAULTS;
    }
    boolean mapping = u.child("policy").isPresent() || u.child("region").isPresent();
    String policyText;
    String region = null;
    if (mapping) {
      u.rejectUnknownKeys(Set.of("policy", "region"));
      region = u.string("region", null);
      policyText = u.string("policy", region != null ? "region" : "resolver");
    } else {
      policyText = u.asString(null);
      if (policyText == null) {
        return Unlocated.DEFAULTS;
      }
    }
    Unlocated.Policy policy = switch (policyText) {
      case "resolver" -> Unlocated.Policy.RESOLVER;
      case "region" -> Unlocated.Policy.REGION;
      case "all" -> Unlocated.Policy.ALL;
      default -> null;
    };
    ConfigNode at = mapping ? u.child("policy") : u;
    if (policy == null) {
      at.problem("must be resolver, region or all, got '" + policyText + "'");
      return Unlocated.DEFAULTS;
    }
    if (policy == Unlocated.Policy.REGION && region == null) {
      u.problem("region", "is required with policy region (the region unlocated clients are sent to)");
      return Unlocated.DEFAULTS;
    }
    if (policy == Unlocated.Policy.ALL && region != null) {
      u.problem("region", "has no meaning with policy all");
    }
    return new Unlocated(policy, region);
  }

  private static RrlConfig parseRrl(ConfigNode r) {
    if (!r.isPresent()) {
      return RrlConfig.DEFAULTS;
    }
    r.rejectUnknownKeys(Set.of("responses_per_second", "slip", "slots"));
    int rps = r.integer("responses_per_second", RrlConfig.DEFAULTS.responsesPerSecond(), 0, 1_000_000);
    int slip = r.integer("slip", RrlConfig.DEFAULTS.slip(), 0, 10);
    int slots = r.integer("slots", RrlConfig.DEFAULTS.slots(), 1024, 1 << 24);
    return new RrlConfig(rps, slip, slots);
  }

  /** {@code all} | {@code servfail} | {@code {cname: NAME}} | {@code {a: [...], aaaa: [...]}}. */
  private static Fallback parseFallback(ConfigNode f) {
    if (!f.isPresent()) {
      return Fallback.ALL_REGIONS;
    }
    boolean mapping = f.child("cname").isPresent() || f.child("a").isPresent() || f.child("aaaa").isPresent();
    String scalar = mapping ? null : f.asString(null);
    if (!mapping) {
      if (scalar == null) {
        return Fallback.ALL_REGIONS; // asString already reported what it found instead
      }
      return switch (scalar) {
        case "all" -> Fallback.ALL_REGIONS;
        case "servfail" -> new Fallback(Fallback.Kind.SERVFAIL, null, List.of(), List.of());
        default -> {
          f.problem("must be 'all', 'servfail', {cname: NAME} or {a: [...], aaaa: [...]}, got '" + scalar + "'");
          yield Fallback.ALL_REGIONS;
        }
      };
    }
    f.rejectUnknownKeys(Set.of("cname", "a", "aaaa"));
    String cname = f.string("cname", null);
    List<String> a = f.stringList("a");
    List<String> aaaa = f.stringList("aaaa");
    for (String s : a) {
      if (s.contains(":") || !isAddress(s)) {
        f.child("a").problem("must be IPv4 addresses, got '" + s + "'");
      }
    }
    for (String s : aaaa) {
      if (!s.contains(":") || !isAddress(s)) {
        f.child("aaaa").problem("must be IPv6 addresses, got '" + s + "'");
      }
    }
    if (cname != null && (!a.isEmpty() || !aaaa.isEmpty())) {
      f.problem("takes either cname or a/aaaa addresses, not both");
    }
    if (cname == null && a.isEmpty() && aaaa.isEmpty()) {
      f.problem("must name a cname or a/aaaa addresses");
      return Fallback.ALL_REGIONS;
    }
    if (cname != null && !cname.endsWith(".")) {
      cname = cname + ".";
    }
    return new Fallback(Fallback.Kind.LAST_RESORT, cname, List.copyOf(a), List.copyOf(aaaa));
  }

  private static Geofence parseGeofence(ConfigNode g) {
    g.rejectUnknownKeys(Set.of("countries", "continents", "regions"));
    List<String> countries = g.stringList("countries");
    List<String> continents = g.stringList("continents");
    List<String> regions = g.stringList("regions");
    for (String c : countries) {
      if (!COUNTRY.matcher(c).matches()) {
        g.child("countries").problem("must be ISO 3166-1 alpha-2 codes like DE, got '" + c + "'");
      }
    }
    for (String c : continents) {
      if (!CONTINENT.matcher(c).matches()) {
        g.child("continents").problem("must be one of AF AN AS EU NA OC SA, got '" + c + "'");
      }
    }
    if (countries.isEmpty() && continents.isEmpty()) {
      g.problem("must list countries or continents to fence");
    }
    if (regions.isEmpty()) {
      g.problem("regions", "must list the regions fenced clients may be given");
    }
    return new Geofence(List.copyOf(countries), List.copyOf(continents), List.copyOf(regions));
  }

  private static boolean isAddress(String s) {
    return s.matches("[0-9a-fA-F:.]+") && GeoConfig.validCidr(s + (s.contains(":") ? "/128" : "/32"));
  }

  /**
   * TTLs go on the wire as whole seconds (RFC 2181 §8): refuse what would be silently cut (1500ms would serve 1),
   * and the transition-TTL windows (2 × transition_ttl) are timed from the same value.
   */
  private static void wholeSeconds(ConfigNode n, String key, Duration d) {
    if (n.child(key).isPresent() && d.toNanos() % 1_000_000_000L != 0) {
      n.problem(key, "must be a whole number of seconds (a DNS TTL), got " + ConfigNode.formatDuration(d));
    }
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }
}
