package io.meridian.geodns.impl;

import io.netty.util.concurrent.FastThreadLocal;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricFamilyDescriptor;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

/**
 * GeoDNS's Prometheus series, documented in geodns/README.md. Label values come from closed sets (a fixed list
 * of query types, the rcodes we emit, two transports, configured region ids) so a flood of odd queries cannot
 * grow the registry.
 *
 * <p>The per-query series (queries, geo answers, ECS use, latency) are counted in plain {@code long}s owned by the
 * counting thread — one {@link Stripe} per event loop — and summed over the stripes when Prometheus scrapes. The
 * hot path thus does no atomic operation and no map lookup per query (the Prometheus client's own counters cost
 * several CAS-based adder updates per query, visible in profiles of the UDP benchmark). A scrape reads the stripes
 * without synchronisation: each long has one writer, so the sum can only lag the truth by the queries counted
 * while the scrape runs, never go backwards.
 */
public final class DnsMetrics {
  /** Query types that get their own label value; everything else is counted as {@code OTHER}. */
  private static final int[] QTYPES = {Type.A, Type.AAAA, Type.CNAME, Type.SOA, Type.NS, Type.MX, Type.TXT,
      Type.SRV, Type.PTR, Type.CAA, Type.ANY, Type.HTTPS, Type.SVCB, Type.DS, Type.DNSKEY};
  private static final int[] RCODES = {Rcode.NOERROR, Rcode.FORMERR, Rcode.SERVFAIL, Rcode.NXDOMAIN,
      Rcode.NOTIMP, Rcode.REFUSED, Rcode.BADVERS};
  /** Latency bucket upper bounds (seconds), and the same in nanoseconds for the hot path. */
  static final double[] LATENCY_BOUNDS = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
      0.005, 0.01, 0.1, Double.POSITIVE_INFINITY};
  private static final long[] LATENCY_BOUNDS_NANOS = new long[LATENCY_BOUNDS.length - 1];
  private static final int TRANSPORTS = Transport.values().length;
  private static final int Q_SLOTS = QTYPES.length + 1;
  private static final int R_SLOTS = RCODES.length + 1;

  static {
    for (int i = 0; i < LATENCY_BOUNDS_NANOS.length; i++) {
      LATENCY_BOUNDS_NANOS[i] = Math.round(LATENCY_BOUNDS[i] * 1e9);
    }
  }

  /** One thread's counts. Written only by its thread; read (racily, see the class comment) by scrapes. */
  static final class Stripe {
    final long[] queries = new long[TRANSPORTS * Q_SLOTS * R_SLOTS];
    final long[] latencyBuckets = new long[TRANSPORTS * LATENCY_BOUNDS.length];
    final long[] latencyNanos = new long[TRANSPORTS];
    final long[] ecs = new long[2]; // absent, present
    final long[] unlocated = new long[Query.Unlocated.values().length];
    final long[] cookies = new long[ServerCookies.Verdict.values().length];
    /** By region slot ({@link #regionSlots}); grown (copied, then published) by the owner thread only. */
    volatile long[] answers = new long[8];
    /** Region ids this stripe has counted (by reference) and their slots: the owner thread's alone. */
    String[] answerIds = new String[0];
    int[] answerSlots = new int[0];
  }

  private final Counter rrl;
  private final Counter dropped;
  private final Counter zoneLoads;
  private final Counter internalErrors;
  private final Gauge planVersion;
  private final Info udpListener;

  private final List<Stripe> stripes = new CopyOnWriteArrayList<>();
  private final FastThreadLocal<Stripe> local = new FastThreadLocal<>() {
    @Override
    protected Stripe initialValue() {
      Stripe s = new Stripe();
      stripes.add(s);
      return s;
    }
  };
  /** Region id (or "fallback") → index into {@link Stripe#answers}; grows only with configured region ids. */
  private final Map<String, Integer> regionSlots = new ConcurrentHashMap<>();
  private final List<String> regionNames = new CopyOnWriteArrayList<>();

  private DnsMetrics(PrometheusRegistry registry) {
    registry.register(new PerQuery());
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
    planVersion = Gauge.builder().name("meridian_geodns_plan_version")
        .help("Version of the routing plan answers are computed from").register(registry);
    udpListener = Info.builder().name("meridian_geodns_udp_listener")
        .help("The UDP listener in use (1): native (blocking recvmmsg/sendmmsg threads), epoll (Netty's channel on"
            + " the event loops) or vertx (one packet per syscall)").labelNames("listener").register(registry);
    rrl.labelValues("drop");
    rrl.labelValues("slip");
  }

  public static DnsMetrics register(PrometheusRegistry registry) {
    return new DnsMetrics(registry);
  }

  /**
   * DNSSEC series, read from the zones served when scraped (signing keeps no counters on the query path): when each
   * signed zone's signatures expire — alert well before, a validator fails the zone at that moment — and how many
   * signatures each holds, prepared at (re-)signing or made online on first use.
   */
  void dnssec(PrometheusRegistry registry, java.util.function.Supplier<Authority> zones) {
    io.prometheus.metrics.core.metrics.GaugeWithCallback.builder()
        .name("meridian_geodns_dnssec_signature_expiry_timestamp_seconds")
        .help("When the signatures of a signed zone expire (Unix time); renewed after a quarter of their validity")
        .labelNames("zone").callback(cb -> {
          for (ZoneData z : zones.get().zones()) {
            if (z.signer() != null) {
              cb.call(z.signer().signatures().expiration.getEpochSecond(), z.origin().toString());
            }
          }
        }).register(registry);
    io.prometheus.metrics.core.metrics.GaugeWithCallback.builder()
        .name("meridian_geodns_dnssec_signatures")
        .help("Signed RRsets held per signed zone: prepared (signed at (re-)signing) or online (signed on first use)")
        .labelNames("zone", "kind").callback(cb -> {
          for (ZoneData z : zones.get().zones()) {
            if (z.signer() != null) {
              ZoneSigner.Signatures s = z.signer().signatures();
              cb.call(s.preparedCount(), z.origin().toString(), "prepared");
              cb.call(s.onlineCount(), z.origin().toString(), "online");
            }
          }
        }).register(registry);
  }

  /** The calling thread's stripe (an indexed slot on Netty and Vert.x threads). */
  Stripe stripe() {
    return local.get();
  }

  /** One query answered (its latency is recorded apart: per query or per read burst, see {@link #latency}). */
  void query(Transport transport, int qtype, int rcode) {
    query(local.get(), transport, qtype, rcode);
  }

  /**
   * {@link #query(Transport, int, int)} into {@code s}, the calling thread's {@link #stripe()} that it looked up
   * once: the UDP threads keep theirs with their reused {@link Query}, sparing a thread-local lookup per counter.
   */
  void query(Stripe s, Transport transport, int qtype, int rcode) {
    int q = slot(QTYPES, qtype);
    int r = slot(RCODES, rcode);
    s.queries[(transport.ordinal() * Q_SLOTS + q) * R_SLOTS + r]++;
  }

  /** {@code count} queries that each took {@code nanos} from read to answer handed to the socket. */
  void latency(Transport transport, long nanos, int count) {
    latency(local.get(), transport, nanos, count);
  }

  static void latency(Stripe s, Transport transport, long nanos, int count) {
    int b = 0;
    while (b < LATENCY_BOUNDS_NANOS.length && nanos > LATENCY_BOUNDS_NANOS[b]) {
      b++;
    }
    s.latencyBuckets[transport.ordinal() * LATENCY_BOUNDS.length + b] += count;
    s.latencyNanos[transport.ordinal()] += nanos * count;
  }

  void geoAnswer(String region) {
    geoAnswer(local.get(), region);
  }

  /** {@link #geoAnswer(String)} into the calling thread's stripe {@code s}. */
  void geoAnswer(Stripe s, String region) {
    // region ids are the topology's own String instances: found by reference in the stripe's few ids, without
    // hashing the id or touching the shared map, on every answer
    String[] ids = s.answerIds;
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == region) {
        s.answers[s.answerSlots[i]]++;
        return;
      }
    }
    Integer slot = regionSlots.get(region);
    if (slot == null) {
      slot = newRegionSlot(region);
    }
    if (ids.length < 64) { // remember it (ids of configs reloaded long ago stay; the map still finds them)
      s.answerIds = java.util.Arrays.copyOf(ids, ids.length + 1);
      s.answerIds[ids.length] = region;
      s.answerSlots = java.util.Arrays.copyOf(s.answerSlots, ids.length + 1);
      s.answerSlots[ids.length] = slot;
    }
    long[] a = s.answers;
    if (slot >= a.length) {
      a = java.util.Arrays.copyOf(a, Math.max(slot + 1, a.length * 2));
      s.answers = a;
    }
    a[slot]++;
  }

  private synchronized int newRegionSlot(String region) {
    Integer slot = regionSlots.get(region);
    if (slot == null) {
      slot = regionNames.size();
      regionNames.add(region);
      regionSlots.put(region, slot);
    }
    return slot;
  }

  void ecs(boolean present) {
    ecs(local.get(), present);
  }

  /** {@link #ecs(boolean)} into the calling thread's stripe {@code s}. */
  static void ecs(Stripe s, boolean present) {
    s.ecs[present ? 1 : 0]++;
  }

  /** A geo answer for a client that could not be located, placed by {@code dns.unlocated} as {@code how}. */
  void unlocated(Query.Unlocated how) {
    unlocated(local.get(), how);
  }

  /** {@link #unlocated(Query.Unlocated)} into the calling thread's stripe {@code s}. */
  static void unlocated(Stripe s, Query.Unlocated how) {
    s.unlocated[how.ordinal()]++;
  }

  /** A query's COOKIE option judged (RFC 7873 §5.2). */
  void cookie(ServerCookies.Verdict v) {
    cookie(local.get(), v);
  }

  /** {@link #cookie(ServerCookies.Verdict)} into the calling thread's stripe {@code s}. */
  static void cookie(Stripe s, ServerCookies.Verdict v) {
    s.cookies[v.ordinal()]++;
  }

  void rrlDrop() {
    rrl.labelValues("drop").inc();
  }

  void rrlSlip() {
    rrl.labelValues("slip").inc();
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

  /** Records which UDP listener serves (after each bind: a rebind may fall back to another one). */
  void udpListener(String kind) {
    udpListener.setLabelValues(kind);
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

  /** The per-query series, summed over the stripes at scrape time. */
  private final class PerQuery implements MultiCollector {
    /** Names, types and label names up front, so the registry refuses a second registration of any of them. */
    @Override
    public List<MetricFamilyDescriptor> getMetricFamilyDescriptors() {
      return List.of(
          MetricFamilyDescriptor.counter("meridian_geodns_queries").labelNames("qtype", "rcode", "transport").build(),
          MetricFamilyDescriptor.counter("meridian_geodns_geo_answers").labelNames("region").build(),
          MetricFamilyDescriptor.counter("meridian_geodns_ecs_queries").labelNames("ecs").build(),
          MetricFamilyDescriptor.histogram("meridian_geodns_query_duration_seconds").labelNames("transport").build(),
          MetricFamilyDescriptor.counter("meridian_geodns_unlocated_answers").labelNames("policy").build(),
          MetricFamilyDescriptor.counter("meridian_geodns_cookies").labelNames("result").build());
    }

    @Override
    public MetricSnapshots collect() {
      long[] queries = new long[TRANSPORTS * Q_SLOTS * R_SLOTS];
      long[] buckets = new long[TRANSPORTS * LATENCY_BOUNDS.length];
      long[] nanos = new long[TRANSPORTS];
      long[] ecs = new long[2];
      long[] answers = new long[regionNames.size()];
      long[] unlocated = new long[Query.Unlocated.values().length];
      long[] cookies = new long[ServerCookies.Verdict.values().length];
      for (Stripe s : stripes) {
        add(queries, s.queries);
        add(buckets, s.latencyBuckets);
        add(nanos, s.latencyNanos);
        add(ecs, s.ecs);
        add(answers, s.answers);
        add(unlocated, s.unlocated);
        add(cookies, s.cookies);
      }
      Transport[] ts = Transport.values();

      CounterSnapshot.Builder q = CounterSnapshot.builder().name("meridian_geodns_queries")
          .help("DNS queries answered, by query type, response code and transport");
      for (Transport t : ts) {
        for (int qi = 0; qi < Q_SLOTS; qi++) {
          for (int ri = 0; ri < R_SLOTS; ri++) {
            long v = queries[(t.ordinal() * Q_SLOTS + qi) * R_SLOTS + ri];
            if (v > 0) {
              q.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(v)
                  .labels(Labels.of("qtype", qi < QTYPES.length ? Type.string(QTYPES[qi]) : "OTHER",
                      "rcode", ri < RCODES.length ? Rcode.string(RCODES[ri]) : "OTHER",
                      "transport", t.label()))
                  .build());
            }
          }
        }
      }

      CounterSnapshot.Builder a = CounterSnapshot.builder().name("meridian_geodns_geo_answers")
          .help("Geo-name answers by the region answered (fallback: no eligible region, fallback applied)");
      Map<String, Long> byRegion = new TreeMap<>();
      for (int i = 0; i < answers.length; i++) {
        byRegion.put(regionNames.get(i), answers[i]);
      }
      byRegion.forEach((region, v) -> a.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(v)
          .labels(Labels.of("region", region)).build()));

      CounterSnapshot.Builder e = CounterSnapshot.builder().name("meridian_geodns_ecs_queries")
          .help("Queries by whether they carried an EDNS Client Subnet option (RFC 7871)");
      e.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(ecs[1])
          .labels(Labels.of("ecs", "present")).build());
      e.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(ecs[0])
          .labels(Labels.of("ecs", "absent")).build());

      HistogramSnapshot.Builder h = HistogramSnapshot.builder().name("meridian_geodns_query_duration_seconds")
          .help("Time from packet received to response handed to the socket, by transport (UDP: per read burst,"
              + " see geodns/README.md)");
      for (Transport t : ts) {
        long[] counts = new long[LATENCY_BOUNDS.length];
        for (int b = 0; b < counts.length; b++) {
          counts[b] = buckets[t.ordinal() * LATENCY_BOUNDS.length + b];
        }
        h.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
            .classicHistogramBuckets(ClassicHistogramBuckets.of(LATENCY_BOUNDS, counts))
            .sum(nanos[t.ordinal()] / 1e9)
            .labels(Labels.of("transport", t.label())).build());
      }
      CounterSnapshot.Builder u = CounterSnapshot.builder().name("meridian_geodns_unlocated_answers")
          .help("Geo answers for clients without a location (no GeoIP entry, no nets match), by how dns.unlocated"
              + " placed them: resolver (its resolver's location), region (the configured region), all (every"
              + " eligible region)");
      for (Query.Unlocated how : Query.Unlocated.values()) {
        u.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(unlocated[how.ordinal()])
            .labels(Labels.of("policy", how.label)).build());
      }
      CounterSnapshot.Builder c = CounterSnapshot.builder().name("meridian_geodns_cookies")
          .help("Queries with a DNS COOKIE option (RFC 7873), by what it held: client_only, valid (a server cookie"
              + " of ours, current or previous secret, not expired), invalid (answered with a fresh one)");
      for (ServerCookies.Verdict v : ServerCookies.Verdict.values()) {
        c.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(cookies[v.ordinal()])
            .labels(Labels.of("result", v.label)).build());
      }
      return new MetricSnapshots(q.build(), a.build(), e.build(), h.build(), u.build(), c.build());
    }

    private static void add(long[] sum, long[] part) {
      for (int i = 0; i < sum.length && i < part.length; i++) {
        sum[i] += part[i];
      }
    }
  }
}
