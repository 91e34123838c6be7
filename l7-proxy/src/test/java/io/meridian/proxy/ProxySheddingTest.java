package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Per-region concurrency limit from the plan's capacity: capacity 1,000 rps × 0.002 → 2 requests in flight; the
 * third concurrent one is shed with 503 + Retry-After instead of piling onto the region (the allowed rate, 800
 * rps, is far away).
 */
class ProxySheddingTest {
  private Testbed bed;
  private final CopyOnWriteArrayList<io.vertx.core.http.HttpServerRequest> held = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed("retry_after: 2s\nin_flight_per_capacity_rps: 0.002", req -> held.add(req), 1000);
  }

  @AfterEach
  void stop() throws Exception {
    held.forEach(r -> r.response().end("released"));
    bed.close();
  }

  @Test
  void excessIsShedWithRetryAfter() throws Exception {
    CompletableFuture<HttpResponse<String>> a = CompletableFuture.supplyAsync(() -> get());
    CompletableFuture<HttpResponse<String>> b = CompletableFuture.supplyAsync(() -> get());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (held.size() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(2, held.size());
    HttpResponse<String> shed = bed.get("/third");
    assertEquals(503, shed.statusCode());
    assertEquals("2", shed.headers().firstValue("retry-after").orElseThrow());
    assertTrue(shed.body().contains("\"error\":\"shed\""), shed.body());
    assertEquals(1.0, bed.metric("meridian_proxy_shed_total{reason=\"concurrency\",region=\"eu-west\"}"));
    held.forEach(r -> r.response().end("released"));
    assertEquals(200, a.get(10, TimeUnit.SECONDS).statusCode());
    assertEquals(200, b.get(10, TimeUnit.SECONDS).statusCode());
    held.clear();
  }

  private HttpResponse<String> get() {
    try {
      return bed.get("/held");
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }
}
