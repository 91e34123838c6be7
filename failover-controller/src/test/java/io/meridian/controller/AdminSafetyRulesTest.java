package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Lifecycle;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Each safety rule refuses with its rule name and numbers; force needs admin; dry runs change nothing. */
@ExtendWith(VertxExtension.class)
class AdminSafetyRulesTest {
  /** Demand near every region; limits are 800 rps (1000 × 80 %). Total 2,880 of 3,200 allowed. */
  private static final String BUSY = """
      max_concurrent_drains: 1
      demand_estimates:
        39N78W: 780
        45N122W: 700
        41N96W: 700
        53N7W: 700
      """;

  @Test
  void drainThatWouldPushReceiversPastHeadroomIsRefusedWithTheNumbers(Vertx vertx, @TempDir Path dir)
      throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, BUSY, TestDeployment.tokensYaml())) {
      d.evaluate();
      var r = d.post("/v1/regions/us-east/drain", "operator-token", "{\"reason\":\"maintenance\"}");
      assertEquals(409, r.status(), r.body().encode());
      assertEquals("capacity_exceeded", r.body().getString("error"));
      String msg = r.body().getString("message");
      assertTrue(msg.contains("480.0 rps would find no region within headroom"), msg);
      assertTrue(msg.contains("us-central at 800 of 800 rps"), msg);

      var forcedByOperator = d.post("/v1/regions/us-east/drain", "operator-token",
          "{\"reason\":\"maintenance\",\"force\":true}");
      assertEquals(403, forcedByOperator.status());
      assertEquals("force_requires_admin", forcedByOperator.body().getString("error"));

      var forced = d.post("/v1/regions/us-east/drain", "admin-token", "{\"reason\":\"maintenance\",\"force\":true}");
      assertEquals(200, forced.status(), forced.body().encode());
      assertEquals(480, forced.body().getJsonObject("predicted").getDouble("shortfall_rps"), 0.5);
      var audit = d.call("GET", "/v1/audit", "viewer-token", null, null).body().getJsonArray("entries");
      JsonObject last = audit.getJsonObject(audit.size() - 1);
      assertEquals("ada", last.getString("who"));
      assertTrue(last.getBoolean("force"));
      assertEquals("maintenance", last.getString("reason"));
      assertTrue(last.containsKey("plan_version_before") && last.containsKey("plan_version_after"));
      assertFalse(last.containsKey("plan_after"), "entries record plan versions, not whole plans");
    }
  }

  @Test
  void lastRegionOfAResidencyGroupCannotBeTakenOutEvenByForce(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "", TestDeployment.tokensYaml())) {
      var r = d.post("/v1/regions/eu-west/fail", "admin-token", "{\"reason\":\"test\",\"force\":true}");
      assertEquals(409, r.status());
      assertEquals("RESIDENCY_GROUP_EMPTY", r.body().getString("rule"));
      assertTrue(r.body().getString("message").contains("residency group 'eu' would have 0 active regions (now 1)"),
          r.body().getString("message"));
    }
  }

  @Test
  void aMutationLeavesNoFileUploadsDirectoryBehind(Vertx vertx, @TempDir Path dir) throws Exception {
    Path uploads = Path.of("file-uploads"); // vertx-web's BodyHandler default, relative to the working directory
    java.nio.file.Files.deleteIfExists(uploads);
    try (TestDeployment d = new TestDeployment(vertx, dir, "", TestDeployment.tokensYaml())) {
      assertEquals(200, d.post("/v1/regions/us-west/drain", "operator-token", "{\"reason\":\"a\"}").status());
    }
    assertTrue(!java.nio.file.Files.exists(uploads), "the admin API must not create " + uploads.toAbsolutePath());
  }

  @Test
  void moreConcurrentDrainsThanAllowedAreRefused(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "max_concurrent_drains: 1\n", TestDeployment.tokensYaml())) {
      assertEquals(200, d.post("/v1/regions/us-west/drain", "operator-token", "{\"reason\":\"a\"}").status());
      var r = d.post("/v1/regions/us-central/drain", "operator-token", "{\"reason\":\"b\"}");
      assertEquals(409, r.status());
      assertEquals("too_many_drains", r.body().getString("error"));
      assertTrue(r.body().getString("message").contains("max_concurrent_drains is 1"), r.body().getString("message"));
    }
  }

  @Test
  void dryRunPredictsUtilisationAndChangesNothing(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, """
        demand_estimates:
          39N78W: 600
          41N96W: 100
        """, TestDeployment.tokensYaml())) {
      d.evaluate();
      long before = d.bus.currentPlan().version();
      var r = d.post("/v1/regions/us-east/drain?dry_run=true", "operator-token", "{\"reason\":\"preview\"}");
      assertEquals(200, r.status(), r.body().encode());
      assertFalse(r.body().getBoolean("applied"));
      JsonObject central = r.body().getJsonObject("predicted").getJsonArray("regions").stream()
          .map(JsonObject.class::cast).filter(j -> j.getString("id").equals("us-central")).findFirst().orElseThrow();
      assertEquals(700, central.getDouble("predicted_load_rps"), 1e-6);
      assertEquals(0.7, central.getDouble("predicted_utilisation"), 1e-6);
      assertEquals("DRAINED", r.body().getJsonObject("plan").getJsonArray("regions").getJsonObject(0)
          .getString("lifecycle"));
      assertEquals(before, d.evaluate().version());
      assertEquals(Lifecycle.ACTIVE, d.bus.currentPlan().region("us-east").lifecycle());
      assertEquals(0, d.call("GET", "/v1/audit", "viewer-token", null, null).body().getJsonArray("entries").size());
    }
  }

  @Test
  void reasonIsRequiredAndUnknownRegionsAreNamed(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "", TestDeployment.tokensYaml())) {
      var r = d.post("/v1/regions/us-east/drain", "operator-token", "{}");
      assertEquals(400, r.status());
      assertTrue(r.body().getString("message").startsWith("reason: required"));
      var nf = d.post("/v1/regions/mars-1/fail", "operator-token", "{\"reason\":\"x\"}");
      assertEquals(404, nf.status());
      assertTrue(nf.body().getString("message").contains("region 'mars-1'"));
      var bad = d.post("/v1/regions/us-east/undrain", "operator-token", "{\"reason\":\"x\"}");
      assertEquals(409, bad.status());
      assertEquals("conflict", bad.body().getString("error"));
    }
  }

  @Test
  void idempotencyKeyReplaysTheFirstAnswer(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "", TestDeployment.tokensYaml())) {
      var first = d.call("POST", "/v1/regions/us-west/drain", "operator-token", "{\"reason\":\"once\"}", "k-1");
      var again = d.call("POST", "/v1/regions/us-west/drain", "operator-token", "{\"reason\":\"once\"}", "k-1");
      assertEquals(200, first.status());
      assertEquals(200, again.status());
      assertEquals(first.body().getLong("revision"), again.body().getLong("revision"));
      assertTrue(again.body().getBoolean("replayed"));
      assertEquals("true", again.headers().firstValue("Idempotent-Replayed").orElse(""));
      assertEquals(1, d.call("GET", "/v1/audit", "viewer-token", null, null).body().getJsonArray("entries").size());
    }
  }
}
