package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The walking-skeleton behaviour: nearest healthy region, moved away from a failed one, 503 when none. */
class ProxyNearestFailoverTest {
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed("trusted_hops: 1", null);
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  @Test
  void europeanClientGoesToEuWestThenAwayWhenItFails() throws Exception {
    HttpResponse<String> r = bed.get("/hello");
    assertEquals(200, r.statusCode());
    assertEquals("hello from eu-west", r.body());
    assertEquals("eu-west", r.headers().firstValue("X-Meridian-Region").orElseThrow());

    bed.setHealth("eu-west", Health.FAILED);
    HttpResponse<String> moved = bed.get("/hello");
    assertEquals(200, moved.statusCode());
    // from Frankfurt, us-east (6,500 km) is nearer than ap-south (6,600 km)
    assertEquals("us-east", moved.headers().firstValue("X-Meridian-Region").orElseThrow());
    assertEquals("hello from us-east", moved.body());

    bed.setHealth("eu-west", Health.HEALTHY);
    assertEquals("eu-west", bed.get("/hello").headers().firstValue("X-Meridian-Region").orElseThrow());
  }

  @Test
  void clientsAreLocatedFromTrustedForwardedFor() throws Exception {
    assertEquals("us-east", bed.get("/", "X-Forwarded-For", Testbed.US_CLIENT)
        .headers().firstValue("X-Meridian-Region").orElseThrow());
    assertEquals("ap-south", bed.get("/", "X-Forwarded-For", Testbed.IN_CLIENT)
        .headers().firstValue("X-Meridian-Region").orElseThrow());
    // with one trusted hop only the rightmost entry counts: a client-written entry on the left is ignored
    assertEquals("eu-west", bed.get("/", "X-Forwarded-For", Testbed.US_CLIENT + ", " + Testbed.EU_CLIENT)
        .headers().firstValue("X-Meridian-Region").orElseThrow());
  }

  @Test
  void noEligibleRegionAnswers503Json() throws Exception {
    for (String[] r : Testbed.REGIONS) {
      bed.setHealth(r[0], Health.FAILED);
    }
    HttpResponse<String> r = bed.get("/hello");
    assertEquals(503, r.statusCode());
    assertEquals("application/json", r.headers().firstValue("content-type").orElseThrow());
    assertTrue(r.body().contains("\"error\":\"no_region\""), r.body());
    assertEquals("none", r.headers().firstValue("X-Meridian-Region").orElseThrow());
    assertTrue(bed.metrics().contains("meridian_proxy_refused_total{outcome=\"no_region\"} 1.0"), bed.metrics());
  }
}
