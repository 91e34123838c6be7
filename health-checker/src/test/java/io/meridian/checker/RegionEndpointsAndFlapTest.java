package io.meridian.checker;

import static io.meridian.checker.HttpProbeOutcomesTest.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Region state from several endpoints (overprovisioning), and a flapping region held down. */
@ExtendWith(VertxExtension.class)
class RegionEndpointsAndFlapTest {
  private static final String FAST = "  interval: 100ms\n  timeout: 80ms\n  rise: 1\n  fall: 1\n"
      + "  report_interval: 100ms\n  ops_listen: 127.0.0.1:0\n";

  private static HealthReport.RegionReport us(HealthReport r) {
    return r.regions().get(0);
  }

  @Test
  void oneBadEndpointOfFourKeepsTheRegionHealthyTwoDegradeItAllFail(Vertx vertx) throws Exception {
    List<RegionApp> apps = new ArrayList<>();
    StringBuilder eps = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      RegionApp app = get(RegionApp.start(vertx, "us-east"));
      apps.add(app);
      eps.append("        - http: ").append(app.url()).append("\n          body_match: '\"status\":\"ok\"'\n");
    }
    RegionApp tcpApp = get(RegionApp.start(vertx, "us-east"));
    eps.append("        - tcp: 127.0.0.1:").append(tcpApp.port()).append('\n');
    String yaml = "regions:\n  - id: us-east\n    latitude: 40\n    longitude: -74\n    capacity_rps: 100\n"
        + "    upstreams: [http://127.0.0.1:1]\n    health_check:\n      endpoints:\n" + eps
        + "health_check:\n" + FAST;
    CheckerHarness h = new CheckerHarness(vertx, yaml);
    get(h.role.start());
    try {
      h.await(r -> us(r).health() == Health.HEALTHY && us(r).healthyEndpoints() == 4, Duration.ofSeconds(3));
      int mark = h.mark();
      apps.get(0).mode(RegionApp.Mode.WRONG_BODY);
      HealthReport oneDown = h.await(mark, r -> us(r).healthyEndpoints() == 3, Duration.ofSeconds(3));
      assertEquals(Health.HEALTHY, us(oneDown).health(), "3/4 x 1.4 = 105%: " + us(oneDown).detail());
      assertEquals(4, us(oneDown).totalEndpoints());

      mark = h.mark();
      get(tcpApp.stop());
      HealthReport twoDown = h.await(mark, r -> us(r).healthyEndpoints() == 2, Duration.ofSeconds(3));
      assertEquals(Health.DEGRADED, us(twoDown).health(), "2/4 x 1.4 = 70%: " + us(twoDown).detail());

      mark = h.mark();
      apps.get(1).mode(RegionApp.Mode.HANG);
      apps.get(2).mode(RegionApp.Mode.ERROR_500);
      HealthReport allDown = h.await(mark, r -> us(r).healthyEndpoints() == 0, Duration.ofSeconds(3));
      assertEquals(Health.FAILED, us(allDown).health());
    } finally {
      get(h.role.stop());
    }
  }

  @Test
  void flappingRegionIsHeldDownLongerEachTime(Vertx vertx) throws Exception {
    RegionApp app = get(RegionApp.start(vertx, "us-east"));
    CheckerHarness h = new CheckerHarness(vertx, "regions:\n" + CheckerHarness.region("us-east", 40, -74, app.url())
        + "health_check:\n" + FAST + "  flap_hold_down: 600ms\n  flap_hold_down_max: 5s\n  flap_decay: 1m\n");
    get(h.role.start());
    try {
      h.await(r -> us(r).health() == Health.HEALTHY, Duration.ofSeconds(3));
      // first failure and recovery: not a flap yet, recovery follows rise at once
      Duration first = cycle(h, app);
      // second and third: held down for 600 ms, then 1.2 s, from the recovery
      Duration second = cycle(h, app);
      Duration third = cycle(h, app);
      System.out.println("recovery delays: " + first.toMillis() + ", " + second.toMillis() + ", " + third.toMillis());
      assertTrue(first.toMillis() < 600, "first recovery is not held: " + first.toMillis() + " ms");
      assertTrue(second.toMillis() >= 600, "second recovery held >= 600 ms: " + second.toMillis() + " ms");
      assertTrue(third.toMillis() >= 1200, "third recovery held >= 1200 ms: " + third.toMillis() + " ms");
    } finally {
      get(h.role.stop());
    }
  }

  @Test
  void slowButWithinTimeoutStaysHealthySlowerFails(Vertx vertx) throws Exception {
    RegionApp app = get(RegionApp.start(vertx, "us-east"));
    CheckerHarness h = new CheckerHarness(vertx, "regions:\n" + CheckerHarness.region("us-east", 40, -74, app.url())
        + "health_check:\n  interval: 100ms\n  timeout: 80ms\n  rise: 2\n  fall: 2\n  report_interval: 100ms\n"
        + "  ops_listen: 127.0.0.1:0\n");
    get(h.role.start());
    try {
      h.await(r -> us(r).health() == Health.HEALTHY, Duration.ofSeconds(3));
      int mark = h.mark();
      int before = app.served.get();
      app.slow(30);
      while (app.served.get() - before < 8) {
        Thread.sleep(20);
      }
      for (HealthReport r : h.reports.subList(mark, h.reports.size())) {
        assertEquals(Health.HEALTHY, us(r).health(), "30 ms answers within an 80 ms timeout: " + us(r).detail());
      }
      // 200 ms answers: slower than the configured 80 ms, within timeout_max (300 ms). Two probes time out while
      // the timeout backs off (80 → 160 → 320, capped 300), then it has learned the path: never failed
      mark = h.mark();
      before = app.served.get();
      app.slow(200);
      while (app.served.get() - before < 8) {
        Thread.sleep(20);
      }
      for (HealthReport r : h.reports.subList(mark, h.reports.size())) {
        assertEquals(Health.HEALTHY, us(r).health(), "200 ms answers, timeout adapts: " + us(r).detail());
      }
      mark = h.mark();
      // slower than timeout_max (3 × interval = 300 ms): the timeout backs off 80 → 160 → 300 and still every
      // probe times out; four timeouts in a row fail it
      app.slow(700);
      HealthReport failed = h.await(mark, r -> us(r).health() == Health.FAILED, Duration.ofSeconds(10));
      assertTrue(us(failed).detail().contains("timeout after 300ms waiting for first byte"), us(failed).detail());
    } finally {
      get(h.role.stop());
    }
  }

  /** Breaks the app until FAILED is reported, restores it, returns how long until HEALTHY is reported again. */
  private static Duration cycle(CheckerHarness h, RegionApp app) throws InterruptedException {
    int mark = h.mark();
    app.mode(RegionApp.Mode.ERROR_500);
    h.await(mark, r -> us(r).health() == Health.FAILED, Duration.ofSeconds(3));
    mark = h.mark();
    long restored = System.nanoTime();
    app.mode(RegionApp.Mode.OK);
    HealthReport held = h.await(mark, r -> us(r).healthyEndpoints() == 1, Duration.ofSeconds(3));
    HealthReport back = h.await(mark, r -> us(r).health() == Health.HEALTHY, Duration.ofSeconds(5));
    Duration took = Duration.ofNanos(System.nanoTime() - restored);
    if (held.regions().get(0).health() == Health.FAILED) {
      assertTrue(held.regions().get(0).detail().contains("held down until"), held.regions().get(0).detail());
    }
    assertEquals(1, us(back).healthyEndpoints());
    return took;
  }
}
