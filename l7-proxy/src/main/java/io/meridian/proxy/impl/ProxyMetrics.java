package io.meridian.proxy.impl;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Every series the proxy exports (documented in l7-proxy/README.md). Data points are resolved once per label
 * combination and cached, so counting a request on the hot path is a map read and an add, no label array.
 */
public final class ProxyMetrics {
  private static final String[] STATUS_CLASSES = {"1xx", "2xx", "3xx", "4xx", "5xx"};

  private final Counter requests;
  private final Histogram upstreamLatency;
  private final Counter retries;
  private final Counter ejections;
  private final Counter sheds;
  private final Counter rywRedirects;
  private final Counter residencyRefusals;
  private final Counter tokensRejected;
  private final Counter jwksRefreshes;
  private final Gauge jwtKeys;
  private final Gauge jwksLastLoad;
  /** The JWT refusal counters by reason (the reasons are constants: no key is built per refusal). */
  private final ConcurrentHashMap<String, CounterDataPoint> jwtRejected = new ConcurrentHashMap<>();
  private final Counter refused;
  private final Counter tlsConnections;
  private final Gauge inFlight;
  private final Counter connectionsRefused;
  /** Client connections open now, on every client listener (read by the gauge's callback, never per request). */
  final java.util.concurrent.atomic.AtomicInteger clientConnections = new java.util.concurrent.atomic.AtomicInteger();
  private final Counter capacitySpills;
  private final Counter capacityWaits;
  private final Gauge regionLimit;
  private final Gauge regionShare;
  private final ConcurrentHashMap<String, ConcurrentHashMap<String, CounterDataPoint[]>> requestPoints =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, DistributionDataPoint> latencyPoints = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, CounterDataPoint> simplePoints = new ConcurrentHashMap<>();

