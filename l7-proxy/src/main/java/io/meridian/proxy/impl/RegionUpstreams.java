package io.meridian.proxy.impl;

import io.meridian.config.RegionConfig;
import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The upstreams of one region, per service, plus what the proxy tracks per region: round-robin cursors, requests
 * in flight (for the concurrency limit), its admission rate limit and counters for the traffic report. Capacity is
 * the region's, shared by its services (docs/CONFIG.md#services). Lives as long as the region's config.
 */
final class RegionUpstreams {
  final String region;
  final String residencyGroup;
  /** {@code x-meridian-region: <id>} CRLF, as every response of this region carries it. */
  final byte[] regionField;
  /** Every upstream of the region, all services (reports, status). */
  final Upstream[] upstreams;
  /** The config's service names, in the order of {@link #byService} (the same table for every region). */
  final java.util.List<String> serviceTable;
  /** The upstreams of each service of {@link #serviceTable}; empty for a service the region does not have. */
  final Upstream[][] byService;
  private final AtomicInteger[] cursors;
  final AtomicInteger inFlight = new AtomicInteger();
  final LongAdder requests = new LongAdder();
  final LongAdder errors = new LongAdder();
  /** Requests this region's rate limit turned away (spilled to the next choice or shed). */
  final LongAdder turnedAway = new LongAdder();
  /** This proxy's share of the plan's allowed rate for the region ({@link ProxyEngine#applyLimits}). */
  final RegionRateLimiter limiter = new RegionRateLimiter(System.nanoTime());

  RegionUpstreams(RegionConfig config, java.util.List<String> serviceTable) {
    this.region = config.id();
    this.residencyGroup = config.residencyGroup();
    this.regionField = ("x-meridian-region: " + region + "\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    this.serviceTable = java.util.List.copyOf(serviceTable);
    this.byService = new Upstream[serviceTable.size()][];
    this.cursors = new AtomicInteger[serviceTable.size()];
    java.util.List<Upstream> all = new java.util.ArrayList<>();
    for (int s = 0; s < byService.length; s++) {
      java.util.List<URI> uris = config.upstreams(serviceTable.get(s));
      byService[s] = new Upstream[uris.size()];
      for (int i = 0; i < uris.size(); i++) {
        byService[s][i] = new Upstream(region, s, uris.get(i));
        all.add(byService[s][i]);
      }
      cursors[s] = new AtomicInteger();
    }
    this.upstreams = all.toArray(new Upstream[0]);
  }

  /** Whether {@code config} (under {@code table}) has exactly these upstreams: then this object, and its state, stay. */
  boolean sameAs(RegionConfig config, java.util.List<String> table) {
    if (!residencyGroup.equals(config.residencyGroup()) || !serviceTable.equals(table)) {
      return false;
    }
    for (int s = 0; s < byService.length; s++) {
      java.util.List<URI> uris = config.upstreams(table.get(s));
      if (uris.size() != byService[s].length) {
        return false;
      }
      for (int i = 0; i < uris.size(); i++) {
        if (!byService[s][i].label.equals(new Upstream(region, s, uris.get(i)).label)) {
          return false;
        }
      }
    }
    return true;
  }

  private volatile io.prometheus.metrics.core.datapoints.DistributionDataPoint latency;

  /** This region's upstream latency histogram, resolved once. */
  io.prometheus.metrics.core.datapoints.DistributionDataPoint latency(ProxyMetrics m) {
    io.prometheus.metrics.core.datapoints.DistributionDataPoint p = latency;
    if (p == null) {
      p = m.latencyPoint(region);
      latency = p;
    }
    return p;
  }

  private volatile io.prometheus.metrics.core.datapoints.CounterDataPoint spills;
  private volatile io.prometheus.metrics.core.datapoints.CounterDataPoint capacitySheds;
  private volatile io.prometheus.metrics.core.datapoints.CounterDataPoint capacityWaits;

  /** Counts a request this region's rate limit turned away (offered to the next choice). */
  void countSpill(ProxyMetrics m) {
    turnedAway.increment();
    io.prometheus.metrics.core.datapoints.CounterDataPoint p = spills;
    if (p == null) {
      p = m.spillPoint(region);
      spills = p;
    }
    p.inc();
  }

  /** Counts a request shed because this region, its first choice, and every other were at their rate. */
  void countCapacityWait(ProxyMetrics m) {
    io.prometheus.metrics.core.datapoints.CounterDataPoint p = capacityWaits;
    if (p == null) {
      p = m.capacityWaitPoint(region);
      capacityWaits = p;
    }
    p.inc();
  }

  void countCapacityShed(ProxyMetrics m) {
    io.prometheus.metrics.core.datapoints.CounterDataPoint p = capacitySheds;
    if (p == null) {
      p = m.shedPoint(region, ProxyMetrics.CAPACITY);
      capacitySheds = p;
    }
    p.inc();
  }

  /**
   * The next non-ejected upstream in round-robin order; when every one is ejected, the next one regardless
   * (Envoy's panic mode): passive outlier detection guesses from this proxy's own failures, so it may shift
   * traffic between a region's upstreams but never take the whole region away. Null only without upstreams.
   */
  Upstream pick(int service, long nowNanos) {
    Upstream[] group = byService[service];
    int n = group.length;
    if (n == 0) {
      return null;
    }
    int start = cursors[service].getAndIncrement() & Integer.MAX_VALUE;
    for (int i = 0; i < n; i++) {
      Upstream u = group[(start + i) % n];
      if (u.available(nowNanos)) {
        return u;
      }
    }
    return group[start % n];
  }

  /**
   * Counts a failure of {@code u} and ejects it when it reaches the threshold, unless that would leave its
   * service in the region with more than the allowed share of its upstreams ejected, or with none available: a
   * region whose only origin failed a few times (a restart) must get the first request after the origin is back.
   *
   * @return true when this failure ejected {@code u}
   */
  boolean onFailure(Upstream u, long nowNanos, io.meridian.config.ProxyConfig.Outliers od) {
    if (!od.enabled() || !u.countFailure(od.consecutiveFailures())) {
      return false;
    }
    Upstream[] group = byService[u.service];
    int ejected = 1; // u, if ejected now
    for (Upstream o : group) {
      if (o != u && !o.available(nowNanos)) {
        ejected++;
      }
    }
    if (ejected >= group.length || ejected * 100 > od.maxEjectionPercent() * group.length) {
      return false;
    }
    return u.eject(nowNanos, od.baseEjection().toNanos());
  }
}
