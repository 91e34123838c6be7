package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.RegionState;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two proxies on one control bus split a region's allowed rate by the traffic each offers it, from each
 * other's traffic reports; when one stops (its report is gone), the other takes the whole limit.
 */
class ProxyAdmissionSharesTest {
  private static final double ALLOWED = 1000;
  private Testbed bed;
  private ProxyRole second;
  private ScheduledExecutorService load;

  @BeforeEach
  void start() throws Exception {
    System.setProperty("meridian.proxy.trafficReportMs", "500"); // shares move in seconds, not tens of
    bed = new Testbed(null, null);
    RoutingPlan p = bed.bus.currentPlan();
    List<RegionState> states = new ArrayList<>();
    for (RegionState r : p.regions()) {
      states.add(r.withAllowed(ALLOWED));
    }
    bed.bus.publishPlan(p.next("limits", states, p.zones(), p.homes(), 0));
    second = ProxyRole.create(new RoleContext(bed.vertx, bed.config, bed.bus, GeoLocator.open(bed.vertx,
        bed.config.geo()), OpsEndpoints.create(bed.vertx, "proxy")));
    second.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    load = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterEach
  void stop() throws Exception {
    System.clearProperty("meridian.proxy.trafficReportMs");
    load.shutdownNow();
    second.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    bed.close();
  }

  @Test
  void twoProxiesSplitTheLimitByTrafficAndTheSurvivorTakesItAll() throws Exception {
    // three requests through the first proxy for each one through the second, all to eu-west
    load.scheduleAtFixedRate(() -> {
      for (int i = 0; i < 3; i++) {
        fire(bed.proxy.port());
      }
      fire(second.port());
    }, 0, 50, TimeUnit.MILLISECONDS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    double a = 0;
    double b = 0;
    while (System.nanoTime() < deadline) {
      a = share(bed.proxy.opsPort());
      b = share(second.opsPort());
      if (Math.abs(a - 0.75) < 0.1 && Math.abs(b - 0.25) < 0.1) {
        break;
      }
      Thread.sleep(200);
    }
    assertEquals(0.75, a, 0.1, "first proxy's share of eu-west");
    assertEquals(0.25, b, 0.1, "second proxy's share of eu-west");
    // share and limit from one scrape: a traffic report every 500 ms moves the share between two scrapes
    String m = metrics(bed.proxy.opsPort());
    assertEquals(ALLOWED * sample(m, SHARE), sample(m, LIMIT), 1e-6 * ALLOWED, "limit = allowed × share");

    second.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS); // its report goes away
    assertEquals(1.0, share(bed.proxy.opsPort()));
    assertEquals(ALLOWED, limit(bed.proxy.opsPort()));
  }

  private void fire(int port) {
    bed.http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/x")).build(),
        HttpResponse.BodyHandlers.discarding());
  }

  private static final String SHARE = "meridian_proxy_region_share{region=\"eu-west\"}";
  private static final String LIMIT = "meridian_proxy_region_limit_rps{region=\"eu-west\"}";

  private double share(int opsPort) throws Exception {
    return sample(metrics(opsPort), SHARE);
  }

  private double limit(int opsPort) throws Exception {
    return sample(metrics(opsPort), LIMIT);
  }

  private String metrics(int opsPort) throws Exception {
    return bed.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + opsPort + "/metrics"))
        .build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  private static double sample(String body, String name) {
    for (String line : body.split("\n")) {
      if (line.startsWith(name + " ")) {
        return Double.parseDouble(line.substring(name.length() + 1).trim());
      }
    }
    throw new AssertionError(name + " not exported");
  }
}
