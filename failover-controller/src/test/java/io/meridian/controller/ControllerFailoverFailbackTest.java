package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.Lifecycle;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Health reports on the bus drive failover, hold-down, slow-start ramp and return to ACTIVE. */
@ExtendWith(VertxExtension.class)
class ControllerFailoverFailbackTest {
  private static final String CONTROLLER = """
      failback_hold_down: 30s
      ramp_steps: 4
      ramp_interval: 10s
      """;
  private static final List<String> VPS = List.of("vp-a", "vp-b", "vp-c");

  @Test
  void failedRegionIsTakenOutThenReturnsAfterHoldDownThroughARamp(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, CONTROLLER, "")) {
      d.report(VPS, List.of());
      RoutingPlan healthy = d.evaluate();
      assertEquals(Lifecycle.ACTIVE, healthy.region("us-east").lifecycle());
      assertEquals(Health.HEALTHY, healthy.region("us-east").health());

      d.report(VPS, List.of("us-east"));
      RoutingPlan failed = d.evaluate();
      assertState(failed.region("us-east"), Lifecycle.FAILED, 0);
      assertEquals(Health.FAILED, failed.region("us-east").health());
      assertTrue(failed.version() > healthy.version());
      assertTrue(failed.reason().contains("us-east"), failed.reason());

      // healthy again: nothing happens until the hold-down has passed
      d.report(VPS, List.of());
      assertState(d.evaluate().region("us-east"), Lifecycle.FAILED, 0);
      d.clock.advance(Duration.ofSeconds(29));
      d.report(VPS, List.of());
      assertState(d.evaluate().region("us-east"), Lifecycle.FAILED, 0);

      d.clock.advance(Duration.ofSeconds(1));
      assertState(d.evaluate().region("us-east"), Lifecycle.RECOVERING, 0.25);
      d.clock.advance(Duration.ofSeconds(9));
      assertState(d.evaluate().region("us-east"), Lifecycle.RECOVERING, 0.25);
      d.clock.advance(Duration.ofSeconds(1));
      assertState(d.evaluate().region("us-east"), Lifecycle.RECOVERING, 0.5);
      d.clock.advance(Duration.ofSeconds(10));
      assertState(d.evaluate().region("us-east"), Lifecycle.RECOVERING, 0.75);
      d.clock.advance(Duration.ofSeconds(10));
      RoutingPlan back = d.evaluate();
      assertState(back.region("us-east"), Lifecycle.ACTIVE, 1);

      // every published plan is newer than the one before, and the sequence of us-east states is the story
      assertEquals(List.of("ACTIVE@1.0", "FAILED@0.0", "RECOVERING@0.25", "RECOVERING@0.5", "RECOVERING@0.75",
          "ACTIVE@1.0"), collapse(d.plans));
      for (int i = 1; i < d.plans.size(); i++) {
        assertTrue(d.plans.get(i).version() > d.plans.get(i - 1).version());
      }
    }
  }

  @Test
  void failureDuringHoldDownRestartsIt(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, CONTROLLER, "")) {
      d.report(VPS, List.of("eu-west"));
      assertState(d.evaluate().region("eu-west"), Lifecycle.FAILED, 0);
      d.report(VPS, List.of());
      d.evaluate();
      d.clock.advance(Duration.ofSeconds(20));
      d.report(VPS, List.of("eu-west")); // flaps
      d.evaluate();
      d.clock.advance(Duration.ofSeconds(5));
      d.report(VPS, List.of());
      d.evaluate();
      d.clock.advance(Duration.ofSeconds(20)); // 45 s after the first recovery, 20 s after the last
      d.report(VPS, List.of());
      assertState(d.evaluate().region("eu-west"), Lifecycle.FAILED, 0);
      d.clock.advance(Duration.ofSeconds(10));
      d.report(VPS, List.of());
      assertState(d.evaluate().region("eu-west"), Lifecycle.RECOVERING, 0.25);
    }
  }

  @Test
  void aMinorityOfVantagePointsCannotFailARegion(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, CONTROLLER, "")) {
      d.report(VPS, List.of());
      d.evaluate();
      d.report(List.of("vp-a"), List.of("us-west"));
      RoutingPlan p = d.evaluate();
      assertState(p.region("us-west"), Lifecycle.ACTIVE, 1);
      assertEquals(Health.HEALTHY, p.region("us-west").health());
      d.report(List.of("vp-b"), List.of("us-west"));
      assertState(d.evaluate().region("us-west"), Lifecycle.FAILED, 0);
    }
  }

  private static List<String> collapse(List<RoutingPlan> plans) {
    List<String> out = new java.util.ArrayList<>();
    for (RoutingPlan p : plans) {
      String s = p.region("us-east").lifecycle() + "@" + p.region("us-east").trafficShare();
      if (out.isEmpty() || !out.get(out.size() - 1).equals(s)) {
        out.add(s);
      }
    }
    return out;
  }

  private static void assertState(RegionState r, Lifecycle lifecycle, double share) {
    assertEquals(lifecycle, r.lifecycle(), r.toString());
    assertEquals(share, r.trafficShare(), 1e-9, r.toString());
  }
}
