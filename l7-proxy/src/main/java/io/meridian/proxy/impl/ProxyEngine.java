package io.meridian.proxy.impl;

import io.meridian.config.MeridianConfig;
import io.meridian.config.ProxyConfig;
import io.meridian.config.RegionConfig;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import io.meridian.core.HealthReport;
import io.meridian.core.geo.Zones;

/**
 * State shared by all event loops of the proxy: the current {@link Snapshot} (plan + config-derived wiring),
 * metrics and the retry budget. The snapshot is one volatile reference, swapped whole on every plan or config
 * change, so a request reads a consistent plan and wiring with one volatile read and no lock.
 */
final class ProxyEngine {
  final ProxyMetrics metrics;
  final GeoLocator geo;
  final AtomicInteger activeRequests = new AtomicInteger();
  final AtomicInteger activeRetries = new AtomicInteger();
  /** Requests per client zone since the last traffic report (the controller's demand signal). */
  final Hlc hlc = new Hlc();
  final AtomicIntegerArray zoneRequests = new AtomicIntegerArray(Zones.COUNT);
  /** Latest replication watermarks: region → (source region → applied position). */
  private volatile Map<String, Map<String, Long>> watermarks = Map.of();
  private volatile Snapshot snapshot;
  private volatile Map<String, RegionUpstreams> upstreamsById = Map.of();
  /** Every service name of the config, sorted: the index routes and {@link RegionUpstreams#byService} share. */
  private volatile java.util.List<String> serviceTable = java.util.List.of(RegionConfig.DEFAULT_SERVICE);
  private volatile MeridianConfig config;
  /** The keys user tokens are verified with (null unless proxy.users.source is jwt); swapped by the role. */
  private volatile JwtKeys jwtKeys;
  /** This proxy's name on the control bus (its traffic reports' source). */
  final String source;
  /** This proxy's share of each region's allowed rate, from every proxy's traffic reports. */
  private final AdmissionShares shares;
  /** {@code proxy.max_connections} over every client listener. */
  final ConnectionLimit connections;

  private static final java.util.concurrent.atomic.AtomicInteger INSTANCES = new java.util.concurrent.atomic.AtomicInteger();

  ProxyEngine(MeridianConfig config, RoutingPlan plan, GeoLocator geo, ProxyMetrics metrics) {
    this(config, plan, geo, metrics, defaultSource(), TrafficReporter.intervalMs(), System::nanoTime);
  }

  ProxyEngine(MeridianConfig config, RoutingPlan plan, GeoLocator geo, ProxyMetrics metrics, String source,
      long reportIntervalMs, java.util.function.LongSupplier clock) {
    this.geo = geo;
    this.metrics = metrics;
    this.config = config;
    this.source = source;
    this.shares = new AdmissionShares(source, reportIntervalMs * 1_000_000, clock);
    this.serviceTable = serviceTable(config);
    this.upstreamsById = buildUpstreams(config, serviceTable, Map.of());
    this.snapshot = Snapshot.of(plan, config.proxy(), upstreamsById, serviceTable);
    this.connections = new ConnectionLimit(this);
    applyLimits();
  }

  /**
   * proxy@pid@host, unique per proxy on the bus; a second proxy in the same JVM (tests, an embedded setup) gets
   * a suffix, else the two would count as one in each other's shares.
   */
  private static String defaultSource() {
    int n = INSTANCES.getAndIncrement();
    String base = "proxy@" + java.lang.management.ManagementFactory.getRuntimeMXBean().getName();
    return n == 0 ? base : base + "#" + n;
  }

  /** A traffic report from any proxy (this one included): shares may move, and with them the limits. */
  synchronized void onTraffic(io.meridian.core.TrafficReport report) {
    if (shares.onReport(report)) {
      applyLimits();
    }
  }

  /**
   * Sets every region's admission rate to the plan's allowed rate × this proxy's share. Runs on a plan, a
   * config change or a traffic report — never per request: the hot path reads the limiter only.
   */
  private void applyLimits() {
    Snapshot s = snapshot;
    long now = System.nanoTime();
    for (int i = 0; i < s.byPlanIndex().length; i++) {
      RegionUpstreams ru = s.byPlanIndex()[i];
      if (ru == null) {
        continue;
      }
      double allowed = s.plan().region(i).allowedRps();
      double share = shares.share(ru.region);
      double rate = Double.isNaN(allowed) ? Double.NaN : allowed * share;
      ru.limiter.setRate(rate, now);
      metrics.regionLimit(ru.region, rate, share);
    }
  }

