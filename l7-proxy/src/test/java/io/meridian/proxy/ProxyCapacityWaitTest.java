package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A bunch of requests arriving together at the only region that may serve, whose allowed rate has room for a few
 * of them at once: with {@code capacity_wait} the others wait for their slots and are served spaced at the
 * allowed rate; those whose slot is further away than the wait are refused with 503 over_capacity.
 */
class ProxyCapacityWaitTest {
  /** eu-west's allowed rate: one request per 50 ms after the first two. */
  private static final double ALLOWED_RPS = 20;
  private static final int BURST = 20;
  private final ConcurrentLinkedQueue<Long> arrivals = new ConcurrentLinkedQueue<>();
  private Testbed bed;

  @AfterEach
  void stop() throws Exception {
    if (bed != null) {
      bed.close();
    }
  }

  @Test
  void aBunchOfRequestsWaitsForItsSlotsInsteadOfBeingRefused() throws Exception {
    bed = new Testbed("capacity_wait: 300ms", req -> {
      arrivals.add(System.nanoTime());
      req.response().end("ok");
    }, 100_000, true);
    RoutingPlan p = bed.bus.currentPlan();
    List<RegionState> states = new ArrayList<>();
    for (RegionState r : p.regions()) {
      states.add(r.id().equals("eu-west") ? r.withAllowed(ALLOWED_RPS) : r.withHealth(Health.FAILED).withAllowed(0));
    }
    bed.bus.publishPlan(p.next("limits", states, p.zones(), p.homes(), 0));

    io.vertx.core.Vertx clients = io.vertx.core.Vertx.vertx(new io.vertx.core.VertxOptions().setEventLoopPoolSize(1));
    HttpClient client = clients.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(BURST));
    // open the connections first, so the burst is BURST requests sent at once rather than BURST connects
    List<Future<?>> warm = new ArrayList<>();
    for (int i = 0; i < BURST; i++) {
      warm.add(client.request(HttpMethod.GET, bed.proxy.port(), "127.0.0.1", "/healthz-not-routed")
          .compose(req -> req.send().compose(resp -> resp.body())));
    }
    Future.join(warm).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    Thread.sleep(1_100); // the warm-up's requests used the rate: let the limiter forget them
    arrivals.clear();
    double waitsBefore = bed.metric("meridian_proxy_capacity_waits_total{region=\"eu-west\"}");

    AtomicInteger ok = new AtomicInteger();
    AtomicInteger overCapacity = new AtomicInteger();
    AtomicInteger other = new AtomicInteger();
    List<Future<?>> burst = new ArrayList<>();
    for (int i = 0; i < BURST; i++) {
      burst.add(client.request(HttpMethod.GET, bed.proxy.port(), "127.0.0.1", "/x")
          .compose(req -> req.send().compose(resp -> resp.body().map(b -> {
            if (resp.statusCode() == 200) {
              ok.incrementAndGet();
            } else if (resp.statusCode() == 503 && b.toString().contains("\"error\":\"over_capacity\"")) {
              overCapacity.incrementAndGet();
            } else {
              other.incrementAndGet();
            }
            return null;
          }))));
    }
    Future.join(burst).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    client.close();
    clients.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

    List<Long> times = new ArrayList<>(arrivals);
    Collections.sort(times);
    double spanMs = times.isEmpty() ? 0 : (times.get(times.size() - 1) - times.get(0)) / 1e6;
    double waits = bed.metric("meridian_proxy_capacity_waits_total{region=\"eu-west\"}") - waitsBefore;
    System.out.printf("burst of %d at %.0f rps allowed, capacity_wait 300ms: 200 %d, 503 over_capacity %d,"
        + " other %d; waited %.0f; served over %.0f ms%n", BURST, ALLOWED_RPS, ok.get(), overCapacity.get(),
        other.get(), waits, spanMs);
    assertEquals(0, other.get());
    assertEquals(BURST, ok.get() + overCapacity.get());
    assertEquals(ok.get(), times.size(), "every 200 was served by eu-west");
    // at once: 2 (the burst tolerance); within 300 ms: one per 50 ms more. Arrivals spread over the client's
    // sending only add room, so at least 8 are served
    assertTrue(ok.get() >= 8, "requests waited for their slots: " + ok.get() + " served");
    assertTrue(waits >= 6, "the served beyond the first two waited: " + waits);
    // 20 requests need 950 ms of the allowed rate: with a 300 ms wait some are refused
    assertTrue(overCapacity.get() >= 1, "a slot further away than capacity_wait is refused");
    // the waiting ones were served spaced at the allowed rate, not together: the 8th slot is 300 ms after the 1st
    assertTrue(spanMs >= 250, "served over " + spanMs + " ms");
  }
}
