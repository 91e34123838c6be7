package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.RegionSelector;
import io.meridian.core.geo.Zones;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /v1/plan/explain?client=IP[/prefix]}: a client located by the {@code geo} config (nets overrides),
 * its zone, and the region DNS (per geo name, geofences included) and HTTP give it on the current plan — the same
 * answer as {@link RegionSelector#choose} with the data planes' client key, before and after a failover.
 */
@ExtendWith(VertxExtension.class)
class ClientExplainTest {
  static final String GEO = """
      geo:
        nets:
          - {cidr: 198.51.100.0/24, latitude: 39.0, longitude: -77.5, country: US, continent: NA}
          - {cidr: 203.0.113.0/24, latitude: 50.1, longitude: 8.7, country: DE, continent: EU}
      dns:
        zones:
          - origin: example.test.
            ttl: 30s
            names:
              - name: www
              - name: us-only
                geofences:
                  - {continents: [NA], regions: [us-west]}
      """;

  @Test
  void explainsAClientForDnsAndHttp(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "demand_estimates: {39N78W: 400}\n",
        TestDeployment.tokensYaml() + GEO, TestDeployment.regionsWithDns())) {
      d.report(List.of("vp-frankfurt", "vp-virginia"), List.of());
      d.evaluate();
      JsonObject x = explain(d, "198.51.100.7");
      String zone = Zones.id(Zones.indexOf(39.0, -77.5));
      assertEquals(zone, x.getString("zone"), x.encodePrettily());
      assertEquals("NETS_OVERRIDE", x.getJsonObject("location").getString("source"));
      assertEquals("US", x.getJsonObject("location").getString("country"));
      assertEquals("us-east", x.getJsonObject("http").getString("read"), x.encodePrettily());
      assertEquals("us-east", dns(x, "www.example.test.").getString("choice"), x.encodePrettily());
      // the geofence of us-only covers North America: only us-west may answer
      JsonObject fenced = dns(x, "us-only.example.test.");
      assertEquals("us-west", fenced.getString("choice"), fenced.encode());
      assertEquals(new JsonArray().add("us-west"), fenced.getJsonArray("fence"));
      assertEquals("us-east", x.getJsonArray("candidates").getJsonObject(0).getString("region"));
      assertTrue(x.getJsonArray("planner").getString(0).startsWith("zone " + zone + ": demand 400.0 rps"),
          x.encodePrettily());

      // a subnet is located by its network address; the Frankfurt one is outside the fence
      JsonObject eu = explain(d, "203.0.113.0/24");
      assertEquals("203.0.113.0", eu.getString("address"));
      assertEquals(24, eu.getInteger("prefix"));
      assertEquals("eu-west", eu.getJsonObject("http").getString("read"));
      assertEquals("eu-west", dns(eu, "us-only.example.test.").getString("choice"), "no fence for Europe");

      // after us-east fails, the same client is sent elsewhere, and the answer is the data planes' own choice
      d.report(List.of("vp-frankfurt", "vp-virginia"), List.of("us-east"));
      d.evaluate();
      x = explain(d, "198.51.100.7");
      String now = x.getJsonObject("http").getString("read");
      int key = io.meridian.core.ClientKey.of(java.net.InetAddress.getByName("198.51.100.7").getAddress());
      var plan = d.bus.currentPlan();
      assertEquals(plan.topology().id(RegionSelector.choose(plan, Zones.parse(zone), key,
          RegionSelector.Constraint.NONE)), now);
      assertTrue(!now.equals("us-east"), x.encodePrettily());
      assertEquals(plan.version(), x.getLong("plan_version"));

      // an address no override or database knows
      JsonObject unknown = explain(d, "192.0.2.1");
      assertEquals("unknown", unknown.getString("zone"));
      assertNull(unknown.getJsonObject("location"));
      assertTrue(dns(unknown, "www.example.test.").getString("why").startsWith("not located: GeoDNS applies"
          + " dns.unlocated"), unknown.encodePrettily());
    }
  }

  @Test
  void refusesWhatIsNotAnAddress(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "", TestDeployment.tokensYaml() + GEO, TestDeployment.regionsWithDns())) {
      d.evaluate();
      for (String bad : List.of("example.com", "198.51.100.7/33", "1.2.3", "", "::1/129")) {
        var r = d.call("GET", "/v1/plan/explain?client=" + java.net.URLEncoder.encode(bad,
            java.nio.charset.StandardCharsets.UTF_8), "viewer-token", null, null);
        assertEquals(400, r.status(), bad + ": " + r.body().encode());
        assertEquals("client", r.body().getString("field"), r.body().encode());
      }
      assertEquals(401, d.call("GET", "/v1/plan/explain?client=198.51.100.7", null, null, null).status());
      assertEquals(400, d.call("GET", "/v1/plan/explain?client=198.51.100.7&zone=39N78W", "viewer-token", null,
          null).status());
    }
  }

  private static JsonObject explain(TestDeployment d, String client) throws Exception {
    var r = d.call("GET", "/v1/plan/explain?client=" + java.net.URLEncoder.encode(client,
        java.nio.charset.StandardCharsets.UTF_8), "viewer-token", null, null);
    assertEquals(200, r.status(), r.body().encode());
    return r.body();
  }

  private static JsonObject dns(JsonObject x, String name) {
    for (Object o : x.getJsonArray("dns")) {
      if (((JsonObject) o).getString("name").equals(name)) {
        return (JsonObject) o;
      }
    }
    throw new AssertionError("no " + name + " in " + x.encodePrettily());
  }
}
