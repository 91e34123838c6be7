package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Residency enforced: a user's requests only ever reach regions of their residency group, failover included;
 * when none can serve, 503 — never a silent cross-border request. The testbed has one region per group (eu, us,
 * in), so losing eu-west leaves EU users nowhere legal to go.
 */
class ProxyResidencyTest {
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed("""
        trusted_hops: 1
        users: {source: header, name: X-User-Id}
        homes: {pins: {alice: eu-west}}
        routes:
          - {name: pii, path_prefix: /pii, residency: enforced}
          - {name: public, path_prefix: /}
        """, null);
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  @Test
  void euUserStaysInTheEuFromAnywhereAndIsRefusedWhenTheEuIsDown() throws Exception {
    HttpResponse<String> r = bed.get("/pii/me", "X-User-Id", "alice", "X-Forwarded-For", Testbed.US_CLIENT);
    assertEquals(200, r.statusCode());
    assertEquals("eu-west", r.headers().firstValue("X-Meridian-Region").orElseThrow());
    // an unrestricted route serves her nearest
    assertEquals("us-east", bed.get("/public", "X-User-Id", "alice", "X-Forwarded-For", Testbed.US_CLIENT)
        .headers().firstValue("X-Meridian-Region").orElseThrow());

    bed.setHealth("eu-west", Health.FAILED);
    HttpResponse<String> refused = bed.get("/pii/me", "X-User-Id", "alice", "X-Forwarded-For", Testbed.US_CLIENT);
    assertEquals(503, refused.statusCode());
    assertTrue(refused.body().contains("\"error\":\"residency_refused\""), refused.body());
    assertEquals(1.0, bed.metric("meridian_proxy_residency_refusals_total{residency_group=\"eu\",route=\"pii\"}"));
  }

  @Test
  void anUpstreamFailureDoesNotRetryAcrossTheBorder() throws Exception {
    bed.kill("eu-west");
    HttpResponse<String> r = bed.get("/pii/me", "X-User-Id", "alice", "X-Forwarded-For", Testbed.EU_CLIENT);
    assertEquals(503, r.statusCode(), r.body());
    assertTrue(r.body().contains("residency_refused"), r.body());
  }

  @Test
  void anonymousUsersAreRefusedOnEnforcedRoutes() throws Exception {
    HttpResponse<String> r = bed.get("/pii/me");
    assertEquals(503, r.statusCode());
    assertTrue(r.body().contains("residency_refused"), r.body());
  }
}
