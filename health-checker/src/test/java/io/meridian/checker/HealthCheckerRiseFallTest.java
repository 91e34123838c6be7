package io.meridian.checker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A region whose real health endpoint starts returning 500, or stops listening, goes FAILED only after
 * {@code fall} failed probes, and comes back HEALTHY only after {@code rise} passing ones.
 */
@ExtendWith(VertxExtension.class)
class HealthCheckerRiseFallTest {
  static final int RISE = 3;
  static final int FALL = 4;

  private static String yaml(RegionApp app) {
    return "regions:\n" + CheckerHarness.region("us-east", 40, -74, app.url())
        + "health_check:\n  interval: 200ms\n  timeout: 190ms\n  rise: " + RISE + "\n  fall: " + FALL
        + "\n  report_interval: 100ms\n  vantage_point: vp-test\n  ops_listen: 127.0.0.1:0\n";
  }

  @Test
  void http500FailsAfterFallAndRecoversAfterRise(Vertx vertx) throws Exception {
    RegionApp app = RegionApp.start(vertx, "us-east").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    CheckerHarness h = new CheckerHarness(vertx, yaml(app));
    h.role.start().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    try {
      HealthReport first = h.await(r -> CheckerHarness.healthOf(r, "us-east") == Health.HEALTHY, Duration.ofSeconds(3));
      assertEquals("vp-test", first.vantagePoint());
      assertTrue(first.validUntil().isAfter(first.at()), "validUntil must be after the report time");

      int before = app.served.get();
      int mark = h.mark();
      app.mode(RegionApp.Mode.ERROR_500);
      HealthReport failed = h.await(mark, r -> CheckerHarness.healthOf(r, "us-east") == Health.FAILED, Duration.ofSeconds(3));
      int failures = app.served.get() - before;
      // the verdict needs FALL consecutive 500s: never fewer (a probe may already be in flight, hence +1)
      assertTrue(failures >= FALL && failures <= FALL + 1, "500s served before FAILED: " + failures);
      assertTrue(failed.regions().get(0).detail().contains("HTTP 500"), failed.regions().get(0).detail());
      assertEquals(0, failed.regions().get(0).healthyEndpoints());

      before = app.served.get();
      mark = h.mark();
      app.mode(RegionApp.Mode.OK);
      h.await(mark, r -> CheckerHarness.healthOf(r, "us-east") == Health.HEALTHY, Duration.ofSeconds(3));
      int successes = app.served.get() - before;
      assertTrue(successes >= RISE && successes <= RISE + 1, "200s served before HEALTHY: " + successes);
    } finally {
      h.role.stop().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void stoppedServerFailsAndRestartRecovers(Vertx vertx) throws Exception {
    RegionApp app = RegionApp.start(vertx, "us-east").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    CheckerHarness h = new CheckerHarness(vertx, yaml(app));
    h.role.start().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    try {
      h.await(r -> CheckerHarness.healthOf(r, "us-east") == Health.HEALTHY, Duration.ofSeconds(3));
      int mark = h.mark();
      app.stop().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      HealthReport failed = h.await(mark, r -> CheckerHarness.healthOf(r, "us-east") == Health.FAILED, Duration.ofSeconds(3));
      assertTrue(failed.regions().get(0).detail().contains("refused"), failed.regions().get(0).detail());
      mark = h.mark();
      app.restart().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      h.await(mark, r -> CheckerHarness.healthOf(r, "us-east") == Health.HEALTHY, Duration.ofSeconds(3));
    } finally {
      h.role.stop().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
  }
}
