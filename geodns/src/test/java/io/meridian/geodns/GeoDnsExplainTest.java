package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Why a client gets its answer: the explain TXT name (via dig) and GET /v1/explain on the ops listener. */
class GeoDnsExplainTest {
  static DnsFixture dns;

  @BeforeAll
  static void start() throws Exception {
    dns = DnsFixture.start();
  }

  @AfterAll
  static void stop() throws Exception {
    dns.close();
  }

  static HttpResponse<String> get(String pathAndQuery) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + dns.role.opsPort() + pathAndQuery)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void explainTxtNameTellsLocationSourceCandidatesAndChoice() throws Exception {
    String out = String.join("\n", dns.digShort("_explain.www.example.test", "TXT", "+subnet=" + DnsFixture.LONDON));
    assertTrue(out.contains("via=ecs"), out);
    assertTrue(out.contains("located-by=NETS_OVERRIDE"), out);
    assertTrue(out.contains("country=GB"), out);
    assertTrue(out.contains("choice=eu-west"), out);
    assertTrue(out.contains("eu-west") && out.contains("us-east") && out.contains("ap-south"), out);

    dns.fail("eu-west");
    String after = String.join("\n", dns.digShort("_explain.www.example.test", "TXT", "+subnet=" + DnsFixture.LONDON));
    assertTrue(after.contains("choice=us-east"), after);
    assertTrue(after.contains("health=FAILED"), after);
    dns.publish("recovered", r -> r.withHealth(io.meridian.core.Health.HEALTHY));
  }

  @Test
  void explainEndpointReturnsJson() throws Exception {
    HttpResponse<String> r = get("/v1/explain?client=203.0.113.9&name=www.example.test");
    assertEquals(200, r.statusCode(), r.body());
    JsonObject j = new JsonObject(r.body());
    assertEquals("us-east", j.getString("choice"));
    assertEquals("address", j.getString("client_source"));
    assertEquals("NETS_OVERRIDE", j.getJsonObject("location").getString("source"));
    assertEquals("US", j.getJsonObject("location").getString("country"));
    assertEquals(3, j.getJsonArray("candidates").size());
    assertEquals("us-east", j.getJsonArray("candidates").getJsonObject(0).getString("region"), "nearest first");
    assertEquals(dns.bus.currentPlan().version(), j.getLong("plan_version"));
  }

  @Test
  void explainEndpointRejectsBadInputClearly() throws Exception {
    HttpResponse<String> bad = get("/v1/explain?client=not-an-ip&name=www.example.test");
    assertEquals(400, bad.statusCode());
    assertTrue(bad.body().contains("not-an-ip"), bad.body());
    HttpResponse<String> unknown = get("/v1/explain?client=203.0.113.9&name=nope.example.test");
    assertEquals(404, unknown.statusCode());
    assertTrue(unknown.body().contains("geo name"), unknown.body());
    assertEquals(400, get("/v1/explain").statusCode());
  }

  @Test
  void unknownClientsAreExplainedToo() throws Exception {
    HttpResponse<String> r = get("/v1/explain?client=192.0.2.200&name=www.example.test");
    JsonObject j = new JsonObject(r.body());
    assertEquals("unknown", j.getJsonObject("location").getString("source"));
    assertEquals("unknown", j.getString("zone"));
    assertEquals("unlocated:all", j.getString("choice"),
        "dns.unlocated: resolver, and the client is its own resolver: every eligible region");
  }
}
