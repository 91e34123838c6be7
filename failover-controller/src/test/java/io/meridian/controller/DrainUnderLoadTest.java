package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Lifecycle;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.TrafficReport;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Draining a loaded region moves its traffic in steps, never planning any region past its limit. */
@ExtendWith(VertxExtension.class)
class DrainUnderLoadTest {
  private static final String CONTROLLER = """
      drain_step: 0.25
      drain_interval: 10s
      ramp_steps: 2
      ramp_interval: 10s
      """;
  private static final List<String> VPS = List.of("vp-a");

  @Test
  void drainMovesMeasuredTrafficInStepsWithinLimitsThenUndrainRamps(Vertx vertx, @TempDir Path dir)
      throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, CONTROLLER, "")) {
      d.report(VPS, List.of());
      traffic(d, Map.of("39N78W", 600.0, "41N96W", 300.0, "45N122W", 300.0, "53N7W", 300.0));
      RoutingPlan p = d.evaluate();
      assertEquals(600, p.region("us-east").loadRps(), 1e-6);

      var r = d.post("/v1/regions/us-east/drain", null, "{\"reason\":\"kernel upgrade\"}");
      assertEquals(200, r.status(), r.body().encode());
      double lastLoad = 600;
      for (int step = 0; step < 6; step++) {
        traffic(d, Map.of("39N78W", 600.0, "41N96W", 300.0, "45N122W", 300.0, "53N7W", 300.0));
        p = d.evaluate();
        assertWithinLimits(p);
        assertTrue(p.region("us-east").loadRps() <= lastLoad + 1e-6, "drain never adds load back");
        lastLoad = p.region("us-east").loadRps();
        assertEquals(0, p.shortfallRps(), 1e-6);
        d.clock.advance(Duration.ofSeconds(10));
      }
      assertEquals(Lifecycle.DRAINED, p.region("us-east").lifecycle());
      assertEquals(0, p.region("us-east").loadRps(), 1e-6);
      // the steps were visible as separate plans: 0.75, 0.5, 0.25 of the baseline
      List<Double> shares = d.plans.stream().map(x -> x.region("us-east").trafficShare()).distinct().toList();
      assertTrue(shares.containsAll(List.of(1.0, 0.75, 0.5, 0.25, 0.0)), shares.toString());

      assertEquals(200, d.post("/v1/regions/us-east/undrain", null, "{\"reason\":\"done\"}").status());
      p = d.evaluate();
      assertEquals(Lifecycle.RECOVERING, p.region("us-east").lifecycle());
      assertEquals(0.5, p.region("us-east").trafficShare(), 1e-9);
      d.clock.advance(Duration.ofSeconds(10));
      assertEquals(Lifecycle.ACTIVE, d.evaluate().region("us-east").lifecycle());
    }
  }

  @Test
  void drainStopsAtTheSafePointWhenDemandGrowsAndSaysWhy(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, CONTROLLER, "")) {
      d.report(VPS, List.of());
      traffic(d, Map.of("39N78W", 600.0));
      d.evaluate();
      assertEquals(200, d.post("/v1/regions/us-east/drain", null, "{\"reason\":\"move\"}").status());
      d.evaluate(); // first step: 0.75
      // now every neighbour gets busy: us-central, us-west and eu-west have 700 of 800 each
      Map<String, Double> busy = Map.of("39N78W", 600.0, "41N96W", 700.0, "45N122W", 700.0, "53N7W", 700.0);
      RoutingPlan p = null;
      for (int step = 0; step < 5; step++) {
        d.clock.advance(Duration.ofSeconds(10));
        traffic(d, busy);
        p = d.evaluate();
        assertWithinLimits(p);
      }
      assertEquals(Lifecycle.DRAINING, p.region("us-east").lifecycle());
      var regions = d.call("GET", "/v1/regions", null, null, null).body().getJsonArray("regions");
      String note = regions.getJsonObject(0).getString("note");
      assertTrue(note.startsWith("drain halted at share"), note);
      assertTrue(note.contains("receivers have no headroom"), note);
    }
  }

  private static void traffic(TestDeployment d, Map<String, Double> zones) {
    d.bus.publishTraffic(new TrafficReport("proxy-1", d.clock.instant(), zones, Map.of(), Map.of(), Map.of()));
  }

  private static void assertWithinLimits(RoutingPlan p) {
    for (RegionState r : p.regions()) {
      assertTrue(r.loadRps() <= r.capacityRps() * 0.8 + 1e-6, r.id() + " planned " + r.loadRps() + " > 800");
    }
  }
}
