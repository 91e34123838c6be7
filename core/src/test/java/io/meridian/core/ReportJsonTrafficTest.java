package io.meridian.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Traffic reports across processes: offered rates survive JSON; a report of an earlier release reads as none. */
class ReportJsonTrafficTest {

  @Test
  void offeredRatesRoundTripAndAreOptional() {
    TrafficReport r = new TrafficReport("proxy-a", Instant.parse("2024-01-01T00:00:00Z"), Map.of("50N8E", 3.0),
        Map.of("eu-west", 2.0), Map.of("eu-west", 0.0), Map.of("eu-west", 0), Map.of("eu-west", 5.5));
    JsonObject json = new JsonObject(ReportJson.toJson(r).encode());
    assertEquals(r, ReportJson.trafficFromJson(json));
    json.remove("region_offered_rps");
    TrafficReport old = ReportJson.trafficFromJson(json);
    assertTrue(old.regionOfferedRps().isEmpty());
    assertEquals(r.regionRps(), old.regionRps());
  }

  @Test
  void aGoneReporterIsAnEmptyReport() {
    assertTrue(new TrafficReport("x", Instant.now(), Map.of(), Map.of(), Map.of(), Map.of()).isEmpty());
    assertTrue(!new TrafficReport("x", Instant.now(), Map.of(), Map.of(), Map.of(), Map.of(),
        Map.of("eu-west", 1.0)).isEmpty());
  }
}