  private ProxyMetrics(PrometheusRegistry registry) {
    requests = Counter.builder().name("meridian_proxy_requests_total")
        .help("Proxied requests by route, route class (policy/consistency), region and status class")
        .labelNames("route", "route_class", "region", "status").register(registry);
    upstreamLatency = Histogram.builder().name("meridian_proxy_upstream_latency_seconds")
        .help("Time from sending a request upstream to receiving its response headers")
        .labelNames("region").classicOnly()
        .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
        .register(registry);
    retries = Counter.builder().name("meridian_proxy_retries_total")
        .help("Requests re-sent to another upstream or region, by the region that failed")
        .labelNames("region").register(registry);
    ejections = Counter.builder().name("meridian_proxy_upstream_ejections_total")
        .help("Upstreams ejected by passive outlier detection").labelNames("region", "upstream").register(registry);
    sheds = Counter.builder().name("meridian_proxy_shed_total")
        .help("Requests refused with 503 + Retry-After for load: reason concurrency (the region's in-flight limit),"
            + " capacity (every eligible region at its allowed rate), plan_shortfall (the plan's per-zone shed)")
        .labelNames("region", "reason").register(registry);
    capacitySpills = Counter.builder().name("meridian_proxy_capacity_spills_total")
        .help("Requests a region's allowed rate turned away, offered to the plan's next choice")
        .labelNames("region").register(registry);
    capacityWaits = Counter.builder().name("meridian_proxy_capacity_waits_total")
        .help("Requests that found every eligible region at its allowed rate and waited (at most"
            + " proxy.capacity_wait) for the next slot of this region instead of being refused")
        .labelNames("region").register(registry);
    regionLimit = Gauge.builder().name("meridian_proxy_region_limit_rps")
        .help("Requests/s this proxy admits to each region: the plan's allowed rate times this proxy's share"
            + " (-1: the plan states no limit)")
        .labelNames("region").register(registry);
    regionShare = Gauge.builder().name("meridian_proxy_region_share")
        .help("This proxy's share of each region's allowed rate, from the proxies' traffic reports")
        .labelNames("region").register(registry);
    rywRedirects = Counter.builder().name("meridian_proxy_ryw_redirects_total")
        .help("Session reads sent to the home region because the local replica had not reached the token")
        .labelNames("from_region", "to_region").register(registry);
    residencyRefusals = Counter.builder().name("meridian_proxy_residency_refusals_total")
        .help("Requests refused because no region of the user's residency group could serve")
        .labelNames("route", "residency_group").register(registry);
    tokensRejected = Counter.builder().name("meridian_proxy_tokens_rejected_total")
        .help("Read-your-writes tokens, home cookies or JWTs ignored because forged, expired, malformed or (JWT)"
            + " of the wrong algorithm, key, issuer or audience")
        .labelNames("kind", "reason").register(registry);
    jwksRefreshes = Counter.builder().name("meridian_proxy_jwks_refreshes_total")
        .help("Loads of the JWT key set from proxy.users.jwt.jwks_url (fetches) or jwks_file (after a change), by"
            + " result: ok (also when unchanged) or failed (the keys in use stay)")
        .labelNames("source", "result").register(registry);
    jwtKeys = Gauge.builder().name("meridian_proxy_jwt_keys")
        .help("Keys user tokens are verified with now, by where they come from: secret, public_key_file,"
            + " jwks_file, jwks_url")
        .labelNames("source").register(registry);
    jwksLastLoad = Gauge.builder().name("meridian_proxy_jwks_last_success_timestamp_seconds")
        .help("When the JWT key set was last loaded successfully (Unix time), by source: jwks_file, jwks_url")
        .labelNames("source").register(registry);
    refused = Counter.builder().name("meridian_proxy_refused_total")
        .help("Requests answered by the proxy itself, by outcome (see ProxyOutcome)")
        .labelNames("outcome").register(registry);
    tlsConnections = Counter.builder().name("meridian_proxy_tls_connections_total")
        .help("Client connections on the TLS listener after their handshake, by the protocol ALPN chose (h2,"
            + " http/1.1) and the engine that serves them (h1: the proxy's own HTTP/1.1 path; vertx)")
        .labelNames("protocol", "engine").register(registry);
    inFlight = Gauge.builder().name("meridian_proxy_in_flight_requests")
        .help("Requests currently in flight to each region").labelNames("region").register(registry);
    connectionsRefused = Counter.builder().name("meridian_proxy_connections_refused_total")
        .help("Client connections closed at once, by reason: max_connections (proxy.max_connections open already),"
            + " accept_failed (the kernel refused the accept, mostly: out of file descriptors)")
        .labelNames("reason").register(registry);
    io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name("meridian_proxy_client_connections")
        .help("Client connections open now, all client listeners together (limit: proxy.max_connections)")
        .callback(cb -> cb.call(clientConnections.get())).register(registry);
  }

  /** Reasons of {@code meridian_proxy_connections_refused_total}. */
  static final String MAX_CONNECTIONS = "max_connections";
  static final String ACCEPT_FAILED = "accept_failed";

  void connectionRefused(String reason) {
    point("conn\0" + reason, k -> connectionsRefused.labelValues(reason)).inc();
  }

  public static ProxyMetrics register(PrometheusRegistry registry) {
    return new ProxyMetrics(registry);
  }

  void request(String route, String routeClass, String region, int status) {
    count(requestPoints(route, routeClass, region), status);
  }

  /** The request counters of one route and region, by status class (to cache beside the route). */
  CounterDataPoint[] requestPoints(String route, String routeClass, String region) {
    // two lookups on long-lived strings (their hash codes are cached), no key built per request
    ConcurrentHashMap<String, CounterDataPoint[]> byRegion = requestPoints.get(route);
    if (byRegion == null) {
      byRegion = requestPoints.computeIfAbsent(route, k -> new ConcurrentHashMap<>());
    }
    CounterDataPoint[] points = byRegion.get(region);
    if (points == null) {
      points = byRegion.computeIfAbsent(region, k -> {
        CounterDataPoint[] p = new CounterDataPoint[STATUS_CLASSES.length];
        for (int i = 0; i < p.length; i++) {
          p[i] = requests.labelValues(route, routeClass, region, STATUS_CLASSES[i]);
        }
        return p;
      });
    }
    return points;
  }

  static void count(CounterDataPoint[] points, int status) {
    int cls = status / 100 - 1;
    points[cls < 0 || cls > 4 ? 4 : cls].inc();
  }

