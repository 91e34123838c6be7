package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.HomeAssignments;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Home policy, strong consistency (fail closed), signed home cookies, consistent hashing, promotions, fences. */
class ProxyHomeRoutingTest {
  static final String SECRET = "home-secret-0123456789abcdef0123456789";
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed("""
        trusted_hops: 1
        users: {source: header, name: X-User-Id}
        homes:
          secret: %s
          pins: {alice: eu-west, bob: us-east}
        routes:
          - {name: account, path_prefix: /account, policy: home, consistency: strong}
          - {name: home, path_prefix: /home, policy: home, consistency: eventual}
          - {name: public, path_prefix: /}
        """.formatted(SECRET), null);
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  private String region(HttpResponse<String> r) {
    return r.headers().firstValue("X-Meridian-Region").orElseThrow();
  }

  @Test
  void strongGoesHomeFromAnywhereAndFailsClosedNamingTheHome() throws Exception {
    // bob lives in us-east; he is travelling in Europe
    HttpResponse<String> r = bed.get("/account", "X-User-Id", "bob", "X-Forwarded-For", Testbed.EU_CLIENT);
    assertEquals(200, r.statusCode());
    assertEquals("us-east", region(r));
    assertEquals("eu-west", region(bed.get("/public", "X-User-Id", "bob", "X-Forwarded-For", Testbed.EU_CLIENT)));

    bed.setHealth("us-east", Health.FAILED);
    HttpResponse<String> refused = bed.get("/account", "X-User-Id", "bob", "X-Forwarded-For", Testbed.EU_CLIENT);
    assertEquals(503, refused.statusCode());
    assertTrue(refused.body().contains("\"error\":\"home_unavailable\""), refused.body());
    assertTrue(refused.body().contains("\"region\":\"us-east\""), refused.body());
  }

  @Test
  void strongWithoutAUserFailsClosed() throws Exception {
    HttpResponse<String> r = bed.get("/account");
    assertEquals(503, r.statusCode());
    assertTrue(r.body().contains("home_unavailable"), r.body());
  }

  @Test
  void homeEventualFallsBackToNearestWhenHomeIsDown() throws Exception {
    assertEquals("us-east", region(bed.get("/home", "X-User-Id", "bob", "X-Forwarded-For", Testbed.IN_CLIENT)));
    bed.setHealth("us-east", Health.FAILED);
    assertEquals("ap-south", region(bed.get("/home", "X-User-Id", "bob", "X-Forwarded-For", Testbed.IN_CLIENT)));
  }

  @Test
  void promotionsFromThePlanMoveTheHomeAndFencesRefuse() throws Exception {
    bed.setHealth("us-east", Health.FAILED);
    bed.setHomes(new HomeAssignments(Map.of("us-east", "ap-south"), Set.of("us-east")));
    HttpResponse<String> r = bed.get("/account", "X-User-Id", "bob");
    assertEquals(200, r.statusCode());
    assertEquals("ap-south", region(r));
    // a fenced acting home takes no writes even when healthy
    bed.setHealth("us-east", Health.HEALTHY);
    bed.setHomes(new HomeAssignments(Map.of(), Set.of("us-east")));
    assertEquals(503, bed.get("/account", "X-User-Id", "bob").statusCode());
  }

  @Test
  void signedHomeCookieIsHonouredAndForgedOnesAreIgnoredAndCounted() throws Exception {
    String cookie = ProxyTokens.homeCookie(SECRET, "carol", "ap-south", Instant.now().plus(Duration.ofHours(1)));
    assertEquals("ap-south", region(bed.get("/account", "X-User-Id", "carol", "Cookie",
        ProxyTokens.HOME_COOKIE + "=" + cookie)));
    assertEquals("ap-south", region(bed.get("/account", "X-User-Id", "carol", ProxyTokens.HOME_HEADER, cookie)));

    // the same cookie presented by another user, a cookie signed with the wrong key, an expired one
    String hashedDave = region(bed.get("/account", "X-User-Id", "dave"));
    assertEquals(hashedDave, region(bed.get("/account", "X-User-Id", "dave", ProxyTokens.HOME_HEADER, cookie)));
    String wrongKey = ProxyTokens.homeCookie("another-secret-0123456789abcdef012345", "carol", "ap-south",
        Instant.now().plusSeconds(3600));
    String hashedCarol = region(bed.get("/account", "X-User-Id", "carol"));
    assertEquals(hashedCarol, region(bed.get("/account", "X-User-Id", "carol", ProxyTokens.HOME_HEADER, wrongKey)));
    String expired = ProxyTokens.homeCookie(SECRET, "carol", "ap-south", Instant.now().minusSeconds(5));
    assertEquals(hashedCarol, region(bed.get("/account", "X-User-Id", "carol", ProxyTokens.HOME_HEADER, expired)));
    assertEquals(2.0, bed.metric("meridian_proxy_tokens_rejected_total{kind=\"home\",reason=\"bad_signature\"}"));
    assertEquals(1.0, bed.metric("meridian_proxy_tokens_rejected_total{kind=\"home\",reason=\"expired\"}"));
  }

  @Test
  void unpinnedUsersAreSpreadByConsistentHashingAndStayPut() throws Exception {
    Map<String, String> first = new HashMap<>();
    for (int i = 0; i < 30; i++) {
      first.put("user" + i, region(bed.get("/account", "X-User-Id", "user" + i)));
    }
    assertEquals(3, new HashSet<>(first.values()).size(), "30 users should land in all three regions: " + first);
    for (int i = 0; i < 30; i++) {
      assertEquals(first.get("user" + i), region(bed.get("/account", "X-User-Id", "user" + i)));
    }
    // a user whose home is down stays unserved on the strong route, while others are unaffected
    String victim = first.entrySet().stream().filter(e -> e.getValue().equals("ap-south")).findFirst()
        .orElseThrow().getKey();
    bed.setHealth("ap-south", Health.FAILED);
    assertEquals(503, bed.get("/account", "X-User-Id", victim).statusCode());
    String other = first.entrySet().stream().filter(e -> !e.getValue().equals("ap-south")).findFirst()
        .orElseThrow().getKey();
    assertNotEquals(503, bed.get("/account", "X-User-Id", other).statusCode());
  }

  @Test
  void writesGoHomeWithTheirBody() throws Exception {
    HttpResponse<String> r = bed.send(HttpRequest.newBuilder(bed.uri("/account/deposit"))
        .header("X-User-Id", "alice").header("X-Forwarded-For", Testbed.US_CLIENT)
        .POST(HttpRequest.BodyPublishers.ofString("amount=5")).build());
    assertEquals("eu-west", region(r));
    assertEquals("hello from eu-west", r.body());
  }
}
