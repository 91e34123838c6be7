package io.meridian.checker;

import static io.meridian.checker.HttpProbeOutcomesTest.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Over the role's real ops listener: GET /v1/evidence shows which probe failed from which vantage point, since
 * when and with what output; /metrics has the per-target series; /readyz passes once reports flow; several
 * vantage points run in one process; replication watermarks reach the reports.
 */
@ExtendWith(VertxExtension.class)
class EvidenceAndMetricsTest {

  @Test
  void evidenceMetricsReadinessAndWatermarks(Vertx vertx) throws Exception {
    RegionApp us = get(RegionApp.start(vertx, "us-east"));
    RegionApp eu = get(RegionApp.start(vertx, "eu-west"));
    us.watermarks("{\"eu-west\": 4711}");
    CheckerHarness h = new CheckerHarness(vertx, "regions:\n" + CheckerHarness.region("us-east", 40, -74, us.url())
        + CheckerHarness.region("eu-west", 50, 8, eu.url())
        + "health_check:\n  interval: 300ms\n  timeout: 250ms\n  rise: 1\n  fall: 2\n  report_interval: 100ms\n"
        + "  vantage_points: [vp-one, vp-two]\n  ops_listen: 127.0.0.1:0\n");
    get(h.role.start());
    WebClient web = WebClient.create(vertx);
    try {
      HealthReport ok = h.await(r -> r.vantagePoint().equals("vp-two")
          && r.regions().stream().allMatch(x -> x.health() == Health.HEALTHY), Duration.ofSeconds(10));
      assertEquals(Map.of("eu-west", 4711L), ok.regions().get(0).watermarks());
      h.await(r -> r.vantagePoint().equals("vp-one"), Duration.ofSeconds(10));

      int mark = h.mark();
      eu.mode(RegionApp.Mode.ERROR_500);
      // both vantage points must have judged it (each runs its own probes; one can be a report behind the other)
      for (String vp : new String[] {"vp-one", "vp-two"}) {
        h.await(mark, r -> r.vantagePoint().equals(vp) && CheckerHarness.healthOf(r, "eu-west") == Health.FAILED,
            Duration.ofSeconds(10));
      }

      int port = h.role.opsPort();
      HttpResponse<Buffer> ev = get(web.get(port, "127.0.0.1", "/v1/evidence?region=eu-west").send());
      assertEquals(200, ev.statusCode());
      JsonArray vps = ev.bodyAsJsonObject().getJsonArray("vantage_points");
      assertEquals(2, vps.size());
      JsonObject region = vps.getJsonObject(0).getJsonArray("regions").getJsonObject(0);
      assertEquals("eu-west", region.getString("region"));
      assertEquals("FAILED", region.getString("health"));
      JsonObject ep = region.getJsonArray("endpoints").getJsonObject(0);
      assertEquals(eu.url(), ep.getString("target"));
      assertEquals("DOWN", ep.getString("status"));
      assertNotNull(ep.getString("failing_since"));
      // the newest probe that reached the app: on a loaded machine a later probe may have timed out instead
      JsonArray recent = ep.getJsonArray("recent");
      JsonObject last = null;
      for (int i = recent.size() - 1; i >= 0 && last == null; i--) {
        if (!"timeout".equals(recent.getJsonObject(i).getString("failure"))) {
          last = recent.getJsonObject(i);
        }
      }
      assertNotNull(last, recent.encode());
      assertEquals("status", last.getString("failure"), recent.encode());
      assertTrue(last.getString("output").startsWith("HTTP 500 (expected 200-299)"), last.getString("output"));

      assertEquals(404, get(web.get(port, "127.0.0.1", "/v1/evidence?region=mars").send()).statusCode());
      // and with a real client from outside the JVM, as an operator would ask
      Process curl = new ProcessBuilder("curl", "-s", "-w", "\n%{http_code}",
          "http://127.0.0.1:" + port + "/v1/evidence?region=eu-west").redirectErrorStream(true).start();
      String out = new String(curl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertEquals(0, curl.waitFor(), out);
      assertTrue(out.endsWith("\n200"), out);
      assertTrue(out.contains("\"health\" : \"FAILED\"") && out.contains("HTTP 500 (expected 200-299)"), out);

      String metrics = get(web.get(port, "127.0.0.1", "/metrics").send()).bodyAsString();
      assertTrue(metrics.contains("meridian_checker_probes_total{region=\"eu-west\",result=\"status\",target=\""
          + eu.url() + "\",vantage_point=\"vp-one\"}"), metrics);
      assertTrue(metrics.contains("meridian_checker_region_health{region=\"eu-west\",state=\"failed\","
          + "vantage_point=\"vp-two\"} 1.0"), metrics);
      assertTrue(metrics.contains("meridian_checker_target_up{region=\"us-east\",target=\"" + us.url()
          + "\",vantage_point=\"vp-one\"} 1.0"), metrics);
      assertTrue(metrics.contains("meridian_checker_probe_duration_seconds_bucket{"), metrics);

      assertEquals(200, get(web.get(port, "127.0.0.1", "/readyz").send()).statusCode());
    } finally {
      web.close();
      get(h.role.stop());
    }
  }
}
