package io.meridian.checker;

import static io.meridian.checker.HttpProbeOutcomesTest.get;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.Health;
import io.meridian.core.RoutingPlan;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Three vantage points (three checker roles on one bus). Vantage point c reaches the regions through its own
 * link, which is then cut: c sees every region down, yet the quorum must not fail any region. When us-east then
 * really dies, a and b agree and it fails, with c discounted.
 */
@ExtendWith(VertxExtension.class)
class PartitionedVantagePointTest {
  static final List<String> REGIONS = List.of("us-east", "eu-west");

  private static String yaml(String vp, int usPort, int euPort) {
    return "regions:\n" + CheckerHarness.region("us-east", 40, -74, "http://127.0.0.1:" + usPort + "/health")
        + CheckerHarness.region("eu-west", 50, 8, "http://127.0.0.1:" + euPort + "/health")
        + "health_check:\n  interval: 100ms\n  timeout: 80ms\n  rise: 2\n  fall: 2\n  report_interval: 100ms\n"
        + "  vantage_point: " + vp + "\n  ops_listen: 127.0.0.1:0\n";
  }

  private static Map<String, HealthQuorum.Verdict> quorum(LatestReports latest) {
    return HealthQuorum.of(0, io.meridian.config.HealthCheckConfig.Passive.defaults())
        .evaluate(REGIONS, latest.health(), latest.traffic(), Instant.now());
  }

  @Test
  void cutOffVantagePointCannotCauseFailover(Vertx vertx) throws Exception {
    RegionApp us = get(RegionApp.start(vertx, "us-east"));
    RegionApp eu = get(RegionApp.start(vertx, "eu-west"));
    TcpForwarder cUs = get(TcpForwarder.start(vertx, us.port()));
    TcpForwarder cEu = get(TcpForwarder.start(vertx, eu.port()));
    MeridianConfig a = CheckerHarness.load(yaml("vp-a", us.port(), eu.port()));
    ControlBus bus = ControlBus.inProcess(RoutingPlan.initial(a));
    LatestReports latest = LatestReports.subscribe(bus);
    CheckerHarness ha = new CheckerHarness(vertx, a, bus);
    CheckerHarness hb = new CheckerHarness(vertx, CheckerHarness.load(yaml("vp-b", us.port(), eu.port())), bus);
    CheckerHarness hc = new CheckerHarness(vertx, CheckerHarness.load(yaml("vp-c", cUs.port(), cEu.port())), bus);
    for (CheckerHarness h : List.of(ha, hb, hc)) {
      get(h.role.start());
    }
    try {
      ha.await(r -> r.vantagePoint().equals("vp-c") && r.regions().stream().allMatch(x -> x.health() == Health.HEALTHY),
          Duration.ofSeconds(3));
      int mark = ha.mark();
      cUs.cut();
      cEu.cut();
      ha.await(mark, r -> r.vantagePoint().equals("vp-c")
          && r.regions().stream().allMatch(x -> x.health() == Health.FAILED), Duration.ofSeconds(3));
      // for a while after c is cut off, the combined view never fails a region
      long until = System.nanoTime() + Duration.ofMillis(800).toNanos();
      while (System.nanoTime() < until) {
        Map<String, HealthQuorum.Verdict> v = quorum(latest);
        for (String region : REGIONS) {
          assertEquals(Health.HEALTHY, v.get(region).health(), v.get(region).reason());
          assertEquals(List.of("vp-c"), v.get(region).discounted());
        }
        Thread.sleep(50);
      }
      // a real outage is still detected by the two vantage points that can see
      get(us.stop());
      long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
      Map<String, HealthQuorum.Verdict> v = quorum(latest);
      while (v.get("us-east").health() != Health.FAILED && System.nanoTime() < deadline) {
        Thread.sleep(20);
        v = quorum(latest);
      }
      assertEquals(Health.FAILED, v.get("us-east").health(), v.get("us-east").reason());
      assertEquals(2, v.get("us-east").failed());
      assertEquals(Health.HEALTHY, v.get("eu-west").health(), v.get("eu-west").reason());
    } finally {
      latest.close();
      for (CheckerHarness h : List.of(ha, hb, hc)) {
        get(h.role.stop());
      }
    }
  }
}
