package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.meridian.core.Lifecycle;
import io.meridian.core.RoutingPlan;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Home promotion and fencing, expiring overrides, freeze, and operators' state surviving a restart. */
@ExtendWith(VertxExtension.class)
class HomePromotionAndOverridesTest {

  @Test
  void automaticPromotionFencesTheOldHomeAndReportsReplicationLag(Vertx vertx, @TempDir Path dir) throws Exception {
    String controller = """
        home_failover: auto
        successors: {us-east: us-west}
        """;
    try (TestDeployment d = new TestDeployment(vertx, dir, controller, "")) {
      reportWithWatermarks(d, List.of("us-east"), 1000, 990);
      RoutingPlan p = d.evaluate();
      assertEquals(Map.of("us-east", "us-west"), p.homes().promotions());
      assertEquals(Set.of("us-east"), p.homes().fenced());
      String audit = d.call("GET", "/v1/audit", null, null, null).body().getJsonArray("entries").encode();
      assertTrue(audit.contains("data-loss risk: replication lag 10"), audit);

      // failback of the home is an operator's decision: the fence holds after recovery
      reportWithWatermarks(d, List.of(), 1000, 1000);
      d.clock.advance(Duration.ofMinutes(5));
      assertEquals(Set.of("us-east"), d.evaluate().homes().fenced());
      var r = d.post("/v1/homes/us-east/restore", null, "{\"reason\":\"replication caught up\"}");
      assertEquals(200, r.status(), r.body().encode());
      assertEquals(Set.of(), d.evaluate().homes().fenced());
    }
  }

  @Test
  void manualPromotionStaysWithinTheResidencyGroup(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "successors: {us-east: us-west}\n", "")) {
      var cross = d.post("/v1/homes/us-east/promote", null, "{\"reason\":\"x\",\"to\":\"eu-west\"}");
      assertEquals(409, cross.status());
      assertEquals("RESIDENCY_VIOLATION", cross.body().getString("rule"));
      assertTrue(cross.body().getString("message").contains("eu-west is in residency group 'eu', us-east in 'us'"));
      var dry = d.post("/v1/homes/us-east/promote?dry_run=true", null, "{\"reason\":\"drill\"}");
      assertEquals(200, dry.status(), dry.body().encode());
      var moving = dry.body().getJsonObject("predicted").getJsonArray("homes_moving").getJsonObject(0);
      assertEquals("us-west", moving.getString("to"));
      assertTrue(moving.getString("data_loss_risk").startsWith("unknown"));
      assertEquals(Map.of(), d.evaluate().homes().promotions());
      assertEquals(200, d.post("/v1/homes/us-east/promote", null, "{\"reason\":\"drill\"}").status());
      assertEquals(Map.of("us-east", "us-west"), d.evaluate().homes().promotions());
    }
  }

  @Test
  void overridesExpireByThemselvesAndFreezeHoldsFailback(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "failback_hold_down: 10s\n", "")) {
      d.report(List.of("vp"), List.of());
      assertEquals(200, d.post("/v1/regions/us-west/fail", null,
          "{\"reason\":\"suspect\",\"expires_in\":\"30m\"}").status());
      assertEquals(Lifecycle.FAILED, d.evaluate().region("us-west").lifecycle());
      d.clock.advance(Duration.ofMinutes(30));
      d.report(List.of("vp"), List.of());
      RoutingPlan p = d.evaluate();
      assertEquals(Lifecycle.RECOVERING, p.region("us-west").lifecycle(), "expired: restored, ramping");
      assertTrue(p.reason().contains("expiry"), p.reason());

      assertEquals(200, d.post("/v1/freeze", null, "{\"reason\":\"incident\"}").status());
      d.report(List.of("vp"), List.of("eu-west"));
      assertEquals(Lifecycle.FAILED, d.evaluate().region("eu-west").lifecycle(), "failover happens even when frozen");
      d.report(List.of("vp"), List.of());
      d.evaluate(); // healthy from now: the hold-down starts
      d.clock.advance(Duration.ofMinutes(5));
      d.report(List.of("vp"), List.of());
      assertEquals(Lifecycle.FAILED, d.evaluate().region("eu-west").lifecycle(), "frozen: no failback");
      assertEquals(200, d.post("/v1/unfreeze", null, "{\"reason\":\"over\"}").status());
      RoutingPlan after = d.evaluate();
      assertEquals(Lifecycle.RECOVERING, after.region("eu-west").lifecycle(),
          d.call("GET", "/v1/regions", null, null, null).body().encode());
    }
  }

  @Test
  void operatorsStateSurvivesAControllerRestart(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "", "")) {
      assertEquals(200, d.post("/v1/regions/us-west/drain", null, "{\"reason\":\"kept\"}").status());
      assertEquals(200, d.post("/v1/zones/50N8E/pin", null, "{\"reason\":\"test\",\"weights\":{\"eu-west\":1}}")
          .status());
    }
    try (TestDeployment d = new TestDeployment(vertx, dir, "", "")) {
      var regions = d.call("GET", "/v1/regions", null, null, null).body().getJsonArray("regions");
      var usWest = regions.getJsonObject(1);
      assertEquals("us-west", usWest.getString("id"));
      assertEquals("drain", usWest.getJsonObject("override").getString("mode"));
      assertEquals("kept", usWest.getJsonObject("override").getString("reason"));
      assertTrue(d.bus.currentPlan().zones().asMap().containsKey("50N8E"));
      assertNull(regions.getJsonObject(0).getJsonObject("override"));
    }
  }

  private static void reportWithWatermarks(TestDeployment d, List<String> failed, long homePos, long applied) {
    List<HealthReport.RegionReport> rs = new ArrayList<>();
    for (var r : d.config.regions()) {
      Health h = failed.contains(r.id()) ? Health.FAILED : Health.HEALTHY;
      Map<String, Long> wm = r.id().equals("us-east") ? Map.of("us-east", homePos)
          : r.id().equals("us-west") ? Map.of("us-east", applied) : Map.of();
      rs.add(new HealthReport.RegionReport(r.id(), h, 1, 1, d.clock.instant(), "t", wm));
    }
    d.bus.publishHealth(new HealthReport("vp", System.nanoTime(), d.clock.instant(),
        d.clock.instant().plus(Duration.ofHours(1)), rs));
  }
}
