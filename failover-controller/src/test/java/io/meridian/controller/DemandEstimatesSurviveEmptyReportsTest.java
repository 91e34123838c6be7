package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.meridian.core.RoutingPlan;
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
 * The all-in-one run of issue 14: a proxy in the same process reports every 5 s from start-up, with no clients
 * yet. The estimates must keep planning load (status shows utilisation, capacity refusals happen) until the
 * proxies have measured enough, and measured demand then takes over zone by zone.
 */
@ExtendWith(VertxExtension.class)
class DemandEstimatesSurviveEmptyReportsTest {
  /** Limits are 800 rps (1000 × 80 %); 2,880 of 3,200 estimated. */
  private static final String BUSY = """
      demand_estimates:
        39N78W: 780
        45N122W: 700
        41N96W: 700
        53N7W: 700
      demand_window: 30s
      demand_min_requests: 100
      """;

  @Test
  void emptyReportsLeaveTheEstimatesAndCapacityChecksInPlace(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, BUSY, "")) {
      d.report(List.of("vp-a"), List.of());
      assertEquals(780, d.evaluate().region("us-east").loadRps(), 1e-6);
      for (int i = 0; i < 6; i++) {
        d.clock.advance(Duration.ofSeconds(5));
        traffic(d, Map.of());
        d.report(List.of("vp-a"), List.of());
        RoutingPlan p = d.evaluate();
        assertEquals(780, p.region("us-east").loadRps(), 1e-6, "after empty report " + (i + 1));
      }
      JsonObject usEast = d.call("GET", "/v1/regions", null, null, null).body().getJsonArray("regions")
          .getJsonObject(0);
      assertEquals("us-east", usEast.getString("id"));
      assertEquals(0.78, usEast.getDouble("utilisation"), 1e-6);
      var refused = d.post("/v1/regions/us-east/drain", null, "{\"reason\":\"maintenance\"}");
      assertEquals(409, refused.status(), refused.body().encode());
      assertEquals("capacity_exceeded", refused.body().getString("error"));

      // real clients in us-east's zone: 40 rps for two 5 s reports = 400 requests, enough to replace 780
      d.clock.advance(Duration.ofSeconds(5));
      traffic(d, Map.of("39N78W", 40.0));
      d.clock.advance(Duration.ofSeconds(5));
      traffic(d, Map.of("39N78W", 40.0));
      d.report(List.of("vp-a"), List.of());
      RoutingPlan p = d.evaluate();
      assertEquals(40, p.region("us-east").loadRps(), 1e-6);
      assertEquals(700, p.region("us-west").loadRps(), 1e-6, "unmeasured zones keep their estimates");
      assertEquals(200, d.post("/v1/regions/us-east/drain", null, "{\"reason\":\"maintenance\"}").status());
    }
  }

  private static void traffic(TestDeployment d, Map<String, Double> zones) {
    d.bus.publishTraffic(new TrafficReport("proxy-1", d.clock.instant(), zones, Map.of(), Map.of(), Map.of()));
  }
}
