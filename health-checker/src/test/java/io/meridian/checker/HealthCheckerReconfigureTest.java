package io.meridian.checker;

import static io.meridian.checker.HttpProbeOutcomesTest.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A live config reload must not reset verdicts (a FAILED region turning UNKNOWN would send it traffic), and it
 * applies new regions, thresholds and vantage points.
 */
@ExtendWith(VertxExtension.class)
class HealthCheckerReconfigureTest {

  private static String yaml(String regions, int rise, String vps) {
    return "regions:\n" + regions + "health_check:\n  interval: 100ms\n  timeout: 80ms\n  rise: " + rise
        + "\n  fall: 2\n  report_interval: 100ms\n  vantage_points: " + vps + "\n  ops_listen: 127.0.0.1:0\n";
  }

  @Test
  void reloadKeepsVerdictsAndAppliesChanges(Vertx vertx) throws Exception {
    RegionApp us = get(RegionApp.start(vertx, "us-east"));
    RegionApp eu = get(RegionApp.start(vertx, "eu-west"));
    String usBlock = CheckerHarness.region("us-east", 40, -74, us.url());
    CheckerHarness h = new CheckerHarness(vertx, yaml(usBlock, 1, "[vp-a]"));
    get(h.role.start());
    try {
      int mark = h.mark();
      us.mode(RegionApp.Mode.ERROR_500);
      h.await(mark, r -> CheckerHarness.healthOf(r, "us-east") == Health.FAILED, Duration.ofSeconds(3));

      // reload: add eu-west, raise rise to 4, add a second vantage point
      mark = h.mark();
      h.role.reconfigure(CheckerHarness.load(yaml(usBlock + CheckerHarness.region("eu-west", 50, 8, eu.url()), 4,
          "[vp-a, vp-b]")));
      HealthReport after = h.await(mark, r -> r.vantagePoint().equals("vp-a") && r.regions().size() == 2,
          Duration.ofSeconds(3));
      assertEquals(Health.FAILED, CheckerHarness.healthOf(after, "us-east"), "verdict carried over the reload");
      h.await(mark, r -> r.vantagePoint().equals("vp-b") && CheckerHarness.healthOf(r, "eu-west") == Health.HEALTHY,
          Duration.ofSeconds(3));

      // the new rise (4) applies to the carried-over endpoint
      int before = us.served.get();
      mark = h.mark();
      us.mode(RegionApp.Mode.OK);
      h.await(mark, r -> r.vantagePoint().equals("vp-a") && CheckerHarness.healthOf(r, "us-east") == Health.HEALTHY,
          Duration.ofSeconds(3));
      // us-east is probed by vp-a and by vp-b; vp-a alone needed 4 passes
      assertTrue(us.served.get() - before >= 4, "passes before HEALTHY: " + (us.served.get() - before));
    } finally {
      get(h.role.stop());
    }
  }
}
