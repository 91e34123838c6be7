package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigException;
import io.meridian.config.ConfigLoader;
import io.meridian.config.ControllerConfig;
import io.meridian.config.MeridianConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The controller's, admin's and state store's keys: defaults, and located errors for bad values. */
class ControllerConfigTest {
  private static MeridianConfig parse(String extra) throws ConfigException {
    return ConfigLoader.parse("m.yaml", TestDeployment.REGIONS + extra, Path.of("/tmp"), Path.of("/tmp/m.yaml"));
  }

  @Test
  void defaultsAndValues() throws Exception {
    ControllerConfig d = parse("").controller();
    assertEquals(4, d.rampSteps());
    assertEquals(ControllerConfig.Planner.MIN_COST, d.planner());
    ControllerConfig c = parse("""
        controller:
          ramp_steps: 5
          drain_interval: 2s
          planner: waterfall
          demand_estimates: {50N8E: 120, 17S180W: 4, 90S0E: 1}
          demand_min_requests: 500
          demand_half_life: 5m
          successors: {us-east: us-west}
          latency_ms: {50N8E: {eu-west: 12}}
          home_failover: auto
        """).controller();
    assertEquals(5, c.rampSteps());
    assertEquals(Duration.ofSeconds(2), c.drainInterval());
    assertEquals(ControllerConfig.Planner.WATERFALL, c.planner());
    assertEquals(Map.of("50N8E", 120.0, "17S180W", 4.0, "90S0E", 1.0), c.demandEstimates());
    assertEquals(500, c.demandMinRequests());
    assertEquals(Duration.ofMinutes(5), c.demandHalfLife());
    assertEquals(100, d.demandMinRequests());
    assertEquals(Duration.ofMinutes(1), d.demandHalfLife());
    assertEquals(Map.of("us-east", "us-west"), c.successors());
    assertEquals(Map.of("50N8E", Map.of("eu-west", 12.0)), c.latencyMs());
    assertEquals(ControllerConfig.HomeFailover.AUTO, c.homeFailover());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "controller: {ramp_steps: 0}|controller.ramp_steps: must be between 1 and 100, got 0",
      "controller: {drain_step: 2}|controller.drain_step: must be between 0.01 and 1, got 2",
      "controller: {planner: greedy}|controller.planner: must be one of [min-cost, waterfall], got 'greedy'",
      "controller: {demand_estimates: {north: 5}}|zone must be a 1° cell id like 50N8E",
      "controller: {demand_estimates: {50N8E: -1}}|controller.demand_estimates.50N8E: must be >= 0 requests/s",
      "controller: {demand_estimates: {0N180E: 5}}|or 180W), got '0N180E'",
      "controller: {latency_ms: {90N8E: {eu-west: 3}}}|latitude 0N, 1-89 N or S, or 90S",
      "controller: {demand_min_requests: 0}|controller.demand_min_requests: must be between 1 and 1000000000, got 0",
      "controller: {demand_half_life: 0s}|controller.demand_half_life:",
      "controller: {latency_ms: {50N8E: {eu-west: fast}}}|must be a round-trip time in ms, got 'fast'",
      "controller: {ramp_intervall: 5s}|controller.ramp_intervall: unknown key",
      "admin: {tls: {cert: a.pem}}|admin.tls.key: is required",
  })
  void badValuesAreNamedWithTheirPath(String yaml, String expected) {
    ConfigException e = assertThrows(ConfigException.class, () -> parse(yaml + "\n"));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
