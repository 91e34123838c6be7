package io.meridian.proxy.impl;

import io.meridian.core.ControlBus;
import io.meridian.core.TrafficReport;
import io.meridian.core.geo.Zones;
import io.vertx.core.Vertx;
import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Publishes a {@link TrafficReport} every {@link #INTERVAL_MS}: demand per client zone and per region, the
 * error fraction per region and outlier ejections. The controller plans capacity from the demand and treats
 * ejections as passive health evidence.
 */
final class TrafficReporter {
  /** Matches the controller's planning cadence; shorter only adds bus traffic, longer delays spill-over. */
  static final long INTERVAL_MS = 5_000;

  private final Vertx vertx;
  private final ControlBus bus;
  private final ProxyEngine engine;
  private final String source;
  private long timer = -1;
  private long lastNanos = System.nanoTime();
  private final Map<String, long[]> lastRegionCounts = new HashMap<>();

  TrafficReporter(Vertx vertx, ControlBus bus, ProxyEngine engine) {
    this.vertx = vertx;
    this.bus = bus;
    this.engine = engine;
    this.source = "proxy@" + ManagementFactory.getRuntimeMXBean().getName();
  }

  void start() {
    lastNanos = System.nanoTime();
    timer = vertx.setPeriodic(INTERVAL_MS, id -> report());
  }

  void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
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
    engine.upstreams().forEach((id, ru) -> {
      long req = ru.requests.sum();
      long err = ru.errors.sum();
      long[] last = lastRegionCounts.getOrDefault(id, new long[2]);
      long dReq = req - last[0];
      long dErr = err - last[1];
      lastRegionCounts.put(id, new long[] {req, err});
      rps.put(id, dReq / seconds);
      errors.put(id, dReq <= 0 ? 0.0 : Math.min(1.0, (double) dErr / dReq));
      int ej = 0;
      for (Upstream u : ru.upstreams) {
        ej += u.drainEjectionCount();
      }
      ejections.put(id, ej);
      engine.metrics.inFlight(id, ru.inFlight.get());
    });
    TrafficReport r = new TrafficReport(source, Instant.now(), zones, rps, errors, ejections);
    bus.publishTraffic(r);
    return r;
  }
}
