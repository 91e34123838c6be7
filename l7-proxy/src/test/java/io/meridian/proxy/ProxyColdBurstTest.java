package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A cold burst of new client connections against a slow origin: with the upstream connections capped, the
 * requests beyond the cap wait in the pool's queue for a connection to come free and are all served (none gets
 * 502); a request that waits longer than {@code upstream_pool.queue_timeout} gets 503 {@code upstream_busy} with
 * Retry-After, not a failure charged to the origin.
 */
class ProxyColdBurstTest {
  private static Map<String, Integer> burst(Testbed bed, int clients) {
    HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
        .build();
    List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
    for (int i = 0; i < clients; i++) { // HTTP/1.1: one new connection per request in flight
      fs.add(c.sendAsync(HttpRequest.newBuilder(bed.uri("/b" + i)).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    Map<String, Integer> counts = new TreeMap<>();
    for (var f : fs) {
      HttpResponse<String> r = f.join();
      counts.merge(r.statusCode() + " " + r.body(), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void burstBeyondTheConnectionCapWaitsAndIsServed() throws Exception {
    try (Testbed bed = new Testbed("upstream_pool: {max_connections: 8}",
        req -> io.vertx.core.Vertx.currentContext().owner().setTimer(50, t -> req.response().end("slow")))) {
      assertEquals(Map.of("200 slow", 300), burst(bed, 300));
      assertEquals(0, bed.metric("meridian_proxy_retries_total{region=\"eu-west\"}"), "served where chosen");
    }
  }

  @Test
  void aRequestWaitingLongerThanTheQueueTimeoutGets503UpstreamBusy() throws Exception {
    try (Testbed bed = new Testbed("upstream_pool: {max_connections: 1, queue_timeout: 200ms}",
        req -> io.vertx.core.Vertx.currentContext().owner().setTimer(1500, t -> req.response().end("slow")))) {
      Map<String, Integer> counts = burst(bed, 12); // several per event loop: one connection each, the rest wait
      assertTrue(counts.getOrDefault("200 slow", 0) >= 1, counts.toString());
      String busy = counts.keySet().stream().filter(k -> k.startsWith("503 ")).findFirst().orElse(counts.toString());
      assertTrue(busy.contains("upstream_busy"), busy);
      assertEquals(0, bed.metric("meridian_proxy_upstream_ejections_total{region=\"eu-west\",upstream=\""
          + "http://127.0.0.1:" + bed.upstreamPorts.get("eu-west") + "\"}"));
      HttpResponse<String> r = bed.get("/after");
      assertEquals(200, r.statusCode(), r.body());
    }
  }
}
