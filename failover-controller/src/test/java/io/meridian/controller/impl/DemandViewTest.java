package io.meridian.controller.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import io.meridian.config.ControllerConfig;
import io.meridian.core.TrafficReport;
import io.meridian.core.geo.Zones;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The per-zone blend of measured and estimated demand: estimates survive empty and thin measurements, enough
 * measurement replaces them (below too), and demand relaxes back to the estimate with the configured half-life.
 * Time is passed in; nothing sleeps.
 */
class DemandViewTest {
  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
  private static final String NYC = "40N74W";
  private static final String LONDON = "51N1W";
  private static final int NYC_Z = Zones.parse(NYC);
  private static final int LONDON_Z = Zones.parse(LONDON);

  /** Window 30 s, at least 100 requests in it, half-life 60 s; NYC estimated at 1,000 rps. */
  private static ControllerConfig config() throws Exception {
    return ConfigLoader.parse("m.yaml", """
        regions:
          - {id: us-east, latitude: 39, longitude: -77, capacity_rps: 1000, residency_group: us,
             upstreams: ['http://127.0.0.1:1'], health_check: {url: 'http://127.0.0.1:1/h'}}
        controller:
          demand_estimates: {40N74W: 1000}
          demand_window: 30s
          demand_min_requests: 100
          demand_half_life: 60s
        """, Path.of("/tmp"), Path.of("/tmp/m.yaml")).controller();
  }

  private static TrafficReport report(String proxy, Instant at, Map<String, Double> zones) {
    return new TrafficReport(proxy, at, zones, Map.of(), Map.of(), Map.of());
  }

  @Test
  void estimatesStandFromStartUpAndThroughEmptyReports() throws Exception {
    ControllerConfig cc = config();
    DemandView v = new DemandView();
    assertEquals(Map.of(NYC_Z, 1000.0), v.demand(T0, cc));
    // the all-in-one run: the proxy reports every 5 s, but no client has come yet
    for (int i = 1; i <= 20; i++) {
      v.accept(report("proxy-1", T0.plusSeconds(5L * i), Map.of()));
      assertEquals(Map.of(NYC_Z, 1000.0), v.demand(T0.plusSeconds(5L * i), cc), "after report " + i);
    }
  }

  @Test
  void aThinMeasurementRaisesDemandButCannotLowerAnEstimate() throws Exception {
    ControllerConfig cc = config();
    DemandView v = new DemandView();
    v.accept(report("proxy-1", T0, Map.of()));
    // 2 rps in NYC for 30 s: 60 requests < 100: the estimate stands
    for (int i = 1; i <= 6; i++) {
      v.accept(report("proxy-1", T0.plusSeconds(5L * i), Map.of(NYC, 2.0, LONDON, 2.0)));
    }
    TreeMap<Integer, Double> d = v.demand(T0.plusSeconds(30), cc);
    assertEquals(1000.0, d.get(NYC_Z), 1e-9);
    // London has no estimate: whatever is measured is more than the nothing known
    assertEquals(2.0, d.get(LONDON_Z), 1e-9);
  }

  @Test
  void enoughMeasurementReplacesTheEstimateEvenBelowIt() throws Exception {
    ControllerConfig cc = config();
    DemandView v = new DemandView();
    v.accept(report("proxy-1", T0, Map.of(NYC, 30.0)));
    // the first report's interval is unknown: it counts no requests, the estimate stands
    assertEquals(1000.0, v.demand(T0, cc).get(NYC_Z), 1e-9);
    v.accept(report("proxy-1", T0.plusSeconds(5), Map.of(NYC, 30.0))); // 150 requests
    assertEquals(30.0, v.demand(T0.plusSeconds(5), cc).get(NYC_Z), 1e-9);
  }

  @Test
  void demandIsSummedOverLiveProxiesAndTheSampleOverAllOfThem() throws Exception {
    ControllerConfig cc = config();
    DemandView v = new DemandView();
    v.accept(report("proxy-1", T0, Map.of()));
    v.accept(report("proxy-2", T0, Map.of()));
    // 12 rps each for 5 s: 60 + 60 requests, neither proxy alone has enough, together they do
    v.accept(report("proxy-1", T0.plusSeconds(5), Map.of(NYC, 12.0)));
    assertEquals(1000.0, v.demand(T0.plusSeconds(5), cc).get(NYC_Z), 1e-9);
    v.accept(report("proxy-2", T0.plusSeconds(5), Map.of(NYC, 12.0)));
    assertEquals(24.0, v.demand(T0.plusSeconds(5), cc).get(NYC_Z), 1e-9);
    // a re-sent report is the same interval, not 60 requests more; an older one is ignored
    v.accept(report("proxy-2", T0.plusSeconds(5), Map.of(NYC, 12.0)));
    v.accept(report("proxy-2", T0.plusSeconds(1), Map.of(NYC, 500.0)));
    assertEquals(24.0, v.demand(T0.plusSeconds(5), cc).get(NYC_Z), 1e-9);
  }

