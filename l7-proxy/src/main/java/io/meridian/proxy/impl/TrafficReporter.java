package io.meridian.proxy.impl;

import io.meridian.core.ControlBus;
import io.meridian.core.TrafficReport;
import io.meridian.core.geo.Zones;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Publishes a {@link TrafficReport} every {@link #INTERVAL_MS}: demand per client zone and per region, the
 * error fraction per region, outlier ejections, and the rate offered to each region (sent + turned away by its
 * allowed rate). The controller plans capacity from the demand and treats ejections as passive health
 * evidence; the proxies split each region's allowed rate by the offered rates ({@link AdmissionShares}).
 */
final class TrafficReporter {
  /** Matches the controller's planning cadence; shorter only adds bus traffic, longer delays spill-over. */
  static final long INTERVAL_MS = 5_000;

  /** {@link #INTERVAL_MS}, or {@code -Dmeridian.proxy.trafficReportMs} (tests that watch shares move). */
  static long intervalMs() {
    return Long.getLong("meridian.proxy.trafficReportMs", INTERVAL_MS);
  }

  private final Vertx vertx;
  private final ControlBus bus;
  private final ProxyEngine engine;
  private final String source;
  private final long intervalMs;
  private long timer = -1;
  private long lastNanos = System.nanoTime();
  private final Map<String, long[]> lastRegionCounts = new HashMap<>();

  TrafficReporter(Vertx vertx, ControlBus bus, ProxyEngine engine) {
    this.vertx = vertx;
    this.bus = bus;
    this.engine = engine;
    this.source = engine.source;
    this.intervalMs = intervalMs();
  }

  void start() {
    lastNanos = System.nanoTime();
    timer = vertx.setPeriodic(intervalMs, id -> report());
  }

  /**
   * Stops reporting and says so with an empty report: the other proxies take over this one's share of every
   * region at once (over etcd the lease's expiry says the same for a proxy that dies without stopping).
   */
  void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
      bus.publishTraffic(new TrafficReport(source, Instant.now(), Map.of(), Map.of(), Map.of(), Map.of()));
    }
  }

  /** Builds and publishes one report; package-private so tests can force one. */
  TrafficReport report() {
    long now = System.nanoTime();
    double seconds = Math.max(1e-3, (now - lastNanos) / 1e9);
    lastNanos = now;
    Map<String, Double> zones = new HashMap<>();
    for (int z = 0; z < Zones.COUNT; z++) {
      if (engine.zoneRequests.get(z) != 0) {
        int n = engine.zoneRequests.getAndSet(z, 0);
        zones.put(Zones.id(z), n / seconds);
      }
    }
    Map<String, Double> rps = new HashMap<>();
    Map<String, Double> errors = new HashMap<>();
    Map<String, Integer> ejections = new HashMap<>();
    Map<String, Double> offered = new HashMap<>();
    engine.upstreams().forEach((id, ru) -> {
      long req = ru.requests.sum();
      long err = ru.errors.sum();
      long away = ru.turnedAway.sum();
      long[] last = lastRegionCounts.getOrDefault(id, new long[3]);
      long dReq = req - last[0];
      long dErr = err - last[1];
      long dAway = away - last[2];
      lastRegionCounts.put(id, new long[] {req, err, away});
      rps.put(id, dReq / seconds);
      offered.put(id, (dReq + dAway) / seconds);
      errors.put(id, dReq <= 0 ? 0.0 : Math.min(1.0, (double) dErr / dReq));
      int ej = 0;
      for (Upstream u : ru.upstreams) {
        ej += u.drainEjectionCount();
      }
      ejections.put(id, ej);
      engine.metrics.inFlight(id, ru.inFlight.get());
    });
    TrafficReport r = new TrafficReport(source, Instant.now(), zones, rps, errors, ejections, offered);
    bus.publishTraffic(r);
    return r;
  }
}
