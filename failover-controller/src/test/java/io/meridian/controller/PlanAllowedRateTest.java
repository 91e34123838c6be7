package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.meridian.core.RoutingPlan;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The plan tells the proxies each region's allowed rate: capacity × headroom, 0 when failed, ramped after. */
@ExtendWith(VertxExtension.class)
class PlanAllowedRateTest {
  private static final List<String> VPS = List.of("vp-a", "vp-b", "vp-c");

  @Test
  void allowedRateFollowsHealthAndTheRamp(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, """
        headroom: 0.7
        failback_hold_down: 30s
        ramp_steps: 4
        ramp_interval: 10s
        """, "")) {
      d.report(VPS, List.of());
      RoutingPlan healthy = d.evaluate();
      double capacity = healthy.region("us-east").capacityRps();
      assertEquals(capacity * 0.7, healthy.region("us-east").allowedRps(), 1e-9);
      d.report(VPS, List.of("us-east"));
      assertEquals(0, d.evaluate().region("us-east").allowedRps());
      d.report(VPS, List.of());
      d.evaluate();
      d.clock.advance(Duration.ofSeconds(30));
      d.report(VPS, List.of());
      assertEquals(capacity * 0.7 * 0.25, d.evaluate().region("us-east").allowedRps(), 1e-9, "first ramp step");
    }
  }
}