  /** This proxy's share of {@code region}'s allowed rate (tests, status). */
  double share(String region) {
    return shares.share(region);
  }

  Snapshot snapshot() {
    return snapshot;
  }

  MeridianConfig config() {
    return config;
  }

  JwtKeys jwtKeys() {
    return jwtKeys;
  }

  void jwtKeys(JwtKeys keys) {
    jwtKeys = keys;
  }

  /** Plans can arrive on any thread; the newer version wins. */
  synchronized void onPlan(RoutingPlan plan) {
    // synchronized: plan and config updates are rare and must not interleave; requests never take this lock
    Snapshot s = snapshot;
    if (s != null && plan.version() < s.plan().version()) {
      return;
    }
    snapshot = Snapshot.of(plan, config.proxy(), upstreamsById, serviceTable);
    applyLimits();
  }

  synchronized void onConfig(MeridianConfig next) {
    config = next;
    serviceTable = serviceTable(next);
    upstreamsById = buildUpstreams(next, serviceTable, upstreamsById);
    snapshot = Snapshot.of(snapshot.plan(), next.proxy(), upstreamsById, serviceTable);
    applyLimits();
  }

  /** Every service of every region and route, sorted (the config check made sure every route's exists everywhere). */
  static java.util.List<String> serviceTable(MeridianConfig cfg) {
    java.util.TreeSet<String> names = new java.util.TreeSet<>();
    cfg.regions().forEach(r -> names.addAll(r.serviceNames()));
    cfg.proxy().routes().forEach(r -> names.add(r.service()));
    return java.util.List.copyOf(names);
  }

  /** Keeps a region's upstream objects (and their outlier state) when its upstream lists are unchanged. */
  private static Map<String, RegionUpstreams> buildUpstreams(MeridianConfig cfg, java.util.List<String> table,
      Map<String, RegionUpstreams> old) {
    Map<String, RegionUpstreams> out = new HashMap<>();
    for (RegionConfig r : cfg.regions()) {
      RegionUpstreams prev = old.get(r.id());
      out.put(r.id(), prev != null && prev.sameAs(r, table) ? prev : new RegionUpstreams(r, table));
    }
    return Map.copyOf(out);
  }

  /**
   * Keeps the highest watermark each region reported per source: several vantage points may report, and a
   * replica's applied position only moves forward.
   */
  synchronized void onHealth(HealthReport report) {
    Map<String, Map<String, Long>> next = new HashMap<>(watermarks);
    for (HealthReport.RegionReport r : report.regions()) {
      if (r.watermarks().isEmpty()) {
        continue;
      }
      Map<String, Long> merged = new HashMap<>(next.getOrDefault(r.region(), Map.of()));
      r.watermarks().forEach((src, pos) -> merged.merge(src, pos, Math::max));
      next.put(r.region(), Map.copyOf(merged));
    }
    watermarks = Map.copyOf(next);
  }

  /** The position {@code region} has applied from {@code source}, or -1 when unknown. */
  long watermark(String region, String source) {
    Map<String, Long> m = watermarks.get(region);
    Long v = m == null ? null : m.get(source);
    return v == null ? -1 : v;
  }

  Map<String, RegionUpstreams> upstreams() {
    return upstreamsById;
  }

  /**
   * Envoy-style retry budget: retries in flight may be at most {@code budget} of requests in flight, but at
   * least {@code minConcurrent}, so that a failing region cannot turn every request into two or three.
   */
  boolean tryAcquireRetry(ProxyConfig.Retries r) {
    int active = activeRequests.get();
    int allowed = Math.max(r.minConcurrent(), (int) (active * r.budgetPercent() / 100.0));
    while (true) {
      int cur = activeRetries.get();
      if (cur >= allowed) {
        return false;
      }
      if (activeRetries.compareAndSet(cur, cur + 1)) {
        return true;
      }
    }
  }

  void releaseRetry() {
    activeRetries.decrementAndGet();
  }

