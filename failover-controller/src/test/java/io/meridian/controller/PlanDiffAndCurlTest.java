package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.PlanJson;
import io.meridian.core.RoutingPlan;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Plans are diffable and round-trip through JSON; the admin API answers a real curl. */
@ExtendWith(VertxExtension.class)
class PlanDiffAndCurlTest {
  @Test
  void failoverShowsAsADiffAndPlansRoundTripThroughJson(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "demand_estimates: {39N78W: 300}\n", "")) {
      d.report(List.of("vp"), List.of());
      RoutingPlan before = d.evaluate();
      d.report(List.of("vp"), List.of("us-east"));
      RoutingPlan after = d.evaluate();
      var diff = d.call("GET", "/v1/plan/diff?from=" + before.version() + "&to=" + after.version(), null, null, null);
      assertEquals(200, diff.status(), diff.body().encode());
      JsonObject usEast = diff.body().getJsonArray("regions").getJsonObject(0);
      assertEquals("us-east", usEast.getString("region"));
      assertEquals("FAILED", usEast.getJsonObject("changes").getJsonObject("lifecycle").getString("after"));
      assertEquals(300, usEast.getJsonObject("changes").getJsonObject("load_rps").getDouble("before"), 1e-9);

      RoutingPlan back = PlanJson.fromJson(new JsonObject(PlanJson.toJson(after).encode()));
      assertEquals(after.version(), back.version());
      assertEquals(after.regions(), back.regions());
      assertEquals(after.zones().asMap(), back.zones().asMap());
      assertEquals(after.homes(), back.homes());
      assertEquals(after.reason(), back.reason());
      assertEquals(404, d.call("GET", "/v1/plan/diff?from=999", null, null, null).status());
    }
  }

  @Test
  void curlGetsThePlanAndADryRun(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "", TestDeployment.tokensYaml())) {
      String plan = curl("-sS", "-H", "Authorization: Bearer viewer-token", d.baseUrl() + "/v1/plan");
      assertEquals(4, new JsonObject(plan).getJsonArray("regions").size());
      String refused = curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", d.baseUrl() + "/v1/plan");
      assertEquals("401", refused);
      String dry = curl("-sS", "-H", "Authorization: Bearer operator-token", "-H", "content-type: application/json",
          "-d", "{\"reason\":\"curl\"}", d.baseUrl() + "/v1/regions/us-west/drain?dry_run=true");
      assertTrue(new JsonObject(dry).getBoolean("dry_run"), dry);
    }
  }

  private static String curl(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("curl", "--max-time", "10"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(15, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    return out;
  }
}
