package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One client zone (Frankfurt) driven far above what the plan allows: no region serves more than its allowed rate
 * × 1.05 over any 1 s window, counted at the upstreams; the excess spills to the plan's next choice, and what no
 * region has room for is refused with 503 + Retry-After.
 */
class ProxyCapacityEnforcedTest {
  private static final Map<String, Double> ALLOWED = Map.of("eu-west", 80.0, "ap-south", 70.0);
  private static final long DRIVE_NANOS = TimeUnit.MILLISECONDS.toNanos(4_000);
  /**
   * Arrivals in the first second are not judged: the proxy opens its upstream connections then, and requests
   * admitted 12 ms apart can reach the upstream together when their connections finish at once. The limit holds
   * at the proxy (RegionRateLimiterTest); at the upstream it shows shifted by how the proxy-to-upstream latency
   * varies.
   */
  private static final long WARM_UP_NANOS = TimeUnit.MILLISECONDS.toNanos(1_000);
  private final Map<String, ConcurrentLinkedQueue<Long>> arrivals = new ConcurrentHashMap<>();
  private final Map<Integer, String> regionByPort = new ConcurrentHashMap<>();
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    // capacity_wait 0: every excess request is refused at once, so the test counts refusals against the limit
    bed = new Testbed("retry_after: 2s\ncapacity_wait: 0s", req -> {
      String region = regionByPort.get(req.localAddress().port());
      arrivals.computeIfAbsent(region, k -> new ConcurrentLinkedQueue<>()).add(System.nanoTime());
      req.response().end("ok");
    }, 100_000, true);
    bed.upstreamPorts.forEach((region, port) -> regionByPort.put(port, region));
    RoutingPlan p = bed.bus.currentPlan();
    List<RegionState> states = new ArrayList<>();
    for (RegionState r : p.regions()) {
      states.add(ALLOWED.containsKey(r.id()) ? r.withAllowed(ALLOWED.get(r.id())) : r.withHealth(Health.FAILED)
          .withAllowed(0));
    }
    bed.bus.publishPlan(p.next("limits", states, p.zones(), p.homes(), 0));
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  @Test
  void noRegionServesAboveItsAllowedRateAndTheExcessSpillsOrIsShed() throws Exception {
    io.vertx.core.Vertx clients = io.vertx.core.Vertx.vertx(new io.vertx.core.VertxOptions().setEventLoopPoolSize(1));
    HttpClient client = clients.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(16));
    AtomicInteger ok = new AtomicInteger();
    AtomicInteger overCapacity = new AtomicInteger();
    AtomicInteger withoutRetryAfter = new AtomicInteger();
    AtomicInteger other = new AtomicInteger();
    long begin = System.nanoTime();
    long end = begin + DRIVE_NANOS;
    CountDownLatch done = new CountDownLatch(16);
    for (int i = 0; i < 16; i++) {
      loop(client, end, done, ok, overCapacity, withoutRetryAfter, other);
    }
    assertTrue(done.await(30, TimeUnit.SECONDS));
    client.close();
    clients.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

    System.out.printf("200: %d, 503 over_capacity: %d, other: %d%n", ok.get(), overCapacity.get(), other.get());
    int served = 0;
    for (Map.Entry<String, Double> e : ALLOWED.entrySet()) {
      List<Long> all = new ArrayList<>(arrivals.getOrDefault(e.getKey(), new ConcurrentLinkedQueue<>()));
      served += all.size();
      List<Long> times = new ArrayList<>(all.stream().filter(t -> t - begin >= WARM_UP_NANOS).toList());
      Collections.sort(times);
      int max = maxInWindow(times, TimeUnit.SECONDS.toNanos(1));
      double seconds = (DRIVE_NANOS - WARM_UP_NANOS) / 1e9;
      System.out.printf("%s: allowed %.0f rps, served %d in %.1f s, highest in any 1 s window %d (%.3f × limit)%n",
          e.getKey(), e.getValue(), times.size(), seconds, max, max / e.getValue());
      assertTrue(max <= e.getValue() * 1.05, e.getKey() + ": " + max + " in one second, limit " + e.getValue());
      assertTrue(times.size() > e.getValue() * seconds / 2, e.getKey() + " served only " + times.size()
          + ": the test did not saturate it");
    }
    assertEquals(served, ok.get());
    assertEquals(0, other.get());
    assertTrue(overCapacity.get() > 0, "demand above every region's room is refused");
    assertEquals(0, withoutRetryAfter.get(), "every refusal carries Retry-After");
    assertTrue(arrivals.getOrDefault("us-east", new ConcurrentLinkedQueue<>()).isEmpty());
    assertTrue(bed.metric("meridian_proxy_capacity_spills_total{region=\"eu-west\"}") > 0);
    assertEquals(overCapacity.get(), bed.metric("meridian_proxy_shed_total{reason=\"capacity\",region=\"eu-west\"}"));
  }

  private void loop(HttpClient client, long end, CountDownLatch done, AtomicInteger ok, AtomicInteger over,
      AtomicInteger noRetryAfter, AtomicInteger other) {
    if (System.nanoTime() >= end) {
      done.countDown();
      return;
    }
    client.request(HttpMethod.GET, bed.proxy.port(), "127.0.0.1", "/x")
        .compose(req -> req.send().compose(resp -> resp.body().map(b -> {
          if (resp.statusCode() == 200) {
            ok.incrementAndGet();
          } else if (resp.statusCode() == 503 && b.toString().contains("\"error\":\"over_capacity\"")) {
            over.incrementAndGet();
            if (!"2".equals(resp.getHeader("retry-after"))) {
              noRetryAfter.incrementAndGet();
            }
          } else {
            other.incrementAndGet();
          }
          return null;
        })))
        .onComplete(ar -> {
          if (ar.failed()) {
            other.incrementAndGet();
          }
          loop(client, end, done, ok, over, noRetryAfter, other);
        });
  }

  /** The most arrivals within any window of {@code window} nanos (times sorted). */
  static int maxInWindow(List<Long> times, long window) {
    int best = 0;
    int from = 0;
    for (int i = 0; i < times.size(); i++) {
      while (times.get(i) - times.get(from) >= window) {
        from++;
      }
      best = Math.max(best, i - from + 1);
    }
    return best;
  }
}
