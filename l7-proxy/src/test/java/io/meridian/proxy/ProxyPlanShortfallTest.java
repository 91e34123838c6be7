package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.controller.Planner;
import io.meridian.core.RoutingPlan;
import io.meridian.core.ZoneRoutes;
import io.meridian.core.geo.Zones;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * More demand than capacity, through the real planner into a plan and through the proxy: the proxy refuses the
 * plan's shed fraction of the zone's requests with 503 + Retry-After, spread over every client of the zone, and
 * counts them.
 */
class ProxyPlanShortfallTest {
  private static final int CLIENTS = 20;
  private static final int PER_CLIENT = 100;
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed("trusted_hops: 1\nretry_after: 3s", null, 100); // 3 regions × 100 rps × headroom 0.8
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  @Test
  void theZonesShedFractionIsRefusedFairlyAcrossItsClients() throws Exception {
    RoutingPlan p = bed.bus.currentPlan();
    int zone = Zones.parse("50N8E"); // where geo.nets puts 127.0.0.0/8
    double[] limits = new double[p.regions().size()];
    for (int i = 0; i < limits.length; i++) {
      limits[i] = p.region(i).allowedRps();
    }
    assertEquals(240, limits[0] + limits[1] + limits[2], 1e-9);
    Planner.Result planned = Planner.minCost().plan(new Planner.Input(p.topology(), limits, new int[] {zone},
        new double[] {400}));
    ZoneRoutes routes = planned.routes(p.regions());
    double shed = routes.get(zone).shed();
    assertEquals(0.4, shed, 1e-3, "400 rps of demand, 240 placed");
    bed.bus.publishPlan(p.next("over demand", p.regions(), routes, p.homes(), planned.shortfallRps()));

    int[] shedPerClient = new int[CLIENTS];
    int[] retryAfter = new int[1];
    Semaphore window = new Semaphore(16);
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (int n = 0; n < PER_CLIENT; n++) {
      for (int c = 0; c < CLIENTS; c++) {
        int client = c;
        window.acquire();
        HttpRequest req = HttpRequest.newBuilder(bed.uri("/x")).timeout(Duration.ofSeconds(10))
            .header("X-Forwarded-For", "127.0." + (client + 1) + ".9").build(); // one /24 per client
        all.add(bed.http.sendAsync(req, HttpResponse.BodyHandlers.ofString()).thenAccept(r -> {
          if (r.statusCode() == 503 && r.body().contains("\"error\":\"plan_shortfall\"")) {
            synchronized (shedPerClient) {
              shedPerClient[client]++;
              if ("3".equals(r.headers().firstValue("retry-after").orElse(null))) {
                retryAfter[0]++;
              }
            }
          }
        }).whenComplete((v, e) -> window.release()));
      }
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

    int total = CLIENTS * PER_CLIENT;
    int refused = 0;
    for (int c = 0; c < CLIENTS; c++) {
      refused += shedPerClient[c];
      // Binomial(100, 0.4): mean 40, sd 4.9; a client shed always or never would be far outside
      assertTrue(shedPerClient[c] > 15 && shedPerClient[c] < 65, "client " + c + ": " + shedPerClient[c]
          + " of " + PER_CLIENT + " shed");
    }
    double fraction = refused / (double) total;
    System.out.printf("plan shed %.3f, proxy shed %d of %d = %.3f%n", shed, refused, total, fraction);
    // Binomial(2000, 0.4): sd 0.011; 4.5 sd
    assertEquals(shed, fraction, 0.05, "shed fraction against the plan");
    assertEquals(refused, retryAfter[0], "every refusal carries Retry-After");
    assertEquals(refused, bed.metric("meridian_proxy_shed_total{reason=\"plan_shortfall\",region=\"none\"}"));
  }
}
