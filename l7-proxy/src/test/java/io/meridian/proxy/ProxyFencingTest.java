package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.HomeAssignments;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A fenced region (an old home after a promotion) receives no write on any route, whatever its consistency
 * class — the case that went wrong: promote us-east's users to ap-south, then fail ap-south, and a POST of a
 * us-east user on an eventual route got 200 from the fenced us-east.
 */
class ProxyFencingTest {
  static final String SECRET = "fence-secret-0123456789abcdef0123456789";
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed("""
        trusted_hops: 1
        users: {source: header, name: X-User-Id}
        homes:
          pins: {bob: us-east}
        read_your_writes: {secret: %s, ttl: 5m}
        routes:
          - {name: account, path_prefix: /account, policy: home, consistency: strong}
          - {name: home, path_prefix: /home, policy: home, consistency: eventual}
          - {name: profile, path_prefix: /profile, policy: nearest, consistency: session}
          - {name: public, path_prefix: /}
        """.formatted(SECRET), null);
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  private HttpResponse<String> post(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(bed.uri(path)).POST(HttpRequest.BodyPublishers.ofString("x=1"));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return bed.send(b.build());
  }

  private static String region(HttpResponse<String> r) {
    return r.headers().firstValue("X-Meridian-Region").orElse("(none: " + r.statusCode() + " " + r.body() + ")");
  }

  @Test
  void noWriteReachesAFencedOldHomeOnAnyRouteWhileReadsKeepTheirRule() throws Exception {
    // before any fence, a US client's writes go to us-east (nearest, and bob's home)
    assertEquals("us-east", region(post("/public/x", "X-User-Id", "bob", "X-Forwarded-For", Testbed.US_CLIENT)));
    bed.setHealth("us-east", Health.FAILED);
    bed.setHomes(new HomeAssignments(Map.of("us-east", "ap-south"), Set.of("us-east")));
    bed.setHealth("us-east", Health.HEALTHY); // the old home is back but fenced: it no longer owns bob's data
    bed.setHealth("ap-south", Health.FAILED); // and the promoted home fails too

    // strong: the acting home (ap-south) or nothing
    HttpResponse<String> strong = post("/account", "X-User-Id", "bob", "X-Forwarded-For", Testbed.US_CLIENT);
    assertEquals(503, strong.statusCode(), strong.body());
    assertTrue(strong.body().contains("home_unavailable"), strong.body());
    // home/eventual, session and plain routes: served, but never by the fenced us-east
    for (String path : new String[] {"/home", "/profile", "/public/x"}) {
      HttpResponse<String> r = post(path, "X-User-Id", "bob", "X-Forwarded-For", Testbed.US_CLIENT);
      assertEquals(200, r.statusCode(), path + ": " + r.body());
      assertEquals("eu-west", region(r), path);
      // a write whose user is unknown may belong to one of us-east's former users: not there either
      HttpResponse<String> anonymous = post(path.equals("/public/x") ? path : "/public/y",
          "X-Forwarded-For", Testbed.US_CLIENT);
      assertEquals("eu-west", region(anonymous), path);
    }
    // reads keep their route's rule: an eventual read from the US is still served by us-east's replica
    assertEquals("us-east", region(bed.get("/public/x", "X-User-Id", "bob", "X-Forwarded-For", Testbed.US_CLIENT)));

    // the operator lifts the fence: writes go back to the nearest region
    bed.setHomes(HomeAssignments.NONE);
    assertEquals("us-east", region(post("/public/x", "X-User-Id", "bob", "X-Forwarded-For", Testbed.US_CLIENT)));
  }
}