  /** Plan + config-derived lookup tables for the hot path. */
  record Snapshot(RoutingPlan plan, ProxyConfig proxy, RegionUpstreams[] byPlanIndex, RouteRuntime[] routes,
      RouteIndex index) {
    Snapshot(RoutingPlan plan, ProxyConfig proxy, RegionUpstreams[] byPlanIndex, RouteRuntime[] routes) {
      this(plan, proxy, byPlanIndex, routes, new RouteIndex(routes));
    }

    static Snapshot of(RoutingPlan plan, ProxyConfig proxy, Map<String, RegionUpstreams> upstreams,
        java.util.List<String> serviceTable) {
      RegionUpstreams[] arr = new RegionUpstreams[plan.topology().size()];
      for (int i = 0; i < arr.length; i++) {
        arr[i] = upstreams.get(plan.topology().id(i)); // null: region in plan but not in config (yet)
      }
      RouteRuntime[] routes = new RouteRuntime[proxy.routes().size()];
      for (int i = 0; i < routes.length; i++) {
        routes[i] = new RouteRuntime(proxy.routes().get(i), serviceTable);
      }
      return new Snapshot(plan, proxy, arr, routes);
    }

    /** First matching route (in declaration order), or null; through the index, not a scan. */
    RouteRuntime route(String host, String path, String method) {
      return index.match(host, path, method);
    }

    /**
     * The same on the HTTP/1.1 path's recorded head, compared as bytes: no path or host String per request
     * (a route whose host is not ASCII is matched on the decoded strings).
     */
    RouteRuntime route(H1Connection c) {
      if (c.parser.emptyPath) {
        return route((RequestView) c); // "http://host" or "http://host?q": the path is "/", not in the head
      }
      return index.match(c, c.parser.head, c.parser.targetStart, c.pathEnd(), c.method());
    }

    /** The same on a request view; the host is only read when a route names one. */
    RouteRuntime route(RequestView v) {
      return index.match(index.namesHosts() ? v.host() : null, v.path(), v.method());
    }

    /** The reference the index must agree with: every route in declaration order, {@code Route.matches}. */
    RouteRuntime routeLinear(String host, String path, String method) {
      return index.linear(host, path, method);
    }
  }

  /** A configured route plus its precomputed metric label and the byte forms it is matched by. */
  static final class RouteRuntime {
    final ProxyConfig.Route route;
    final String routeClass;
    /** Index of the route's service in the config's service table (-1: unknown, no region has it). */
    final int service;
    /**
     * The path prefix as ISO-8859-1 bytes (what the HTTP/1.1 path's head holds), or null when a character
     * beyond it can never be in a request target: such a prefix matches nothing, as {@code startsWith} on the
     * decoded path would not.
     */
    private final byte[] prefixBytes;
    /** The route's host in lower case when it is ASCII (case folding of request bytes is then exact), else null. */
    private final byte[] hostLower;

    /** The request counters of the region last counted on this route (regions rarely change per route). */
    private volatile RegionPoints last;

    private record RegionPoints(String region, io.prometheus.metrics.core.datapoints.CounterDataPoint[] points) {}

    io.prometheus.metrics.core.datapoints.CounterDataPoint[] requestPoints(ProxyMetrics m, String region) {
      RegionPoints l = last;
      if (l != null && l.region == region) { // region ids are the config's own strings: identity suffices
        return l.points;
      }
      io.prometheus.metrics.core.datapoints.CounterDataPoint[] p = m.requestPoints(route.name(), routeClass, region);
      last = new RegionPoints(region, p);
      return p;
    }

    RouteRuntime(ProxyConfig.Route route) {
      this(route, java.util.List.of(RegionConfig.DEFAULT_SERVICE));
    }

    RouteRuntime(ProxyConfig.Route route, java.util.List<String> serviceTable) {
      this.route = route;
      this.service = serviceTable.indexOf(route.service());
      this.prefixBytes = latin1(route.pathPrefix());
      String host = route.host();
      this.hostLower = host == null || !host.chars().allMatch(c -> c < 0x80) ? null
          : host.toLowerCase(java.util.Locale.ROOT).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
      this.routeClass = route.policy().name().toLowerCase(java.util.Locale.ROOT) + "/"
          + route.consistency().name().toLowerCase(java.util.Locale.ROOT);
    }

    private static byte[] latin1(String s) {
      byte[] b = new byte[s.length()];
      for (int i = 0; i < b.length; i++) {
        char c = s.charAt(i);
        if (c > 0xff) {
          return null;
        }
        b[i] = (byte) c;
      }
      return b;
    }

    /** The path prefix as ISO-8859-1 bytes, or null when it has a character beyond (it matches no head). */
    byte[] prefixBytes() {
      return prefixBytes;
    }

    /** The host in lower case when it is ASCII, else null (also without host). */
    byte[] hostLower() {
      return hostLower;
    }
  }
}
