package io.meridian.controller.impl;

import io.meridian.config.ControllerConfig;
import io.meridian.core.TrafficReport;
import io.meridian.core.geo.Zones;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * Demand per client zone: the configured estimates ({@code controller.demand_estimates}) blended, zone by zone,
 * with what the proxies measure. Per zone z, at each evaluation:
 *
 * <ul>
 *   <li><b>measured</b> m(z): the sum over live proxies (latest report within {@code demand_window}) of the
 *       requests/s each last reported for z;</li>
 *   <li><b>sample</b> k(z): requests for z observed within {@code demand_window}, over every report of every
 *       proxy in it (a report's rate × the time since that proxy's previous report; a proxy's first report
 *       counts 0, its interval is unknown);</li>
 *   <li>with k(z) ≥ {@code demand_min_requests} the measurement is trusted: demand = m(z), below the estimate
 *       too;</li>
 *   <li>otherwise demand = max(m(z), r(z)), where r(z) relaxes from the zone's last demand towards its estimate
 *       e(z) (0 when none) exponentially: r = e + (last − e) × 2^(−Δt / {@code demand_half_life}).</li>
 * </ul>
 *
 * <p>So a thin measurement can raise a zone's demand but never lower it below what is known (capacity checks
 * err on the side of more load); an empty report — no clients yet — changes nothing (the all-in-one run used to
 * plan 0 rps everywhere from the proxy's first, empty report, and then refused nothing); and when proxies die
 * or traffic stops, demand glides back to the estimate instead of jumping to 0. A zone whose real demand stays
 * below demand_min_requests per window cannot pull its estimate down: lower or remove that estimate.
 *
 * <p>Used from the controller's single lane only. Calling {@link #demand} again at the same instant gives the
 * same answer, so dry runs may call it between evaluations.
 */
final class DemandView {
  /** Zones without an estimate whose demand decayed below this are forgotten, so the map stays bounded. */
  private static final double FORGET_RPS = 1e-3;

  /** One proxy's report, zone ids parsed once. */
  private record Sample(Instant at, double seconds, int[] zones, double[] rps) {}

  /** One proxy: its reports within the window (oldest first) and when it last reported. */
  private static final class Source {
    final Deque<Sample> samples = new ArrayDeque<>();
    Instant lastAt;
  }

  private final Map<String, Source> sources = new HashMap<>();
  /** Each zone's demand at {@link #lastAt}: the "last" that relaxes towards the estimate. */
  private final Map<Integer, Double> values = new HashMap<>();
  private Instant lastAt;
  private Map<String, Double> estimatesFor;
  private Map<Integer, Double> estimates = Map.of();

  void accept(TrafficReport report) {
    Source s = sources.computeIfAbsent(report.source(), k -> new Source());
    if (s.lastAt != null && report.at().isBefore(s.lastAt)) {
      return; // out of order: the newer report already counted
    }
    int[] zones = new int[report.zoneRps().size()];
    double[] rps = new double[zones.length];
    int n = 0;
    for (Map.Entry<String, Double> e : report.zoneRps().entrySet()) {
      int z = Zones.parse(e.getKey());
      double v = e.getValue() == null ? 0 : e.getValue();
      if (z != Zones.UNKNOWN && v > 0 && Double.isFinite(v)) {
        zones[n] = z;
        rps[n++] = v;
      }
    }
    Sample sample;
    if (s.lastAt != null && report.at().equals(s.lastAt) && !s.samples.isEmpty()) {
      // the same interval again (a re-sent report): replace it rather than count its requests twice
      sample = new Sample(report.at(), s.samples.pollLast().seconds(), trim(zones, n), trim(rps, n));
    } else {
      double seconds = s.lastAt == null ? 0 : Duration.between(s.lastAt, report.at()).toMillis() / 1000.0;
      sample = new Sample(report.at(), seconds, trim(zones, n), trim(rps, n));
    }
    s.samples.addLast(sample);
    s.lastAt = report.at();
  }

  /** Zone index → rps (zones with demand > 0), sorted by zone index so planning is deterministic. */
  TreeMap<Integer, Double> demand(Instant now, ControllerConfig cc) {
    Duration window = cc.demandWindow();
    Map<Integer, Double> measured = new HashMap<>();
    Map<Integer, Double> sampled = new HashMap<>();
    for (Iterator<Source> it = sources.values().iterator(); it.hasNext(); ) {
      Source s = it.next();
      while (!s.samples.isEmpty() && Duration.between(s.samples.peekFirst().at(), now).compareTo(window) > 0) {
        s.samples.pollFirst();
      }
      if (s.samples.isEmpty()) {
        if (s.lastAt != null && Duration.between(s.lastAt, now).compareTo(window.multipliedBy(10)) > 0) {
          it.remove(); // long gone; a proxy that comes back starts with an unknown first interval again
        }
        continue;
      }
      Sample latest = s.samples.peekLast();
      for (int i = 0; i < latest.zones().length; i++) {
        measured.merge(latest.zones()[i], latest.rps()[i], Double::sum);
      }
      for (Sample x : s.samples) {
        double seconds = Math.min(x.seconds(), window.toMillis() / 1000.0);
        for (int i = 0; i < x.zones().length; i++) {
          sampled.merge(x.zones()[i], x.rps()[i] * seconds, Double::sum);
        }
      }
    }
    Map<Integer, Double> est = estimates(cc.demandEstimates());
    double decay = 1;
    if (lastAt != null && now.isAfter(lastAt)) {
      double halfLives = Duration.between(lastAt, now).toMillis() / (double) cc.demandHalfLife().toMillis();
      decay = Math.pow(0.5, halfLives);
    }
    java.util.Set<Integer> zones = new java.util.HashSet<>(values.keySet());
    zones.addAll(est.keySet());
    zones.addAll(measured.keySet());
    TreeMap<Integer, Double> out = new TreeMap<>();
    for (int z : zones) {
      double e = est.getOrDefault(z, 0.0);
      double m = measured.getOrDefault(z, 0.0);
      double d;
      if (sampled.getOrDefault(z, 0.0) >= cc.demandMinRequests()) {
        d = m;
      } else {
        double last = values.getOrDefault(z, e);
        d = Math.max(m, e + (last - e) * decay);
      }
      if (e <= 0 && d < FORGET_RPS) {
        values.remove(z);
        continue;
      }
      values.put(z, d);
      if (d > 0) {
        out.put(z, d);
      }
    }
    if (lastAt == null || now.isAfter(lastAt)) {
      lastAt = now;
    }
    return out;
  }

  /** The estimates by zone index, parsed once per configuration. */
  private Map<Integer, Double> estimates(Map<String, Double> configured) {
    if (configured != estimatesFor) {
      Map<Integer, Double> parsed = new HashMap<>();
      configured.forEach((zone, rps) -> {
        int z = Zones.parse(zone);
        if (z != Zones.UNKNOWN && rps > 0) {
          parsed.merge(z, rps, Double::sum);
        }
      });
      estimates = parsed;
      estimatesFor = configured;
    }
    return estimates;
  }

  private static int[] trim(int[] a, int n) {
    return n == a.length ? a : java.util.Arrays.copyOf(a, n);
  }

  private static double[] trim(double[] a, int n) {
    return n == a.length ? a : java.util.Arrays.copyOf(a, n);
  }
}