  @Test
  void whenProxiesFallSilentDemandRelaxesToTheEstimateWithTheHalfLife() throws Exception {
    ControllerConfig cc = config();
    DemandView v = new DemandView();
    v.accept(report("proxy-1", T0, Map.of(NYC, 3000.0, LONDON, 400.0)));
    v.accept(report("proxy-1", T0.plusSeconds(5), Map.of(NYC, 3000.0, LONDON, 400.0)));
    TreeMap<Integer, Double> d = v.demand(T0.plusSeconds(5), cc);
    assertEquals(3000.0, d.get(NYC_Z), 1e-9);
    assertEquals(400.0, d.get(LONDON_Z), 1e-9);
    // still the last measurement while the report is within the window
    assertEquals(3000.0, v.demand(T0.plusSeconds(35), cc).get(NYC_Z), 1e-9);
    // 60 s (one half-life) after the report left the window: halfway back to the estimate, not 0
    d = v.demand(T0.plusSeconds(95), cc);
    assertEquals(1000 + 2000 * 0.5, d.get(NYC_Z), 1e-6);
    assertEquals(200.0, d.get(LONDON_Z), 1e-6, "no estimate: relaxes towards 0");
    // the result does not depend on how often it is asked: one more half-life in 7 calls or in one
    DemandView once = new DemandView();
    once.accept(report("proxy-1", T0, Map.of(NYC, 3000.0)));
    once.accept(report("proxy-1", T0.plusSeconds(5), Map.of(NYC, 3000.0)));
    once.demand(T0.plusSeconds(35), cc);
    for (int s = 105; s <= 155; s += 10) {
      v.demand(T0.plusSeconds(s), cc);
    }
    assertEquals(1000 + 2000 * 0.25, v.demand(T0.plusSeconds(155), cc).get(NYC_Z), 1e-6);
    assertEquals(1000 + 2000 * 0.25, once.demand(T0.plusSeconds(155), cc).get(NYC_Z), 1e-6);
    // long after: the estimate, and London (no estimate) forgotten
    d = v.demand(T0.plusSeconds(3600), cc);
    assertEquals(1000.0, d.get(NYC_Z), 1e-6);
    assertFalse(d.containsKey(LONDON_Z), d.toString());
  }

  @Test
  void whenTrafficStopsTheMeasuredDropStandsOnlyWhileItsSampleDoes() throws Exception {
    ControllerConfig cc = config();
    DemandView v = new DemandView();
    v.accept(report("proxy-1", T0, Map.of(NYC, 50.0)));
    v.accept(report("proxy-1", T0.plusSeconds(5), Map.of(NYC, 50.0))); // 250 requests
    assertEquals(50.0, v.demand(T0.plusSeconds(5), cc).get(NYC_Z), 1e-9);
    v.accept(report("proxy-1", T0.plusSeconds(10), Map.of())); // NYC's clients are gone
    assertFalse(v.demand(T0.plusSeconds(10), cc).containsKey(NYC_Z), "measured with 250 requests in the window");
    // evaluated every 5 s: the 250 requests stay in the window until 35 s, then demand relaxes from 0
    // back towards 1,000 with the half-life
    for (int s = 15; s <= 35; s += 5) {
      v.accept(report("proxy-1", T0.plusSeconds(s), Map.of()));
      assertFalse(v.demand(T0.plusSeconds(s), cc).containsKey(NYC_Z), "at " + s + " s");
    }
    for (int s = 40; s < 95; s += 5) {
      v.accept(report("proxy-1", T0.plusSeconds(s), Map.of()));
      v.demand(T0.plusSeconds(s), cc);
    }
    v.accept(report("proxy-1", T0.plusSeconds(95), Map.of()));
    double d = v.demand(T0.plusSeconds(95), cc).get(NYC_Z);
    assertEquals(1000 * (1 - Math.pow(0.5, 60 / 60.0)), d, 1e-6);
    assertTrue(d < 1000);
  }

  @Test
  void everyZoneIdTheCodeMakesIsAnEstimateKeyThatRoundTrips() throws Exception {
    StringBuilder yaml = new StringBuilder("""
        regions:
          - {id: us-east, latitude: 39, longitude: -77, capacity_rps: 1000, residency_group: us,
             upstreams: ['http://127.0.0.1:1'], health_check: {url: 'http://127.0.0.1:1/h'}}
        controller:
          demand_estimates:
        """);
    Map<Integer, Double> expected = new java.util.HashMap<>();
    for (int z = 0; z < Zones.COUNT; z++) {
      String id = Zones.id(z);
      assertEquals(z, Zones.parse(id), id);
      assertTrue(ControllerConfig.isZoneId(id), id); // the key's validation, for every id
      int lat = z / 360 - 90;
      int lon = z % 360 - 180;
      // a whole config with all 64,800 takes seconds to load: the edges (poles, equator, antimeridian, prime
      // meridian) and every 7th zone go through the loader and the demand view
      if (lat == -90 || lat == 89 || lat == 0 || lat == -1 || lon == -180 || lon == 179 || lon == 0 || lon == -1
          || z % 7 == 0) {
        yaml.append("    ").append(id).append(": ").append(z + 1).append('\n');
        expected.put(z, z + 1.0);
      }
    }
    ControllerConfig cc = ConfigLoader.parse("m.yaml", yaml.toString(), Path.of("/tmp"), Path.of("/tmp/m.yaml"))
        .controller();
    assertEquals(expected.size(), cc.demandEstimates().size());
    assertEquals(expected, new DemandView().demand(T0, cc));
    // the corners named in the issue
    assertEquals(Zones.indexOf(10.5, -180), Zones.parse("10N180W"));
    assertEquals(Zones.indexOf(-90, 0), Zones.parse("90S0E"));
  }

  @Test
  void namesOfNoCellAreNotZoneIds() {
    for (String bad : new String[] {"90N0E", "0N180E", "91S0E", "0N181W", "0S5E", "5N0W", "05N5E", "5N05E",
        "5n5e", "5N5", "N5E", ""}) {
      assertFalse(ControllerConfig.isZoneId(bad), bad);
    }
    assertEquals(Duration.ofMinutes(1), ControllerConfig.defaults().demandHalfLife());
    assertEquals(100, ControllerConfig.defaults().demandMinRequests());
  }
}
