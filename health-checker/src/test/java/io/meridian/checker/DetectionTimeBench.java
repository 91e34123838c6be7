package io.meridian.checker;

import static io.meridian.checker.HttpProbeOutcomesTest.get;

import io.meridian.config.HealthCheckConfig;
import io.meridian.core.Health;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Benchmark, not a test: run by bench/health-checker/detection.sh (skipped in the normal build). Measures, with
 * the default health_check settings, the time from a region's death to a published FAILED, over several trials,
 * for a region that refuses connections and for one that hangs; and the latency of a healthy HTTP probe.
 */
@ExtendWith(VertxExtension.class)
@EnabledIfSystemProperty(named = "meridian.bench", matches = "true")
class DetectionTimeBench {

  @Test
  void detectionTime(Vertx vertx) throws Exception {
    int trials = Integer.getInteger("meridian.bench.trials", 10);
    HealthCheckConfig d = HealthCheckConfig.defaults();
    Duration bound = d.interval().multipliedBy(d.fall()).plus(d.timeout()).plus(d.reportInterval());
    for (boolean hang : new boolean[] {false, true}) {
      List<Long> ms = new ArrayList<>();
      for (int i = 0; i < trials; i++) {
        ms.add(trial(vertx, hang).toMillis());
      }
      print((hang ? "hang" : "refused") + " death -> FAILED (defaults, bound " + bound.toMillis() + " ms)", ms);
    }
  }

  @Test
  void probeLatency(Vertx vertx) throws Exception {
    RegionApp app = get(RegionApp.start(vertx, "us-east"));
    HealthProbe p = HealthProbe.of(vertx, HttpProbeOutcomesTest.http(app.url(), "\"status\":\"ok\""),
        HealthProbe.Settings.of(HealthCheckConfig.defaults()));
    List<Long> us = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      ProbeResult r = get(Future.<ProbeResult>future(pr -> vertx.runOnContext(v -> p.probe().onComplete(pr))));
      if (i >= 200) {
        us.add(r.totalNanos() / 1000);
      }
    }
    p.close();
    print("healthy HTTP probe, loopback, new connection each (us)", us);
  }

  private static Duration trial(Vertx vertx, boolean hang) throws Exception {
    RegionApp app = get(RegionApp.start(vertx, "us-east"));
    CheckerHarness h = new CheckerHarness(vertx, "regions:\n" + CheckerHarness.region("us-east", 40, -74, app.url())
        + "health_check:\n  ops_listen: 127.0.0.1:0\n");
    get(h.role.start());
    try {
      h.await(r -> CheckerHarness.healthOf(r, "us-east") == Health.HEALTHY, Duration.ofSeconds(3));
      Thread.sleep((long) (Math.random() * 500)); // die at a random phase of the probe interval
      int mark = h.mark();
      long died = System.nanoTime();
      if (hang) {
        app.mode(RegionApp.Mode.HANG);
      } else {
        get(app.stop());
      }
      h.await(mark, r -> CheckerHarness.healthOf(r, "us-east") == Health.FAILED, Duration.ofSeconds(5));
      return Duration.ofNanos(System.nanoTime() - died);
    } finally {
      get(h.role.stop());
      if (hang) {
        get(app.stop());
      }
    }
  }

  private static void print(String what, List<Long> values) {
    List<Long> v = new ArrayList<>(values);
    Collections.sort(v);
    System.out.printf("BENCH %s: n=%d min=%d p50=%d p99=%d max=%d%n", what, v.size(), v.get(0),
        v.get(v.size() / 2), v.get(Math.min(v.size() - 1, (int) Math.ceil(v.size() * 0.99) - 1)), v.get(v.size() - 1));
  }
}