  /** The upstream latency histogram of a region (to cache beside the region). */
  DistributionDataPoint latencyPoint(String region) {
    DistributionDataPoint p = latencyPoints.get(region);
    return p != null ? p : latencyPoints.computeIfAbsent(region, upstreamLatency::labelValues);
  }

  void upstreamLatency(String region, long nanos) {
    DistributionDataPoint p = latencyPoints.get(region);
    if (p == null) {
      p = latencyPoints.computeIfAbsent(region, upstreamLatency::labelValues);
    }
    p.observe(nanos / 1e9);
  }

  private CounterDataPoint point(String key, Function<String, CounterDataPoint> make) {
    CounterDataPoint p = simplePoints.get(key);
    return p != null ? p : simplePoints.computeIfAbsent(key, make);
  }

  void retry(String region) {
    point("retry\0" + region, k -> retries.labelValues(region)).inc();
  }

  void ejection(String region, String upstream) {
    ejections.labelValues(region, upstream).inc(); // rare: no caching
  }

  /** Reasons a request is shed (the {@code reason} label of {@code meridian_proxy_shed_total}). */
  static final String CONCURRENCY = "concurrency";
  static final String CAPACITY = "capacity";
  static final String PLAN_SHORTFALL = "plan_shortfall";
  /** No upstream connection came free in time (`proxy.upstream_pool`). */
  static final String UPSTREAM_POOL = "upstream_pool";

  private volatile CounterDataPoint shortfallPoint;

  void shed(String region, String reason) {
    point("shed\0" + region + '\0' + reason, k -> sheds.labelValues(region, reason)).inc();
  }

  /** A plan-shortfall shed: no region is involved, so one cached point and no key built per request. */
  void shedShortfall() {
    CounterDataPoint p = shortfallPoint;
    if (p == null) {
      p = sheds.labelValues("none", PLAN_SHORTFALL);
      shortfallPoint = p;
    }
    p.inc();
  }

  /** The spill counter of a region (to cache beside the region: spills come in floods under overload). */
  CounterDataPoint spillPoint(String region) {
    return point("spill\0" + region, k -> capacitySpills.labelValues(region));
  }

  /** The capacity-wait counter of a region (to cache beside the region). */
  CounterDataPoint capacityWaitPoint(String region) {
    return point("wait\0" + region, k -> capacityWaits.labelValues(region));
  }

  /** The shed counter of a region and reason (to cache beside the region). */
  CounterDataPoint shedPoint(String region, String reason) {
    return point("shed\0" + region + '\0' + reason, k -> sheds.labelValues(region, reason));
  }

  void regionLimit(String region, double rps, double share) {
    regionLimit.labelValues(region).set(Double.isNaN(rps) ? -1 : rps);
    regionShare.labelValues(region).set(share);
  }

  void rywRedirect(String from, String to) {
    point("ryw\0" + from + '\0' + to, k -> rywRedirects.labelValues(from, to)).inc();
  }

  void residencyRefusal(String route, String group) {
    residencyRefusals.labelValues(route, group).inc();
  }

  void tokenRejected(String kind, String reason) {
    tokensRejected.labelValues(kind, reason).inc();
  }

  /** A refused JWT, by one of {@code JwtVerifier.REASONS}. */
  void jwtRejected(String reason) {
    CounterDataPoint p = jwtRejected.get(reason);
    if (p == null) {
      p = jwtRejected.computeIfAbsent(reason, r -> tokensRejected.labelValues("jwt", r));
    }
    p.inc();
  }

  void jwksRefresh(String source, boolean ok) {
    jwksRefreshes.labelValues(source, ok ? "ok" : "failed").inc();
    if (ok) {
      jwksLastLoad.labelValues(source).set(System.currentTimeMillis() / 1000.0);
    }
  }

  void jwtKeys(String source, int count) {
    jwtKeys.labelValues(source).set(count);
  }

  void refused(String outcome) {
    point("refused\0" + outcome, k -> refused.labelValues(outcome)).inc();
  }

  /** One TLS client connection handed to an engine (once per connection, not per request). */
  void tlsConnection(String protocol, String engine) {
    point("tls\0" + protocol + "\0" + engine, k -> tlsConnections.labelValues(protocol, engine)).inc();
  }

  void inFlight(String region, int value) {
    inFlight.labelValues(region).set(value);
  }
}
