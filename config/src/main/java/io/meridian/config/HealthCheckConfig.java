package io.meridian.config;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The health-checker role. With the defaults a dead region is declared failed within
 * fall × interval + timeout + report_interval = 2 × 500 ms + 400 ms + 250 ms = 1.65 s.
 *
 * @param interval               time between probes of one target
 * @param timeout                a probe that takes longer fails
 * @param rise                   consecutive successes to become healthy
 * @param fall                   consecutive failures to become unhealthy
 * @param reportInterval         how often the checker publishes its report
 * @param vantagePoint           name of this checker instance in reports (the first of {@code vantagePoints})
 * @param opsListen              HTTP address for /healthz, /readyz, /metrics and /v1/evidence
 * @param vantagePoints          checker instances this process runs (one in production; several in the demo)
 * @param reportTtl              a report is valid this long after it is made, then counts as "unknown"
 * @param userAgent              User-Agent of HTTP probes, so a WAF in front of a region can allow the checker
 * @param bodyMaxBytes           at most this much of an HTTP response body is read (body match, watermarks)
 * @param overprovisioningFactor a region is HEALTHY while healthy endpoints × factor ≥ 100 % (Envoy's rule)
 * @param quorum                 vantage points that must agree to fail a region; 0 = a majority of those voting
 * @param flapHoldDown           first hold-down for a region that fails again soon after recovering
 * @param flapHoldDownMax        the hold-down doubles per repeated failure up to this
 * @param flapDecay              each period this long without a new failure forgets one flap
 * @param passive                thresholds for passive signals from proxies' traffic reports
 * @param minVantagePoints       probes fail or degrade a region only while at least this many vantage points count
 * @param fallTimeouts           consecutive failures that make an endpoint DOWN when every one of them is a timeout
 *                               (a lossy path can fake a timeout, never a refused connection or an HTTP 500)
 * @param timeoutMax             the adaptive probe timeout grows with the path's measured round trips up to this
 */
public record HealthCheckConfig(Duration interval, Duration timeout, int rise, int fall, Duration reportInterval,
    String vantagePoint, ListenAddress opsListen, List<String> vantagePoints, Duration reportTtl, String userAgent,
    int bodyMaxBytes, double overprovisioningFactor, int quorum, Duration flapHoldDown, Duration flapHoldDownMax,
    Duration flapDecay, Passive passive, int minVantagePoints, int fallTimeouts, Duration timeoutMax) {

  /**
   * Probing faster than this loads the targets more than it speeds detection: detection is dominated by
   * fall × interval + timeout, and a 100 ms probe already puts ~10 requests/s per checker on every target.
   */
  public static final Duration MIN_INTERVAL = Duration.ofMillis(100);

  public static final String DEFAULT_USER_AGENT = "Meridian-HealthChecker/0.1";

  public HealthCheckConfig {
    vantagePoints = List.copyOf(vantagePoints);
  }

  /** The seven keys of the walking skeleton; everything else at its default. */
  public HealthCheckConfig(Duration interval, Duration timeout, int rise, int fall, Duration reportInterval,
      String vantagePoint, ListenAddress opsListen) {
    this(interval, timeout, rise, fall, reportInterval, vantagePoint, opsListen, List.of(vantagePoint),
        reportInterval.multipliedBy(4), DEFAULT_USER_AGENT, 4096, 1.4, 0, Duration.ofSeconds(5),
        Duration.ofMinutes(5), Duration.ofMinutes(1), Passive.defaults(), 1, Math.max(fall, DEFAULT_FALL_TIMEOUTS),
        defaultTimeoutMax(timeout, interval));
  }

  public static HealthCheckConfig defaults() {
    return new HealthCheckConfig(Duration.ofMillis(500), Duration.ofMillis(400), 2, 2, Duration.ofMillis(250),
        "local", ListenAddress.parse("127.0.0.1:9190"));
  }

  /** This config with other probe timing (tests and benchmarks). */
  public HealthCheckConfig withTiming(Duration newInterval, Duration newTimeout, int newRise, int newFall,
      Duration newReport) {
    return new HealthCheckConfig(newInterval, newTimeout, newRise, newFall, newReport, vantagePoint, opsListen,
        vantagePoints, newReport.multipliedBy(4), userAgent, bodyMaxBytes, overprovisioningFactor, quorum,
        flapHoldDown, flapHoldDownMax, flapDecay, passive, minVantagePoints, Math.max(newFall, fallTimeouts),
        defaultTimeoutMax(newTimeout, newInterval));
  }

  /** Consecutive timeouts that make an endpoint DOWN by default (see {@code fall_timeouts}). */
  public static final int DEFAULT_FALL_TIMEOUTS = 4;

  /**
   * By default the adaptive timeout may grow to three probe intervals (1.5 s with the defaults), never below the
   * configured timeout: on a path with 200 ms of jitter a probe needs two round trips of up to 800 ms.
   */
  static Duration defaultTimeoutMax(Duration timeout, Duration interval) {
    Duration three = interval.multipliedBy(3);
    return three.compareTo(timeout) > 0 ? three : timeout;
  }

  static HealthCheckConfig parse(ConfigNode n) {
    n.rejectUnknownKeys(Set.of("interval", "timeout", "rise", "fall", "report_interval", "vantage_point",
        "vantage_points", "ops_listen", "report_ttl", "user_agent", "body_max_bytes", "overprovisioning_factor",
        "quorum", "flap_hold_down", "flap_hold_down_max", "flap_decay", "passive", "min_vantage_points",
        "fall_timeouts", "timeout_max"));
    HealthCheckConfig d = defaults();
    Duration interval = n.duration("interval", d.interval(), MIN_INTERVAL);
    Duration timeout = n.duration("timeout", d.timeout(), Duration.ofMillis(10));
    if (timeout.compareTo(interval) > 0) {
      n.problem("timeout", "must not exceed interval (" + ConfigNode.formatDuration(interval) + "), got "
          + ConfigNode.formatDuration(timeout));
    }
    int rise = n.integer("rise", d.rise(), 1, 100);
    int fall = n.integer("fall", d.fall(), 1, 100);
    Duration report = n.duration("report_interval", d.reportInterval(), Duration.ofMillis(50));
    // a oneof: one name, or the list of names this process runs; both at once would be ambiguous
    String vp = n.string("vantage_point", d.vantagePoint(), RegionConfig.ID, "lowercase letters, digits and '-'");
    List<String> vps = new ArrayList<>();
    if (n.child("vantage_points").isPresent()) {
      if (n.child("vantage_point").isPresent()) {
        n.problem("vantage_points", "give either vantage_point or vantage_points, not both");
      }
      List<ConfigNode> items = n.list("vantage_points");
      for (ConfigNode item : items) {
        String name = item.asString(null);
        if (name == null || !RegionConfig.ID.matcher(name).matches()) {
          item.problem("must be lowercase letters, digits and '-', got " + (name == null ? "nothing" : "'" + name + "'"));
        } else if (vps.contains(name)) {
          item.problem("duplicate vantage point '" + name + "'");
        } else {
          vps.add(name);
        }
      }
      if (items.isEmpty()) {
        n.problem("vantage_points", "must list at least one name");
      }
    }
    if (vps.isEmpty()) {
      vps.add(vp);
    }
    ListenAddress ops = n.listen("ops_listen", "127.0.0.1:9190");
    // a report must outlive at least two report periods, or one late publish makes the region "unknown"
    Duration ttl = n.duration("report_ttl", report.multipliedBy(4), report.multipliedBy(2));
    String ua = n.string("user_agent", DEFAULT_USER_AGENT, Pattern.compile("[\\x21-\\x7e][\\x20-\\x7e]{0,199}"),
        "printable ASCII, 1-200 characters");
    int bodyMax = n.integer("body_max_bytes", 4096, 64, 1 << 20);
    double factor = n.number("overprovisioning_factor", 1.4, 1.0, 100.0);
    int quorum = n.integer("quorum", 0, 0, 100);
    if (quorum > vps.size() && n.child("vantage_points").isPresent()) {
      n.problem("quorum", "must not exceed the number of vantage_points (" + vps.size() + "), got " + quorum);
    }
    Duration hold = n.duration("flap_hold_down", Duration.ofSeconds(5), Duration.ZERO);
    Duration holdMax = n.duration("flap_hold_down_max", Duration.ofMinutes(5), Duration.ZERO);
    if (holdMax.compareTo(hold) < 0) {
      n.problem("flap_hold_down_max", "must be at least flap_hold_down (" + ConfigNode.formatDuration(hold)
          + "), got " + ConfigNode.formatDuration(holdMax));
    }
    Duration decay = n.duration("flap_decay", Duration.ofMinutes(1), Duration.ofSeconds(1));
    Passive passive = Passive.parse(n.child("passive"));
    int minVps = n.integer("min_vantage_points", 1, 1, 100);
    if (minVps > vps.size() && n.child("vantage_points").isPresent()) {
      n.problem("min_vantage_points", "must not exceed the number of vantage_points (" + vps.size() + "), got "
          + minVps);
    }
    int fallTimeouts = n.integer("fall_timeouts", Math.max(fall, DEFAULT_FALL_TIMEOUTS), 1, 100);
    if (fallTimeouts < fall) {
      n.problem("fall_timeouts", "must be at least fall (" + fall + "): a timeout is weaker evidence than a"
          + " refused connection, got " + fallTimeouts);
    }
    Duration timeoutMax = n.duration("timeout_max", defaultTimeoutMax(timeout, interval), Duration.ofMillis(10));
    if (timeoutMax.compareTo(timeout) < 0) {
      n.problem("timeout_max", "must be at least timeout (" + ConfigNode.formatDuration(timeout) + "), got "
          + ConfigNode.formatDuration(timeoutMax));
    }
    return new HealthCheckConfig(interval, timeout, rise, fall, report, vps.get(0), ops, vps, ttl, ua, bodyMax,
        factor, quorum, hold, holdMax, decay, passive, minVps, fallTimeouts, timeoutMax);
  }

  /**
   * Passive signals: what real traffic through the proxies says about a region that probes may not see.
   *
   * @param degradedErrorRate  a region whose traffic fails at least this fraction (0..1) is DEGRADED
   * @param failedErrorRate    ... at least this fraction is FAILED
   * @param minRps             below this much traffic, error rates are noise and ignored
   * @param ejectionsDegraded  this many outlier ejections in one report make the region DEGRADED (0 = off)
   * @param ttl                a traffic report counts this long after it was made
   */
  public record Passive(double degradedErrorRate, double failedErrorRate, double minRps, int ejectionsDegraded,
      Duration ttl) {
    public static Passive defaults() {
      return new Passive(0.2, 0.5, 1.0, 1, Duration.ofSeconds(5));
    }

    static Passive parse(ConfigNode n) {
      n.rejectUnknownKeys(Set.of("degraded_error_rate", "failed_error_rate", "min_rps", "ejections_degraded",
          "ttl"));
      Passive d = defaults();
      double degraded = n.number("degraded_error_rate", d.degradedErrorRate(), 0.0, 1.0);
      double failed = n.number("failed_error_rate", d.failedErrorRate(), 0.0, 1.0);
      if (failed < degraded) {
        n.problem("failed_error_rate", "must be at least degraded_error_rate (" + degraded + "), got " + failed);
      }
      double minRps = n.number("min_rps", d.minRps(), 0.0, Double.MAX_VALUE);
      int ejections = n.integer("ejections_degraded", d.ejectionsDegraded(), 0, 1_000_000);
      Duration ttl = n.duration("ttl", d.ttl(), Duration.ofMillis(100));
      return new Passive(degraded, failed, minRps, ejections, ttl);
    }
  }

  /** The kinds of active probe. */
  public enum ProbeKind { HTTP, TCP, DNS }

  /** An inclusive range of acceptable HTTP status codes, e.g. {@code 200-299}. */
  public record StatusRange(int from, int to) {
    public static final List<StatusRange> SUCCESS = List.of(new StatusRange(200, 299));
    private static final Pattern RANGE = Pattern.compile("([1-5]\\d\\d)(?:-([1-5]\\d\\d))?");

    public boolean contains(int status) {
      return status >= from && status <= to;
    }

    @Override
    public String toString() {
      return from == to ? Integer.toString(from) : from + "-" + to;
    }

    static StatusRange parse(ConfigNode at, String s) {
      Matcher m = s == null ? null : RANGE.matcher(s.trim());
      if (m == null || !m.matches()) {
        at.problem("must be a status code or range like 200 or 200-399, got " + (s == null ? "nothing" : "'" + s + "'"));
        return null;
      }
      int from = Integer.parseInt(m.group(1));
      int to = m.group(2) == null ? from : Integer.parseInt(m.group(2));
      if (to < from) {
        at.problem("range must be low-high, got '" + s + "'");
        return null;
      }
      return new StatusRange(from, to);
    }
  }

  /**
   * One thing the checker probes in a region.
   *
   * @param kind          HTTP (http:// or https:// URL), TCP (connect only) or DNS (a query over UDP)
   * @param name          readable target label used in evidence and metrics, e.g. {@code tcp://10.0.0.1:5432}
   * @param url           HTTP: the URL (scheme, host, port, path and query)
   * @param host          address to connect to
   * @param port          port to connect to
   * @param method        HTTP: request method
   * @param hostHeader    HTTP: Host header (and TLS SNI); null = the URL's host
   * @param expectStatus  HTTP: acceptable status codes
   * @param bodyMatch     HTTP: a substring the first body_max_bytes of the body must contain; null = any body
   * @param tlsVerify     HTTPS: verify the certificate chain and host name
   * @param dnsQuery      DNS: the name to ask for
   * @param dnsType       DNS: the record type (A, AAAA, SOA, ...)
   */
  public record Endpoint(ProbeKind kind, String name, URI url, String host, int port, String method,
      String hostHeader, List<StatusRange> expectStatus, String bodyMatch, boolean tlsVerify, String dnsQuery,
      String dnsType) {

    public Endpoint {
      expectStatus = List.copyOf(expectStatus);
    }

    /** A plain HTTP GET expecting 2xx, as {@code health_check.url} declares. */
    public static Endpoint http(URI url) {
      return new Endpoint(ProbeKind.HTTP, url.toString(), url, url.getHost(), RegionConfig.portOf(url), "GET",
          null, StatusRange.SUCCESS, null, true, null, null);
    }

    public static Endpoint tcp(String host, int port) {
      return new Endpoint(ProbeKind.TCP, "tcp://" + hostPort(host, port), null, host, port, null, null, List.of(),
          null, false, null, null);
    }

    public static Endpoint dns(String host, int port, String query, String type) {
      return new Endpoint(ProbeKind.DNS, "dns://" + hostPort(host, port) + "/" + query + "/" + type, null, host,
          port, null, null, List.of(), null, false, query, type);
    }

    public boolean https() {
      return url != null && "https".equals(url.getScheme());
    }

    private static String hostPort(String host, int port) {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  private static final Pattern METHOD = Pattern.compile("GET|HEAD|POST|OPTIONS");
  private static final Pattern DNS_NAME = Pattern.compile("([A-Za-z0-9_]([A-Za-z0-9_-]{0,62})?\\.)*"
      + "[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})?\\.?");
  private static final Set<String> DNS_TYPES = Set.of("A", "AAAA", "SOA", "NS", "CNAME", "TXT", "MX", "SRV");

  /**
   * Parses a region's {@code health_check}: {@code url} (shorthand for one HTTP GET) and/or {@code endpoints},
   * each one of {@code http:}, {@code tcp:} or {@code dns:} with its options. Problems are recorded on the node.
   */
  static List<Endpoint> parseRegionChecks(ConfigNode hc) {
    hc.rejectUnknownKeys(Set.of("url", "endpoints"));
    List<Endpoint> out = new ArrayList<>();
    ConfigNode urlNode = hc.child("url");
    if (urlNode.isPresent()) {
      URI u = RegionConfig.httpUrl(urlNode, urlNode.asString(null));
      if (u != null) {
        out.add(Endpoint.http(u));
      }
    }
    List<ConfigNode> eps = hc.list("endpoints");
    for (ConfigNode e : eps) {
      Endpoint ep = parseEndpoint(e);
      if (ep != null) {
        out.add(ep);
      }
    }
    if (!urlNode.isPresent() && eps.isEmpty()) {
      hc.problem("must give url or endpoints (e.g. url: http://10.0.0.1:8080/health)");
    }
    return List.copyOf(out);
  }

  private static Endpoint parseEndpoint(ConfigNode e) {
    List<String> kinds = new ArrayList<>();
    for (String k : List.of("http", "tcp", "dns")) {
      if (e.child(k).isPresent()) {
        kinds.add(k);
      }
    }
    if (kinds.size() != 1) {
      e.rejectUnknownKeys(Set.of("http", "tcp", "dns", "method", "host_header", "expect_status", "body_match",
          "tls_verify", "query", "type"));
      e.problem("must have exactly one of http, tcp or dns, got " + (kinds.isEmpty() ? "none" : kinds));
      return null;
    }
    String kind = kinds.get(0);
    switch (kind) {
      case "http" -> {
        e.rejectUnknownKeys(Set.of("http", "method", "host_header", "expect_status", "body_match", "tls_verify"));
        URI u = RegionConfig.httpUrl(e.child("http"), e.child("http").asString(null));
        String method = e.string("method", "GET", METHOD, "one of GET, HEAD, POST, OPTIONS");
        String host = e.string("host_header", null, DNS_NAME, "a host name");
        List<StatusRange> ranges = e.child("expect_status").isPresent()
            ? statusRanges(e) : StatusRange.SUCCESS;
        String body = e.string("body_match", null);
        if (body != null && body.isEmpty()) {
          e.problem("body_match", "must not be empty (omit it to accept any body)");
        }
        boolean verify = e.bool("tls_verify", true);
        if (u == null) {
          return null;
        }
        return new Endpoint(ProbeKind.HTTP, u.toString(), u, u.getHost(), RegionConfig.portOf(u), method, host,
            ranges, body, verify, null, null);
      }
      case "tcp" -> {
        e.rejectUnknownKeys(Set.of("tcp"));
        ListenAddress a = hostPort(e.child("tcp"));
        return a == null ? null : Endpoint.tcp(a.host(), a.port());
      }
      default -> {
        e.rejectUnknownKeys(Set.of("dns", "query", "type"));
        ListenAddress a = hostPort(e.child("dns"));
        String q = e.requiredString("query");
        if (q != null && !DNS_NAME.matcher(q).matches()) {
          e.problem("query", "must be a DNS name like app.example.com, got '" + q + "'");
          q = null;
        }
        String type = e.string("type", "A").toUpperCase(Locale.ROOT);
        if (!DNS_TYPES.contains(type)) {
          e.problem("type", "must be one of " + new java.util.TreeSet<>(DNS_TYPES) + ", got '" + type + "'");
          return null;
        }
        return a == null || q == null ? null : Endpoint.dns(a.host(), a.port(), q, type);
      }
    }
  }

  private static ListenAddress hostPort(ConfigNode at) {
    String s = at.asString(null);
    ListenAddress a = ListenAddress.parse(s);
    if (a == null || a.port() == 0) {
      at.problem("must be host:port with a port 1-65535 (e.g. 10.0.0.1:5432), got "
          + (s == null ? "nothing" : "'" + s + "'"));
      return null;
    }
    return a;
  }

  private static List<StatusRange> statusRanges(ConfigNode e) {
    // a single code is accepted where a list is expected: `expect_status: 204`
    ConfigNode at = e.child("expect_status");
    List<StatusRange> out = new ArrayList<>();
    List<String> items = e.stringList("expect_status");
    for (String item : items) {
      StatusRange r = StatusRange.parse(at, item);
      if (r != null) {
        out.add(r);
      }
    }
    if (items.isEmpty()) {
      at.problem("must list at least one status code or range, e.g. [200-299]");
    }
    return out.isEmpty() ? StatusRange.SUCCESS : List.copyOf(out);
  }
}
