package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Bearer tokens by role: 401 without a known token, 403 when the role is too weak, JSON bodies either way. */
@ExtendWith(VertxExtension.class)
class AdminAuthTest {
  @Test
  void rolesGateReadsAndMutations(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "", TestDeployment.tokensYaml())) {
      var none = d.call("GET", "/v1/plan", null, null, null);
      assertEquals(401, none.status());
      assertEquals("unauthenticated", none.body().getString("error"));
      assertTrue(none.headers().firstValue("WWW-Authenticate").isPresent());
      assertEquals(401, d.call("GET", "/v1/plan", "wrong-token", null, null).status());

      assertEquals(200, d.call("GET", "/v1/plan", "viewer-token", null, null).status());
      assertEquals(200, d.call("GET", "/v1/regions", "viewer-token", null, null).status());
      var weak = d.post("/v1/freeze", "viewer-token", "{\"reason\":\"x\"}");
      assertEquals(403, weak.status());
      assertEquals("forbidden", weak.body().getString("error"));
      assertTrue(weak.body().getString("message").contains("has role viewer"), weak.body().encode());

      assertEquals(200, d.post("/v1/freeze", "operator-token", "{\"reason\":\"incident 42\"}").status());
      assertEquals(200, d.post("/v1/unfreeze", "admin-token", "{\"reason\":\"over\"}").status());
      // ops endpoints and the API description stay open for probes and tooling
      assertEquals(200, d.call("GET", "/healthz", null, null, null).status());
      assertEquals(200, d.call("GET", "/openapi.json", null, null, null).status());
      assertTrue(d.call("GET", "/metrics", null, null, null).body().getString("text")
          .contains("meridian_controller_auth_failures_total{status=\"401\"} 2.0"));
    }
  }
}
