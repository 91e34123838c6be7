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
 * @param users            how a request's user (and residency group) is identified
 * @param homes            home-region assignment: signed cookie secret, pins, default residency group
 * @param readYourWrites   read-your-writes tokens
 * @param h2cListen        optional extra listener for HTTP/2 over cleartext (prior knowledge or Upgrade: h2c);
 *                         it serves HTTP/2 only, so the strict HTTP/1.1 framing guard of {@code listen} holds
 * @param tls              optional TLS for {@code listen} (HTTP/2 and HTTP/1.1 by ALPN)
 * @param upstreamTls      how https:// upstreams are verified and authenticated
 * @param upstreamPool     upstream connection limits and the queue a request waits in when they are reached
 * @param maxConnections   client connections open at once over all client listeners; a new one beyond is
 *                         closed at once (counted, logged at most every 10 s)
 * @param capacityWait     how long a request may wait for a slot of a region's allowed rate when every eligible
 *                         region's is used up, before 503 {@code over_capacity} (0: refused at once)
 */
public record ProxyConfig(ListenAddress listen, ListenAddress opsListen, Duration connectTimeout,
    Duration responseTimeout, List<Route> routes, int trustedHops, Retries retries, Outliers outliers,
    Limits limits, double inFlightPerCapacityRps, Duration retryAfter, boolean accessLog, Users users,
    Homes homes, ReadYourWrites readYourWrites, ListenAddress h2cListen, Tls tls, UpstreamTls upstreamTls,
    UpstreamPool upstreamPool, int maxConnections, Duration capacityWait) {

  /**
   * Default {@code max_connections}: at about 1-3 KiB of heap per idle connection 10,000 cost tens of MiB, and
   * with an upstream connection per busy client connection they need about 20,000 file descriptors — within the
   * usual hard limits (systemd 524288, Docker 1048576; the JVM raises its soft limit to the hard one at start).
   * Without a cap, running out of descriptors was the only limit. See docs/CONFIG.md.
   */
  public static final int DEFAULT_MAX_CONNECTIONS = 10_000;

  /**
   * Default {@code capacity_wait}. Clients and their networks bunch requests (a client's stalled event loop, a
   * TCP retransmit, a load balancer in front flushing a queue): with several proxies each one's share of a
   * region's allowed rate is a few tens of requests/s, and a bunch of three arriving together at a region with
   * room for them over the second was refused. Waiting for the next slot instead keeps the region's rate at its
   * limit and serves them a few tens of milliseconds later; what would need longer is still refused.
   */
  public static final Duration DEFAULT_CAPACITY_WAIT = Duration.ofMillis(500);

  /** Where a request's user id comes from. */
  public enum UserSource { NONE, HEADER, COOKIE, JWT }

  /**
   * How the user behind a request is identified.
   *
   * @param source  none, header, cookie or jwt
   * @param name    header or cookie name holding the user id; for jwt the header carrying {@code Bearer <jwt>}
   *                (default Authorization)
   * @param jwt     how tokens are verified and read (source jwt)
   */
  public record Users(UserSource source, String name, JwtConfig jwt) {
    public static final Users NONE = new Users(UserSource.NONE, null, JwtConfig.NONE);

    static Users parse(ConfigNode n, java.nio.file.Path baseDir) {
      n.rejectUnknownKeys(Set.of("source", "name", "jwt"));
      UserSource source = n.enumValue("source", UserSource.class, UserSource.NONE);
      String name = n.string("name", source == UserSource.JWT ? "Authorization" : null);
      if ((source == UserSource.HEADER || source == UserSource.COOKIE) && name == null) {
        n.problem("name", "is required when source is " + source.name().toLowerCase(Locale.ROOT)
            + " (the header or cookie holding the user id)");
      }
      JwtConfig jwt = JwtConfig.parse(n.child("jwt"), baseDir, source == UserSource.JWT);
      return new Users(source, name, jwt);
    }
  }

  /**
   * Home-region assignment.
   *
   * @param secret                 HMAC-SHA256 key verifying {@code meridian-home} cookies/headers; null: not read
   * @param pins                   user id → home region, overriding everything else
   * @param defaultResidencyGroup  group for users with no residency claim; null: all regions
   */
  public record Homes(String secret, java.util.Map<String, String> pins, String defaultResidencyGroup) {
    public static final Homes NONE = new Homes(null, java.util.Map.of(), null);

    static Homes parse(ConfigNode n) {
      n.rejectUnknownKeys(Set.of("secret", "pins", "default_residency_group"));
      String secret = n.string("secret", null);
      if (secret != null && secret.length() < 32) {
        n.problem("secret", "must be at least 32 characters, got " + secret.length());
      }
      java.util.Map<String, String> pins = new java.util.LinkedHashMap<>();
      n.child("pins").entries().forEach((user, node) -> {
        String region = node.asString(null);
        if (region == null) {
          node.problem("must be a region id");
        } else {
          pins.put(user, region);
        }
      });
      return new Homes(secret, java.util.Map.copyOf(pins), n.string("default_residency_group", null));
    }
  }

  /**
   * Read-your-writes tokens.
   *
   * @param secret        HMAC-SHA256 key for tokens; null disables read-your-writes
   * @param ttl           how long a token is honoured
   * @param maxWait       how long a read may wait for the local replica before going to the home region
   * @param commitHeader  upstream response header carrying the commit position
   */
  public record ReadYourWrites(String secret, Duration ttl, Duration maxWait, String commitHeader) {
    public static final ReadYourWrites NONE = new ReadYourWrites(null, Duration.ofMinutes(5), Duration.ZERO,
        "X-Commit-Position");

    static ReadYourWrites parse(ConfigNode n) {
      n.rejectUnknownKeys(Set.of("secret", "ttl", "max_wait", "commit_header"));
      String secret = n.string("secret", null);
      if (secret == null || secret.length() < 32) {
        n.problem("secret", "is required and must be at least 32 characters, got "
            + (secret == null ? "none" : secret.length() + " characters"));
      }
      return new ReadYourWrites(secret, n.duration("ttl", Duration.ofMinutes(5), Duration.ofSeconds(1)),
          n.duration("max_wait", Duration.ZERO, Duration.ZERO), n.string("commit_header", "X-Commit-Position"));
    }
  }

  /** TLS towards clients: certificate chain and key (PEM). */
  public record Tls(java.nio.file.Path certFile, java.nio.file.Path keyFile) {
    static Tls parse(ConfigNode n, java.nio.file.Path baseDir) {
      n.rejectUnknownKeys(Set.of("cert_file", "key_file"));
      String cert = n.requiredString("cert_file");
      String key = n.requiredString("key_file");
      return cert == null || key == null ? null : new Tls(baseDir.resolve(cert), baseDir.resolve(key));
    }
  }

  /**
   * TLS towards https:// upstreams. Verification is on unless {@code verify: false} (cross-region hops cross the
   * internet: never turn it off outside tests).
   */
  public record UpstreamTls(boolean verify, java.nio.file.Path caFile, java.nio.file.Path clientCertFile,
      java.nio.file.Path clientKeyFile) {
    public static final UpstreamTls DEFAULT = new UpstreamTls(true, null, null, null);

    static UpstreamTls parse(ConfigNode n, java.nio.file.Path baseDir) {
      n.rejectUnknownKeys(Set.of("verify", "ca_file", "client_cert_file", "client_key_file"));
      String ca = n.string("ca_file", null);
      String cert = n.string("client_cert_file", null);
      String key = n.string("client_key_file", null);
      if ((cert == null) != (key == null)) {
        n.problem(cert == null ? "client_cert_file" : "client_key_file",
            "client_cert_file and client_key_file go together");
      }
      return new UpstreamTls(n.bool("verify", true), ca == null ? null : baseDir.resolve(ca),
          cert == null ? null : baseDir.resolve(cert), key == null ? null : baseDir.resolve(key));
    }
  }

  /**
   * Connections to each upstream, per event loop of the proxy. A request that finds no idle connection opens one
   * unless {@code maxConnections} are open or {@code maxConnecting} are being opened; then it waits (first come,
   * first served) for a connection to come free or a slot to open one, at most {@code queueTimeout}, and at most
   * {@code maxQueued} requests wait. A cold burst of new clients thus opens connections at a pace the origin's
   * accept queue takes, instead of a SYN flood whose dropped SYNs outlast the connect timeout.
   *
   * @param maxConnections  connections open (idle or busy) per upstream and event loop
   * @param maxConnecting   connection attempts in progress per upstream and event loop
   * @param queueTimeout    how long a request waits for a connection before 503 {@code upstream_busy}
   * @param maxQueued       requests waiting per upstream and event loop; beyond, 503 {@code upstream_busy} at once
   */
  public record UpstreamPool(int maxConnections, int maxConnecting, Duration queueTimeout, int maxQueued) {
    public static final UpstreamPool DEFAULT = new UpstreamPool(512, 32, Duration.ofSeconds(5), 4096);

    static UpstreamPool parse(ConfigNode n) {
      n.rejectUnknownKeys(Set.of("max_connections", "max_connecting", "queue_timeout", "max_queued"));
      int max = n.integer("max_connections", 512, 1, 100_000);
      // attempts in progress count as connections, so at most max_connections of them are ever in progress
      int connecting = n.integer("max_connecting", 32, 1, 100_000);
      return new UpstreamPool(max, connecting, n.duration("queue_timeout", Duration.ofSeconds(5), Duration.ZERO),
          n.integer("max_queued", 4096, 0, 1_000_000));
    }
  }

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
   * ejected for {@code baseEjection}, doubled on each further ejection (up to 32×). Ejection never takes a region
   * down by itself (Envoy's max ejection percent and panic threshold): at most {@code maxEjectionPercent} of a
   * region's upstreams are ejected at once, never its last non-ejected one, and should all be ejected anyway the
   * region's upstreams are used as if none were.
   *
   * @param enabled              false (or {@code consecutive_failures: 0}): no upstream is ever ejected
   * @param consecutiveFailures  failures in a row that eject an upstream
   * @param baseEjection         first ejection's length
   * @param maxEjectionPercent   share of a region's upstreams that may be ejected at the same time
   */
  public record Outliers(boolean enabled, int consecutiveFailures, Duration baseEjection, int maxEjectionPercent) {
    public static final Outliers DEFAULT = new Outliers(true, 5, Duration.ofSeconds(10), 50);

    static Outliers parse(ConfigNode n) {
      n.rejectUnknownKeys(Set.of("enabled", "consecutive_failures", "base_ejection", "max_ejection_percent"));
      int failures = n.integer("consecutive_failures", 5, 0, 1000);
      return new Outliers(n.bool("enabled", true) && failures > 0, failures,
          n.duration("base_ejection", Duration.ofSeconds(10), Duration.ofMillis(10)),
          n.integer("max_ejection_percent", 50, 0, 100));
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
   * @param bodyIdleTimeout    a request body with no byte from the client for this long is cut with 408
   */
  public record Limits(int maxHeaderBytes, int maxHeaders, int maxUriBytes, long maxBodyBytes,
      Duration headerReadTimeout, Duration idleTimeout, Duration bodyIdleTimeout) {
    public static final Limits DEFAULT = new Limits(16384, 100, 8192, 100L << 20, Duration.ofSeconds(10),
        Duration.ofSeconds(60), Duration.ofSeconds(30));

    static Limits parse(ConfigNode n) {
      n.rejectUnknownKeys(Set.of("max_header_bytes", "max_headers", "max_uri_bytes", "max_body_bytes",
          "header_read_timeout", "idle_timeout", "body_idle_timeout"));
      return new Limits(n.integer("max_header_bytes", 16384, 1024, 1 << 20), n.integer("max_headers", 100, 1, 10_000),
          n.integer("max_uri_bytes", 8192, 256, 1 << 20),
          (long) n.number("max_body_bytes", 100L << 20, 0, Long.MAX_VALUE),
          n.duration("header_read_timeout", Duration.ofSeconds(10), Duration.ofMillis(100)),
          n.duration("idle_timeout", Duration.ofSeconds(60), Duration.ofSeconds(1)),
          n.duration("body_idle_timeout", Duration.ofSeconds(30), Duration.ofMillis(100)));
    }
  }

  /** How a route picks its region. */
  public enum Policy { NEAREST, HOME }

  /** Whether a route may leave the user's residency group. */
  public enum Residency { NONE, ENFORCED }

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
   * @param residency    enforced: only ever regions of the user's residency group, failover included
   */
  public record Route(String name, String host, String pathPrefix, List<String> methods, Policy policy,
      Consistency consistency, Residency residency, String service) {
    /** A route to the regions' own upstreams (service {@value RegionConfig#DEFAULT_SERVICE}). */
    public Route(String name, String host, String pathPrefix, List<String> methods, Policy policy,
        Consistency consistency, Residency residency) {
      this(name, host, pathPrefix, methods, policy, consistency, residency, RegionConfig.DEFAULT_SERVICE);
    }

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
    return new Route("default", null, "/", List.of(), Policy.NEAREST, Consistency.EVENTUAL, Residency.NONE);
  }

  public static ProxyConfig defaults() {
    return new ProxyConfig(ListenAddress.parse("127.0.0.1:8080"), ListenAddress.parse("127.0.0.1:9180"),
        Duration.ofSeconds(5), Duration.ofSeconds(30), List.of(catchAll()), 0, Retries.DEFAULT, Outliers.DEFAULT,
        Limits.DEFAULT, 1.0, Duration.ofSeconds(1), false, Users.NONE, Homes.NONE, ReadYourWrites.NONE, null, null,
        UpstreamTls.DEFAULT, UpstreamPool.DEFAULT, DEFAULT_MAX_CONNECTIONS, DEFAULT_CAPACITY_WAIT);
  }

  static ProxyConfig parse(ConfigNode n) {
    return parse(n, java.nio.file.Path.of("."));
  }

  static ProxyConfig parse(ConfigNode n, java.nio.file.Path baseDir) {
    n.rejectUnknownKeys(Set.of("listen", "ops_listen", "connect_timeout", "response_timeout", "routes",
        "trusted_hops", "retries", "outlier_detection", "limits", "in_flight_per_capacity_rps", "retry_after",
        "access_log", "users", "homes", "read_your_writes", "h2c_listen", "tls", "upstream_tls", "upstream_pool",
        "max_connections", "capacity_wait"));
    ListenAddress listen = n.listen("listen", "127.0.0.1:8080");
    ListenAddress ops = n.listen("ops_listen", "127.0.0.1:9180");
    // 5 s (Envoy's default): an origin whose accept queue overflows drops SYNs, which the kernel resends after
    // 1 s and 3 s; 2 s let a cold burst fail where the third SYN would have got through
    Duration connect = n.duration("connect_timeout", Duration.ofSeconds(5), Duration.ofMillis(1));
    Duration response = n.duration("response_timeout", Duration.ofSeconds(30), Duration.ofMillis(1));
    List<Route> routes = n.list("routes", r -> {
      r.rejectUnknownKeys(Set.of("name", "host", "path_prefix", "methods", "policy", "consistency", "residency",
          "service"));
      String name = r.requiredString("name");
      String host = r.string("host", null);
      String prefix = r.string("path_prefix", "/");
      if (!prefix.startsWith("/")) {
        r.problem("path_prefix", "must start with '/', got '" + prefix + "'");
      }
      List<String> methods = r.stringList("methods").stream().map(m -> m.toUpperCase(Locale.ROOT)).toList();
      Policy policy = r.enumValue("policy", Policy.class, Policy.NEAREST);
      Consistency consistency = r.enumValue("consistency", Consistency.class, Consistency.EVENTUAL);
      Residency residency = r.enumValue("residency", Residency.class, Residency.NONE);
      String service = r.string("service", RegionConfig.DEFAULT_SERVICE, RegionConfig.ID,
          "lowercase letters, digits and '-' (a service of every region)");
      return name == null ? null : new Route(name, host, prefix, methods, policy, consistency, residency, service);
    });
    int trustedHops = n.integer("trusted_hops", 0, 0, 16);
    Retries retries = n.child("retries").isPresent() ? Retries.parse(n.child("retries")) : Retries.DEFAULT;
    Outliers outliers = n.child("outlier_detection").isPresent() ? Outliers.parse(n.child("outlier_detection"))
        : Outliers.DEFAULT;
    Limits limits = n.child("limits").isPresent() ? Limits.parse(n.child("limits")) : Limits.DEFAULT;
    double inFlight = n.number("in_flight_per_capacity_rps", 1.0, 0.001, 1000);
    Duration retryAfter = n.duration("retry_after", Duration.ofSeconds(1), Duration.ofSeconds(1));
    boolean accessLog = n.bool("access_log", false);
    Users users = n.child("users").isPresent() ? Users.parse(n.child("users"), baseDir) : Users.NONE;
    Homes homes = n.child("homes").isPresent() ? Homes.parse(n.child("homes")) : Homes.NONE;
    ReadYourWrites ryw = n.child("read_your_writes").isPresent() ? ReadYourWrites.parse(n.child("read_your_writes"))
        : ReadYourWrites.NONE;
    ListenAddress h2c = n.child("h2c_listen").isPresent() ? n.listen("h2c_listen", "127.0.0.1:0") : null;
    Tls tls = n.child("tls").isPresent() ? Tls.parse(n.child("tls"), baseDir) : null;
    UpstreamTls upTls = n.child("upstream_tls").isPresent() ? UpstreamTls.parse(n.child("upstream_tls"), baseDir)
        : UpstreamTls.DEFAULT;
    UpstreamPool pool = n.child("upstream_pool").isPresent() ? UpstreamPool.parse(n.child("upstream_pool"))
        : UpstreamPool.DEFAULT;
    int maxConnections = n.integer("max_connections", DEFAULT_MAX_CONNECTIONS, 1, 10_000_000);
    Duration capacityWait = n.duration("capacity_wait", DEFAULT_CAPACITY_WAIT, Duration.ZERO);
    if (capacityWait.compareTo(Duration.ofSeconds(10)) > 0) {
      // a request held longer than this is better refused: the client's own timeout is usually near
      n.problem("capacity_wait", "must be at most 10s (a request waiting longer is better refused with"
          + " Retry-After), got " + ConfigNode.formatDuration(capacityWait));
    }
    for (int i = 0; i < routes.size(); i++) {
      Route rt = routes.get(i);
      if ((rt.policy() == Policy.HOME || rt.consistency() != Consistency.EVENTUAL
          || rt.residency() == Residency.ENFORCED) && users.source() == UserSource.NONE) {
        n.child("routes").asList().get(i).problem("policy", "route '" + rt.name() + "' needs to know the user"
            + " (policy home, session/strong consistency or enforced residency): set proxy.users.source");
      }
      if (rt.consistency() == Consistency.SESSION && ryw.secret() == null) {
        n.child("routes").asList().get(i).problem("consistency", "route '" + rt.name() + "' is session-consistent:"
            + " set proxy.read_your_writes.secret");
      }
    }
    return new ProxyConfig(listen, ops, connect, response, routes.isEmpty() ? List.of(catchAll()) : routes,
        trustedHops, retries, outliers, limits, inFlight, retryAfter, accessLog, users, homes, ryw, h2c, tls, upTls,
        pool, maxConnections, capacityWait);
  }
}
