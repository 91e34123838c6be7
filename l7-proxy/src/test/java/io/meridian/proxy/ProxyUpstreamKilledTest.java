package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An upstream process dies in the middle of a stream of GETs from several clients: requests in flight on its
 * connections and those that find it refusing connections are retried in the next region, so no client sees
 * an error. Upstreams answer after a short delay so that requests really are in flight at the kill.
 */
class ProxyUpstreamKilledTest {
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    // min_concurrent covers the 4 clients' simultaneous retries at the moment of the kill
    bed = new Testbed("retries: {min_concurrent: 8}", req -> {
      String region = req.response().headers().get("x-served-by");
      req.body().onSuccess(b -> req.response().setStatusCode(200).end("hello from " + region));
    });
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  @Test
  void zeroClientVisibleErrors() throws Exception {
    int clients = 4;
    AtomicInteger served = new AtomicInteger();
    Map<String, AtomicInteger> byRegion = new ConcurrentHashMap<>();
    List<String> errors = new CopyOnWriteArrayList<>();
    // a cold JVM on a busy machine took longer than the 800 ms before the kill for its first request
    assertEquals(200, bed.get("/warm-up").statusCode());
    long stopAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2500);
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<Future<?>> running = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      running.add(pool.submit(() -> {
        while (System.nanoTime() < stopAt) {
          try {
            HttpResponse<String> r = bed.get("/item");
            if (r.statusCode() != 200 || !r.body().startsWith("hello from ")) {
              errors.add(r.statusCode() + " " + r.body());
            } else {
              served.incrementAndGet();
              byRegion.computeIfAbsent(r.headers().firstValue("X-Meridian-Region").orElse("?"),
                  k -> new AtomicInteger()).incrementAndGet();
            }
          } catch (Exception e) {
            errors.add(e.toString());
          }
        }
        return null;
      }));
    }
    Thread.sleep(800);
    bed.kill("eu-west");
    for (Future<?> f : running) {
      f.get(30, TimeUnit.SECONDS);
    }
    pool.shutdown();
    assertEquals(List.of(), errors);
    assertTrue(byRegion.containsKey("eu-west") && byRegion.containsKey("us-east"),
        "traffic must have moved from eu-west to us-east: " + byRegion);
    assertTrue(served.get() > 100, "served " + served.get());
    assertTrue(bed.metric("meridian_proxy_retries_total{region=\"eu-west\"}") >= 1);
    // a region's only upstream is never ejected (it would take the region down until the ejection ends, also
    // after the origin is back): the refused connects are retried elsewhere instead, until the plan drops it
    assertEquals(0, bed.metric("meridian_proxy_upstream_ejections_total{region=\"eu-west\",upstream=\"http://127.0.0.1:"
        + bed.upstreamPorts.get("eu-west") + "\"}"));
  }
}
