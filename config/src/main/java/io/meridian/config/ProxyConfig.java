package io.meridian.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The L7 proxy role.
 *
 * @param listen           HTTP address for client traffic
 * @param opsListen        HTTP address for /healthz, /readyz, /metrics
 * @param connectTimeout   upstream connect timeout
 * @param responseTimeout  time to wait for an upstream's response headers
 * @param routes           first match wins; when empty, one catch-all {@code nearest} route
 * @param trustedHops      proxies of ours in front of this one; the client address is taken that many entries
 *                         from the right of X-Forwarded-For (0: the TCP peer)
 * @param retries          retry policy and budget
 * @param outliers         passive outlier detection
 * @param limits           request limits and client timeouts
 * @param inFlightPerCapacityRps  per-region concurrency limit as a multiple of the region's capacity_rps
 * @param retryAfter       Retry-After sent with 503 when a region is at its concurrency limit
 * @param accessLog        write one JSON line per request to the {@code meridian.proxy.access} logger
 */
public record ProxyConfig(ListenAddress listen, ListenAddress opsListen, Duration connectTimeout,
    Duration responseTimeout, List<Route> routes, int trustedHops, Retries retries, Outliers outliers,
    Limits limits, double inFlightPerCapacityRps, Duration retryAfter, boolean accessLog) {

  /**
   * Retries of idempotent requests and of requests provably never sent, to the next eligible region.
   *
   * @param maxAttempts    attempts per request including the first
   * @param budgetPercent  retries in flight may be at most this percentage of requests in flight (as Envoy)
   * @param minConcurrent  ... but at least this many, so low traffic can still retry
   */
  public record Retries(int maxAttempts, double budgetPercent, int minConcurrent) {
    public static final Retries DEFAULT = new Retries(3, 20, 3);

    static Retries parse(ConfigNode n) {
      n.rejectUnknownKeys(Set.of("max_attempts", "budget_percent", "min_concurrent"));
      return new Retries(n.integer("max_attempts", 3, 1, 10), n.number("budget_percent", 20, 0, 100),
          n.integer("min_concurrent", 3, 0, 100_000));
    }
  }

  /**
   * Passive outlier detection: an upstream with {@code consecutiveFailures} 5xx or connect failures in a row is
   * ejected for {@code baseEjection}, doubled on each further ejection (up to 32×).
   */
  public record Outliers(int consecutiveFailures, Duration baseEjection) {
    public static final Outliers DEFAULT = new Outliers(5, Duration.ofSeconds(10));

    static Outliers parse(ConfigNode n) {
      n.rejectUnknownKeys(Set.of("consecutive_failures", "base_ejection"));
      return new Outliers(n.integer("consecutive_failures", 5, 1, 1000),
          n.duration("base_ejection", Duration.ofSeconds(10), Duration.ofMillis(10)));
    }
  }

  /**
   * Limits against oversized and slow clients.
   *
   * @param maxHeaderBytes     total size of the request header block
   * @param maxHeaders         number of request header fields
   * @param maxUriBytes        request-target length
   * @param maxBodyBytes       request body size; 0 for no limit
   * @param headerReadTimeout  time a client has to send its complete request head
   * @param idleTimeout        a client connection with no traffic for this long is closed
   */
  public record Limits(int maxHeaderBytes, int maxHeaders, int maxUriBytes, long maxBodyBytes,
      Duration headerReadTimeout, Duration idleTimeout) {
    public static final Limits DEFAULT = new Limits(16384, 100, 8192, 100L << 20, Duration.ofSeconds(10),
        Duration.ofSeconds(60));

    static Limits parse(ConfigNode n) {
      n.rejectUnknownKeys(Set.of("max_header_bytes", "max_headers", "max_uri_bytes", "max_body_bytes",
          "header_read_timeout", "idle_timeout"));
      return new Limits(n.integer("max_header_bytes", 16384, 1024, 1 << 20), n.integer("max_headers", 100, 1, 10_000),
          n.integer("max_uri_bytes", 8192, 256, 1 << 20),
          (long) n.number("max_body_bytes", 100L << 20, 0, Long.MAX_VALUE),
          n.duration("header_read_timeout", Duration.ofSeconds(10), Duration.ofMillis(100)),
          n.duration("idle_timeout", Duration.ofSeconds(60), Duration.ofSeconds(1)));
    }
  }

  /** How a route picks its region. */
  public enum Policy { NEAREST, HOME }

  /** What a route promises about reads after writes. */
  public enum Consistency { EVENTUAL, SESSION, STRONG }

  /**
   * A proxy route, matched by host, path prefix and method.
   *
   * @param name         label used in metrics and logs
   * @param host         Host header to match (case-insensitive), or null for any
   * @param pathPrefix   path prefix to match
   * @param methods      upper-case methods to match; empty for any
   * @param policy       nearest or home
   * @param consistency  eventual, session or strong
   */
  public record Route(String name, String host, String pathPrefix, List<String> methods, Policy policy,
      Consistency consistency) {
    public boolean matches(String requestHost, String path, String method) {
      if (host != null && (requestHost == null || !hostEquals(requestHost))) {
        return false;
      }
      if (!path.startsWith(pathPrefix)) {
        return false;
      }
      return methods.isEmpty() || methods.contains(method);
    }

    private boolean hostEquals(String requestHost) {
      int colon = requestHost.lastIndexOf(':');
      String h = colon > 0 && requestHost.indexOf(']') < colon ? requestHost.substring(0, colon) : requestHost;
      return h.equalsIgnoreCase(host);
    }
  }

  public static Route catchAll() {
    return new Route("default", null, "/", List.of(), Policy.NEAREST, Consistency.EVENTUAL);
  }

  public static ProxyConfig defaults() {
    return new ProxyConfig(ListenAddress.parse("127.0.0.1:8080"), ListenAddress.parse("127.0.0.1:9180"),
        Duration.ofSeconds(2), Duration.ofSeconds(30), List.of(catchAll()), 0, Retries.DEFAULT, Outliers.DEFAULT,
        Limits.DEFAULT, 1.0, Duration.ofSeconds(1), false);
  }

  static ProxyConfig parse(ConfigNode n) {
    n.rejectUnknownKeys(Set.of("listen", "ops_listen", "connect_timeout", "response_timeout", "routes",
        "trusted_hops", "retries", "outlier_detection", "limits", "in_flight_per_capacity_rps", "retry_after",
        "access_log"));
    ListenAddress listen = n.listen("listen", "127.0.0.1:8080");
    ListenAddress ops = n.listen("ops_listen", "127.0.0.1:9180");
    Duration connect = n.duration("connect_timeout", Duration.ofSeconds(2), Duration.ofMillis(1));
    Duration response = n.duration("response_timeout", Duration.ofSeconds(30), Duration.ofMillis(1));
    List<Route> routes = n.list("routes", r -> {
      r.rejectUnknownKeys(Set.of("name", "host", "path_prefix", "methods", "policy", "consistency"));
      String name = r.requiredString("name");
      String host = r.string("host", null);
      String prefix = r.string("path_prefix", "/");
      if (!prefix.startsWith("/")) {
        r.problem("path_prefix", "must start with '/', got '" + prefix + "'");
      }
      List<String> methods = r.stringList("methods").stream().map(m -> m.toUpperCase(Locale.ROOT)).toList();
      Policy policy = r.enumValue("policy", Policy.class, Policy.NEAREST);
      Consistency consistency = r.enumValue("consistency", Consistency.class, Consistency.EVENTUAL);
      return name == null ? null : new Route(name, host, prefix, methods, policy, consistency);
    });
    int trustedHops = n.integer("trusted_hops", 0, 0, 16);
    Retries retries = n.child("retries").isPresent() ? Retries.parse(n.child("retries")) : Retries.DEFAULT;
    Outliers outliers = n.child("outlier_detection").isPresent() ? Outliers.parse(n.child("outlier_detection"))
        : Outliers.DEFAULT;
    Limits limits = n.child("limits").isPresent() ? Limits.parse(n.child("limits")) : Limits.DEFAULT;
    double inFlight = n.number("in_flight_per_capacity_rps", 1.0, 0.001, 1000);
    Duration retryAfter = n.duration("retry_after", Duration.ofSeconds(1), Duration.ofSeconds(1));
    boolean accessLog = n.bool("access_log", false);
    return new ProxyConfig(listen, ops, connect, response, routes.isEmpty() ? List.of(catchAll()) : routes,
        trustedHops, retries, outliers, limits, inFlight, retryAfter, accessLog);
  }
}
