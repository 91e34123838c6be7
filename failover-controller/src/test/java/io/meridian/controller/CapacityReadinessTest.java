package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.TrafficReport;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Capacity readiness against a real controller: four regions of 1,000 rps at 80 % headroom (800 rps each, 3,200
 * together). Demand near us-east moves from 1,500 rps (any one region can fail: the other three hold 2,400) to
 * 2,600 (no region can: 200 rps would find no room) and back to 1,000 — when the current demand is fine again but
 * the 24 h peak still is not — and the peak ages out after 24 h. Each verdict is checked against the dry run of
 * {@code fail REGION} (the same planner and rule must agree), in {@code /v1/regions}, {@code /metrics} and
 * {@code meridian ctl status}.
 */
@ExtendWith(VertxExtension.class)
class CapacityReadinessTest {

  @Test
  void readinessFollowsDemandAndRemembersTheDaysPeak(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "demand_estimates: {39N78W: 1500}\n",
        TestDeployment.tokensYaml())) {
      d.report(List.of("vp-frankfurt", "vp-virginia"), List.of());
      d.evaluate();
      JsonObject regions = d.awaitReadiness();
      for (String id : List.of("us-east", "us-west", "us-central", "eu-west")) {
        JsonObject r = readiness(regions, id);
        assertTrue(r.getBoolean("ready"), id + ": " + r.encode());
        assertEquals(0.0, r.getJsonObject("current").getDouble("shortfall_rps"), 1e-6, id);
        assertEquals(id.equals("eu-west"), r.getBoolean("last_in_residency_group"), id);
        assertAgreesWithDryRun(d, id, r);
      }
      JsonObject east = readiness(regions, "us-east").getJsonObject("current");
      assertEquals(800, east.getDouble("load_rps"), 0.5, "us-east carries its limit of the 1,500 rps");
      assertTrue(east.getDouble("worst_utilisation") <= 0.8 + 1e-9, east.encode());
      assertTrue(ctlStatus(d).contains("yes/yes"), ctlStatus(d));

      // the proxies measure 2,600 rps from the zone: the plan still places all of it (3,200 fit), but no region
      // may fail now without 200 rps finding no region within headroom
      traffic(d, 2600);
      d.clock.advance(Duration.ofSeconds(5));
      traffic(d, 2600);
      d.evaluate();
      regions = d.awaitReadiness();
      assertEquals(0.0, regions.getDouble("shortfall_rps"), 0.5, "the plan itself still places everything");
      for (String id : List.of("us-east", "us-west", "us-central", "eu-west")) {
        JsonObject r = readiness(regions, id);
        assertFalse(r.getBoolean("ready"), id + ": " + r.encode());
        assertEquals(200, r.getJsonObject("current").getDouble("shortfall_rps"), 1, id + ": " + r.encode());
        assertAgreesWithDryRun(d, id, r);
      }
      String metrics = d.call("GET", "/metrics", null, null, null).body().getString("text");
      assertTrue(metrics.contains("meridian_controller_region_readiness{demand=\"current\",region=\"us-east\"} 0.0"),
          metrics);
      assertTrue(metrics.matches("(?s).*meridian_controller_region_readiness_shortfall_rps\\{demand=\"peak_24h\","
          + "region=\"us-east\"} 2\\d\\d\\.\\d+.*"), metrics);
      String status = ctlStatus(d);
      assertTrue(status.lines().anyMatch(l -> l.startsWith("us-east") && l.contains("-200/-200")), status);

      // demand falls to 1,000 rps: ready now, but the day's peak (2,600) is still not survivable
      d.clock.advance(Duration.ofSeconds(5));
      traffic(d, 1000);
      d.evaluate();
      regions = d.awaitReadiness();
      JsonObject r = readiness(regions, "us-east");
      assertTrue(r.getJsonObject("current").getBoolean("ready"), r.encode());
      assertAgreesWithDryRun(d, "us-east", r);
      JsonObject peak = r.getJsonObject("peak_24h");
      assertFalse(peak.getBoolean("ready"), r.encode());
      assertEquals(200, peak.getDouble("shortfall_rps"), 1, r.encode());
      assertEquals("2025-01-01T00:00:05Z", peak.getString("demand_at"), "the evaluation that planned the peak");
      assertEquals(800, peak.getDouble("peak_load_rps"), 0.5, "us-east was at its limit then");
      assertFalse(r.getBoolean("ready"), "a region is ready only if it is at its peak too");
      status = ctlStatus(d);
      assertTrue(status.lines().anyMatch(l -> l.startsWith("us-east") && l.contains("yes/-200")), status);

      // a day later the peak has aged out
      d.clock.advance(Duration.ofHours(25));
      d.report(List.of("vp-frankfurt", "vp-virginia"), List.of());
      d.evaluate();
      regions = d.awaitReadiness();
      r = readiness(regions, "us-east");
      assertTrue(r.getBoolean("ready"), r.encode());
      assertNotNull(r.getJsonObject("peak_24h"));
      assertTrue(r.getJsonObject("peak_24h").getDouble("load_rps") < 900, r.encode());
    }
  }

  @Test
  void aRegionAlreadyOutHasNothingToAbsorb(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "demand_estimates: {39N78W: 1500}\n",
        TestDeployment.tokensYaml())) {
      d.report(List.of("vp-frankfurt", "vp-virginia"), List.of("us-west"));
      d.evaluate();
      JsonObject r = readiness(d.awaitReadiness(), "us-west");
      assertFalse(r.getBoolean("serving"), r.encode());
      assertTrue(r.getBoolean("ready"), r.encode());
      assertEquals(0.0, r.getJsonObject("current").getDouble("load_rps"), 1e-9, r.encode());
      // the failed region is no survivor: the worst survivor of us-east's failure is another region
      JsonObject east = readiness(d.awaitReadiness(), "us-east").getJsonObject("current");
      assertFalse("us-west".equals(east.getString("worst_region")), east.encode());
    }
  }

  private static JsonObject readiness(JsonObject regions, String id) {
    for (Object o : regions.getJsonArray("regions")) {
      JsonObject r = (JsonObject) o;
      if (r.getString("id").equals(id)) {
        return r.getJsonObject("readiness");
      }
    }
    throw new AssertionError("no region " + id);
  }

  /**
   * The dry run of "fail REGION" is refused for capacity exactly when readiness says it would not be absorbed, with
   * the same shortfall (the last region of a residency group is refused by that rule first).
   */
  private static void assertAgreesWithDryRun(TestDeployment d, String region, JsonObject readiness)
      throws Exception {
    JsonObject current = readiness.getJsonObject("current");
    var reply = d.post("/v1/regions/" + region + "/fail?dry_run=true", "operator-token", "{\"reason\":\"what if\"}");
    if (readiness.getBoolean("last_in_residency_group")) {
      assertEquals("RESIDENCY_GROUP_EMPTY", reply.body().getString("rule"), reply.body().encode());
    } else if (current.getBoolean("ready")) {
      assertEquals(200, reply.status(), region + ": " + reply.body().encode());
    } else {
      assertEquals(409, reply.status(), region + ": " + reply.body().encode());
      assertEquals("CAPACITY_EXCEEDED", reply.body().getString("rule"), reply.body().encode());
      assertTrue(reply.body().getString("message").startsWith(String.format(java.util.Locale.ROOT, "%.1f rps",
          current.getDouble("shortfall_rps"))), reply.body().encode() + " vs " + current.encode());
    }
  }

  private static void traffic(TestDeployment d, double rps) {
    d.bus.publishTraffic(new TrafficReport("proxy-1", d.clock.instant(), Map.of("39N78W", rps), Map.of(), Map.of(),
        Map.of()));
  }

  private static String ctlStatus(TestDeployment d) {
    CtlTest.Out out = CtlTest.ctl("--admin", d.baseUrl(), "--token", "viewer-token", "status");
    assertEquals(0, out.code(), out.err());
    return out.out();
  }
}
