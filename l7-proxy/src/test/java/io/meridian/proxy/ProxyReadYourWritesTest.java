package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Read-your-writes with a lagging region: alice (home eu-west) writes from the US; her next read from the US is
 * served by us-east only once us-east's watermark from eu-west has reached her write, else by eu-west.
 */
class ProxyReadYourWritesTest {
  static final String RYW_SECRET = "ryw-secret-0123456789abcdef0123456789";
  private Testbed bed;

  private void start(String maxWait, boolean upstreamReportsPosition) throws Exception {
    bed = new Testbed("""
        trusted_hops: 1
        users: {source: header, name: X-User-Id}
        homes: {pins: {alice: eu-west}}
        read_your_writes: {secret: %s, ttl: 5m, max_wait: %s}
        routes:
          - {name: profile-write, path_prefix: /profile, methods: [POST, PUT, PATCH, DELETE], policy: home, consistency: session}
          - {name: profile-read, path_prefix: /profile, policy: nearest, consistency: session}
        """.formatted(RYW_SECRET, maxWait), req -> req.body().onSuccess(b -> {
          String region = req.response().headers().get("x-served-by");
          if (upstreamReportsPosition && req.method().name().equals("POST")) {
            req.response().putHeader("X-Commit-Position", "42");
          }
          req.response().end("hello from " + region);
        }));
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  private HttpResponse<String> write() throws Exception {
    return bed.send(HttpRequest.newBuilder(bed.uri("/profile")).header("X-User-Id", "alice")
        .header("X-Forwarded-For", Testbed.US_CLIENT).POST(HttpRequest.BodyPublishers.ofString("name=A")).build());
  }

  private String readFromUs(String token) throws Exception {
    HttpResponse<String> r = bed.get("/profile", "X-User-Id", "alice", "X-Forwarded-For", Testbed.US_CLIENT,
        ProxyTokens.RYW_HEADER, token);
    assertEquals(200, r.statusCode());
    return r.headers().firstValue("X-Meridian-Region").orElseThrow();
  }

  @Test
  void readGoesHomeUntilTheLocalReplicaCatchesUp() throws Exception {
    start("0ms", true);
    HttpResponse<String> w = write();
    assertEquals("eu-west", w.headers().firstValue("X-Meridian-Region").orElseThrow());
    String token = w.headers().firstValue(ProxyTokens.RYW_HEADER).orElseThrow();
    assertTrue(token.startsWith("eu-west.42."), token);
    assertTrue(w.headers().allValues("set-cookie").stream().anyMatch(c -> c.startsWith(ProxyTokens.RYW_COOKIE + "=")));

    // no token: nearest
    assertEquals("us-east", bed.get("/profile", "X-User-Id", "alice", "X-Forwarded-For", Testbed.US_CLIENT)
        .headers().firstValue("X-Meridian-Region").orElseThrow());
    // us-east has not reported a watermark from eu-west yet
    assertEquals("eu-west", readFromUs(token));
    bed.setWatermark("us-east", "eu-west", 41);
    assertEquals("eu-west", readFromUs(token));
    bed.setWatermark("us-east", "eu-west", 42);
    assertEquals("us-east", readFromUs(token));
    assertEquals(2.0, bed.metric("meridian_proxy_ryw_redirects_total{from_region=\"us-east\",to_region=\"eu-west\"}"));
  }

  @Test
  void tokenWorksAsCookieToo() throws Exception {
    start("0ms", true);
    String token = write().headers().firstValue(ProxyTokens.RYW_HEADER).orElseThrow();
    HttpResponse<String> r = bed.get("/profile", "X-User-Id", "alice", "X-Forwarded-For", Testbed.US_CLIENT,
        "Cookie", ProxyTokens.RYW_COOKIE + "=" + token);
    assertEquals("eu-west", r.headers().firstValue("X-Meridian-Region").orElseThrow());
  }

  @Test
  void withoutAnUpstreamPositionAHybridLogicalClockIsUsed() throws Exception {
    start("0ms", false);
    long before = System.currentTimeMillis() << 16;
    String token = write().headers().firstValue(ProxyTokens.RYW_HEADER).orElseThrow();
    long position = Long.parseLong(token.split("\\.")[1]);
    assertTrue(position >= before && position <= (System.currentTimeMillis() + 1) << 16, token);
    bed.setWatermark("us-east", "eu-west", position - 1);
    assertEquals("eu-west", readFromUs(token));
    bed.setWatermark("us-east", "eu-west", position);
    assertEquals("us-east", readFromUs(token));
  }

  @Test
  void forgedExpiredMalformedAndStolenTokensAreIgnoredAndCounted() throws Exception {
    start("0ms", true);
    String forged = ProxyTokens.rywToken("wrong-secret-0123456789abcdef01234567", "alice", "eu-west", 42,
        Instant.now().plusSeconds(60));
    String expired = ProxyTokens.rywToken(RYW_SECRET, "alice", "eu-west", 42, Instant.now().minusSeconds(1));
    String otherUsers = ProxyTokens.rywToken(RYW_SECRET, "mallory", "eu-west", 42, Instant.now().plusSeconds(60));
    assertEquals("us-east", readFromUs(forged));
    assertEquals("us-east", readFromUs(expired));
    assertEquals("us-east", readFromUs("eu-west.notanumber"));
    assertEquals("us-east", readFromUs(otherUsers));
    assertEquals(2.0, bed.metric("meridian_proxy_tokens_rejected_total{kind=\"ryw\",reason=\"bad_signature\"}"));
    assertEquals(1.0, bed.metric("meridian_proxy_tokens_rejected_total{kind=\"ryw\",reason=\"expired\"}"));
    assertEquals(1.0, bed.metric("meridian_proxy_tokens_rejected_total{kind=\"ryw\",reason=\"malformed\"}"));
  }

  @Test
  void aReadWaitsForTheReplicaUpToTheBound() throws Exception {
    start("5s", true);
    String token = write().headers().firstValue(ProxyTokens.RYW_HEADER).orElseThrow();
    CompletableFuture<String> read = CompletableFuture.supplyAsync(() -> {
      try {
        return readFromUs(token);
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    Thread.sleep(200);
    assertTrue(!read.isDone(), "the read must wait for the replica, not be answered yet");
    bed.setWatermark("us-east", "eu-west", 42);
    assertEquals("us-east", read.get());
  }
}
