package io.meridian.geodns.impl;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.ConcurrentHashMap;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

/**
 * GeoDNS's Prometheus series, documented in geodns/README.md. Label values come from closed sets (a fixed list
 * of query types, the rcodes we emit, two transports, configured region ids) so a flood of odd queries cannot
 * grow the registry. Data points are looked up once and cached: the hot path only increments.
 */
public final class DnsMetrics {
  /** Query types that get their own label value; everything else is counted as {@code OTHER}. */
  private static final int[] QTYPES = {Type.A, Type.AAAA, Type.CNAME, Type.SOA, Type.NS, Type.MX, Type.TXT,
      Type.SRV, Type.PTR, Type.CAA, Type.ANY, Type.HTTPS, Type.SVCB, Type.DS, Type.DNSKEY};
  private static final int[] RCODES = {Rcode.NOERROR, Rcode.FORMERR, Rcode.SERVFAIL, Rcode.NXDOMAIN,
      Rcode.NOTIMP, Rcode.REFUSED, Rcode.BADVERS};

  private final Counter queries;
  private final Counter answers;
  private final Counter ecs;
  private final Counter rrl;
  private final Counter dropped;
  private final Counter zoneLoads;
  private final Counter internalErrors;
  private final Histogram latency;
  private final Gauge planVersion;

  // [transport][qtype slot][rcode slot]
  private final CounterDataPoint[][][] queryPoints;
  private final DistributionDataPoint[] latencyPoints;
  private final ConcurrentHashMap<String, CounterDataPoint> answerPoints = new ConcurrentHashMap<>();
  private final CounterDataPoint ecsUsed;
  private final CounterDataPoint ecsAbsent;
  private final CounterDataPoint rrlDrop;
  private final CounterDataPoint rrlSlip;

  private DnsMetrics(PrometheusRegistry registry) {
    // Per-query series go without exemplars: there is no trace span on the DNS path to link to, and the exemplar
    // sampler showed up in profiles of the UDP benchmark (it runs on every observation).
    queries = Counter.builder().withoutExemplars().name("meridian_geodns_queries_total")
        .help("DNS queries answered, by query type, response code and transport")
        .labelNames("qtype", "rcode", "transport").register(registry);
    answers = Counter.builder().withoutExemplars().name("meridian_geodns_geo_answers_total")
        .help("Geo-name answers by the region answered (fallback: no eligible region, fallback applied)")
        .labelNames("region").register(registry);
    ecs = Counter.builder().withoutExemplars().name("meridian_geodns_ecs_queries_total")
        .help("Queries by whether they carried an EDNS Client Subnet option (RFC 7871)")
        .labelNames("ecs").register(registry);
    rrl = Counter.builder().name("meridian_geodns_rrl_actions_total")
        .help("Response rate limiting actions: drop (no answer) or slip (truncated answer)")
        .labelNames("action").register(registry);
    dropped = Counter.builder().name("meridian_geodns_dropped_packets_total")
        .help("Packets not answered at all, by reason (too short to carry a header, or a response)")
        .labelNames("reason").register(registry);
    zoneLoads = Counter.builder().name("meridian_geodns_zone_loads_total")
        .help("Zone file (re)loads by result (ok, rejected)").labelNames("result").register(registry);
    internalErrors = Counter.builder().name("meridian_geodns_internal_errors_total")
        .help("Queries that hit a bug in the answer pipeline (answered SERVFAIL); should stay 0")
        .register(registry);
    latency = Histogram.builder().withoutExemplars().name("meridian_geodns_query_duration_seconds")
        .help("Time from packet received to response encoded, by transport").labelNames("transport")
        .classicOnly()
        .classicUpperBounds(0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1)
        .register(registry);
    planVersion = Gauge.builder().name("meridian_geodns_plan_version")
        .help("Version of the routing plan answers are computed from").register(registry);

    Transport[] ts = Transport.values();
    queryPoints = new CounterDataPoint[ts.length][QTYPES.length + 1][RCODES.length + 1];
    latencyPoints = new DistributionDataPoint[ts.length];
    for (Transport t : ts) {
      latencyPoints[t.ordinal()] = latency.labelValues(t.label());
    }
    ecsUsed = ecs.labelValues("present");
    ecsAbsent = ecs.labelValues("absent");
    rrlDrop = rrl.labelValues("drop");
    rrlSlip = rrl.labelValues("slip");
  }

  public static DnsMetrics register(PrometheusRegistry registry) {
    return new DnsMetrics(registry);
  }

  void query(Transport transport, int qtype, int rcode, long startNanos) {
    int q = slot(QTYPES, qtype);
    int r = slot(RCODES, rcode);
    CounterDataPoint[] row = queryPoints[transport.ordinal()][q];
    CounterDataPoint p = row[r];
    if (p == null) {
      // first use of this combination: racing threads get the same data point from the metric
      p = queries.labelValues(q < QTYPES.length ? Type.string(QTYPES[q]) : "OTHER",
          r < RCODES.length ? Rcode.string(RCODES[r]) : "OTHER", transport.label());
      row[r] = p;
    }
    p.inc();
    latencyPoints[transport.ordinal()].observe((System.nanoTime() - startNanos) / 1e9);
  }

  void geoAnswer(String region) {
    answerPoints.computeIfAbsent(region, answers::labelValues).inc();
  }

  void ecs(boolean present) {
    (present ? ecsUsed : ecsAbsent).inc();
  }

  void rrlDrop() {
    rrlDrop.inc();
  }

  void rrlSlip() {
    rrlSlip.inc();
  }

  void dropped(String reason) {
    dropped.labelValues(reason).inc();
  }

  void internalError() {
    internalErrors.inc();
  }

  long internalErrors() {
    return (long) internalErrors.get();
  }

  void zoneLoad(boolean ok) {
    zoneLoads.labelValues(ok ? "ok" : "rejected").inc();
  }

  void planVersion(long version) {
    planVersion.set(version);
  }

  private static int slot(int[] known, int value) {
    for (int i = 0; i < known.length; i++) {
      if (known[i] == value) {
        return i;
      }
    }
    return known.length;
  }
}
