package io.meridian.checker;

import static io.meridian.checker.HttpProbeOutcomesTest.get;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.meridian.config.HealthCheckConfig;
import io.meridian.core.Health;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The design bound from a region's death to a published FAILED, with the default health_check settings: a region
 * that refuses connections (a killed process) within fall × interval + timeout + one report period (1.65 s); a
 * region that hangs needs fall_timeouts timeouts in a row (a lossy path can fake a timeout, not a refusal), each
 * backed off to twice the one before up to timeout_max: 4.75 s with the defaults. The bound itself is arithmetic and asserted; the
 * measured times are printed (timings are not asserted in tests: a loaded CI machine fires timers late), and
 * bench/health-checker/detection.sh measures them properly.
 */
@ExtendWith(VertxExtension.class)
class DetectionTimeTest {

  private static Duration bound(HealthCheckConfig hc) {
    return hc.interval().multipliedBy(hc.fall()).plus(hc.timeout()).plus(hc.reportInterval());
  }

  /**
   * fall_timeouts timeouts in a row, each twice the one before up to timeout_max (back-off), each probe starting on
   * the next interval tick after the previous one ended; then one report period.
   */
  private static Duration hangBound(HealthCheckConfig hc) {
    long interval = hc.interval().toMillis();
    long t = hc.timeout().toMillis();
    long total = 0;
    for (int i = 0; i < hc.fallTimeouts(); i++) {
      total += (Math.max(t, 1) + interval - 1) / interval * interval;
      t = Math.min(2 * t, hc.timeoutMax().toMillis());
    }
    return Duration.ofMillis(total).plus(hc.reportInterval());
  }

  private Duration measure(Vertx vertx, boolean hang) throws Exception {
    RegionApp app = get(RegionApp.start(vertx, "us-east"));
    CheckerHarness h = new CheckerHarness(vertx, "regions:\n" + CheckerHarness.region("us-east", 40, -74, app.url())
        + "health_check:\n  ops_listen: 127.0.0.1:0\n");
    get(h.role.start());
    try {
      h.await(r -> CheckerHarness.healthOf(r, "us-east") == Health.HEALTHY, Duration.ofSeconds(3));
      int mark = h.mark();
      long died = System.nanoTime();
      if (hang) {
        app.mode(RegionApp.Mode.HANG);
      } else {
        get(app.stop());
      }
      h.await(mark, r -> CheckerHarness.healthOf(r, "us-east") == Health.FAILED, Duration.ofSeconds(15));
      return Duration.ofNanos(System.nanoTime() - died);
    } finally {
      get(h.role.stop());
    }
  }

  @Test
  void defaultBounds() {
    HealthCheckConfig d = HealthCheckConfig.defaults();
    assertEquals(Duration.ofMillis(1650), bound(d), "refused: 2 × 500 ms + 400 ms + 250 ms");
    assertEquals(Duration.ofMillis(4750), hangBound(d), "hang: timeouts of 400, 800, 1500, 1500 ms on 500 ms ticks"
        + " (500 + 1000 + 1500 + 1500) + 250 ms");
  }

  @Test
  void stoppedRegionIsFailed(Vertx vertx) throws Exception {
    Duration took = measure(vertx, false);
    System.out.println("death (refused) -> FAILED: " + took.toMillis() + " ms (bound "
        + bound(HealthCheckConfig.defaults()).toMillis() + " ms)");
  }

  @Test
  void hangingRegionIsFailed(Vertx vertx) throws Exception {
    Duration took = measure(vertx, true);
    System.out.println("death (hang) -> FAILED: " + took.toMillis() + " ms (bound "
        + hangBound(HealthCheckConfig.defaults()).toMillis() + " ms)");
  }
}
