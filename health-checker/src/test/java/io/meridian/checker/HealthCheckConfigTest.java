package io.meridian.checker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.meridian.config.ConfigException;
import io.meridian.config.HealthCheckConfig;
import io.meridian.config.HealthCheckConfig.ProbeKind;
import io.meridian.config.MeridianConfig;
import io.meridian.config.RegionConfig;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The health_check keys (global and per region): {input, expected error} with file, line and path. */
class HealthCheckConfigTest {
  private static final String REGION_HEAD = "regions:\n  - id: us-east\n    latitude: 40\n    longitude: -74\n"
      + "    capacity_rps: 100\n    upstreams: [http://127.0.0.1:1]\n";

  private static String withChecks(String regionCheck, String global) {
    return REGION_HEAD + "    health_check:\n" + regionCheck + (global.isEmpty() ? "" : "health_check:\n" + global);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      no url nor endpoints        | '      endpoints: []\\n' | '' | test.yaml:8 regions[0].health_check: must give url or endpoints (e.g. url: http://10.0.0.1:8080/health)
      two kinds in one endpoint   | '      endpoints:\\n        - http: http://a:1/\\n          tcp: a:2\\n' | '' | test.yaml:9 regions[0].health_check.endpoints[0]: must have exactly one of http, tcp or dns, got [http, tcp]
      tcp without port            | '      endpoints:\\n        - tcp: db.internal\\n' | '' | test.yaml:9 regions[0].health_check.endpoints[0].tcp: must be host:port with a port 1-65535 (e.g. 10.0.0.1:5432), got 'db.internal'
      bad status range            | '      endpoints:\\n        - http: http://a:1/\\n          expect_status: [200-299, 600]\\n' | '' | test.yaml:10 regions[0].health_check.endpoints[0].expect_status: must be a status code or range like 200 or 200-399, got '600'
      tcp with http option        | '      endpoints:\\n        - tcp: a:1\\n          body_match: ok\\n' | '' | test.yaml:10 regions[0].health_check.endpoints[0].body_match: unknown key; expected one of [tcp]
      dns without query           | '      endpoints:\\n        - dns: 10.0.0.1:53\\n' | '' | test.yaml:9 regions[0].health_check.endpoints[0].query: is required
      dns bad type                | '      endpoints:\\n        - dns: 10.0.0.1:53\\n          query: a.example\\n          type: XYZ\\n' | '' | test.yaml:11 regions[0].health_check.endpoints[0].type: must be one of [A, AAAA, CNAME, MX, NS, SOA, SRV, TXT], got 'XYZ'
      both vantage keys           | '      url: http://a:1/\\n' | '  vantage_point: a\\n  vantage_points: [b]\\n' | test.yaml:11 health_check.vantage_points: give either vantage_point or vantage_points, not both
      duplicate vantage point     | '      url: http://a:1/\\n' | '  vantage_points: [a, a]\\n' | test.yaml:10 health_check.vantage_points[1]: duplicate vantage point 'a'
      quorum above vantage points | '      url: http://a:1/\\n' | '  vantage_points: [a, b]\\n  quorum: 3\\n' | test.yaml:11 health_check.quorum: must not exceed the number of vantage_points (2), got 3
      report ttl too short        | '      url: http://a:1/\\n' | '  report_interval: 200ms\\n  report_ttl: 300ms\\n' | test.yaml:11 health_check.report_ttl: must be at least 400ms, got 300ms
      factor below one            | '      url: http://a:1/\\n' | '  overprovisioning_factor: 0.5\\n' | test.yaml:10 health_check.overprovisioning_factor: must be between 1 and 100, got 0.5
      hold-down max below base    | '      url: http://a:1/\\n' | '  flap_hold_down: 10s\\n  flap_hold_down_max: 5s\\n' | test.yaml:11 health_check.flap_hold_down_max: must be at least flap_hold_down (10s), got 5s
      passive rates inverted      | '      url: http://a:1/\\n' | '  passive:\\n    degraded_error_rate: 0.6\\n    failed_error_rate: 0.3\\n' | test.yaml:12 health_check.passive.failed_error_rate: must be at least degraded_error_rate (0.6), got 0.3
      interval below minimum      | '      url: http://a:1/\\n' | '  interval: 50ms\\n' | test.yaml:10 health_check.interval: must be at least 100ms, got 50ms
      min vantage points too many | '      url: http://a:1/\\n' | '  vantage_points: [a, b]\\n  min_vantage_points: 3\\n' | test.yaml:11 health_check.min_vantage_points: must not exceed the number of vantage_points (2), got 3
      fall timeouts below fall    | '      url: http://a:1/\\n' | '  fall: 3\\n  fall_timeouts: 2\\n' | test.yaml:11 health_check.fall_timeouts: must be at least fall (3): a timeout is weaker evidence than a refused connection, got 2
      timeout max below timeout   | '      url: http://a:1/\\n' | '  timeout: 400ms\\n  timeout_max: 300ms\\n' | test.yaml:11 health_check.timeout_max: must be at least timeout (400ms), got 300ms
      """)
  void rejects(String name, String regionCheck, String global, String expected) {
    String yaml = withChecks(regionCheck.replace("\\n", "\n"), global.replace("\\n", "\n"));
    ConfigException e = assertThrows(ConfigException.class, () -> CheckerHarness.load(yaml), yaml);
    assertEquals(expected, e.problems().get(0).toString(), e.getMessage());
  }

  @Test
  void parsesEveryProbeKindAndKeepsHealthCheckUrl() throws Exception {
    MeridianConfig c = CheckerHarness.load(withChecks("""
              url: http://10.0.0.1:8080/health
              endpoints:
                - http: https://app.example.com/ready
                  method: HEAD
                  host_header: app.example.com
                  expect_status: [200-299, 304]
                  body_match: ok
                  tls_verify: false
                - tcp: 10.0.0.2:5432
                - dns: 10.0.0.3:53
                  query: app.example.com
                  type: aaaa
            """.indent(6), """
              vantage_points: [us, eu, ap]
              quorum: 2
              user_agent: Acme-GSLB-Check/2
            """.indent(2)));
    RegionConfig r = c.regions().get(0);
    assertEquals(URI.create("http://10.0.0.1:8080/health"), r.healthCheckUrl());
    assertEquals(List.of(ProbeKind.HTTP, ProbeKind.HTTP, ProbeKind.TCP, ProbeKind.DNS),
        r.healthChecks().stream().map(HealthCheckConfig.Endpoint::kind).toList());
    HealthCheckConfig.Endpoint https = r.healthChecks().get(1);
    assertEquals(443, https.port());
    assertEquals("[200-299, 304]", https.expectStatus().toString());
    assertEquals(false, https.tlsVerify());
    assertEquals("tcp://10.0.0.2:5432", r.healthChecks().get(2).name());
    assertEquals("dns://10.0.0.3:53/app.example.com/AAAA", r.healthChecks().get(3).name());
    HealthCheckConfig hc = c.healthCheck();
    assertEquals(List.of("us", "eu", "ap"), hc.vantagePoints());
    assertEquals("us", hc.vantagePoint());
    assertEquals(2, hc.quorum());
    assertEquals("Acme-GSLB-Check/2", hc.userAgent());
    assertEquals(Duration.ofSeconds(1), hc.reportTtl(), "default: four report periods");
  }

  @Test
  void skeletonConstructorsStillWork() {
    RegionConfig r = new RegionConfig("x", 0, 0, 1, "global", List.of(), List.of(), List.of(),
        URI.create("http://127.0.0.1:9/h"));
    assertEquals(1, r.healthChecks().size());
    assertEquals(HealthCheckConfig.defaults().vantagePoints(), List.of("local"));
  }

  @Test
  void crossProcessAndLossyPathDefaults() throws Exception {
    HealthCheckConfig d = CheckerHarness.load(withChecks("      url: http://a:1/\n", "")).healthCheck();
    assertEquals(1, d.minVantagePoints());
    assertEquals(4, d.fallTimeouts(), "a run of timeouts needs four");
    assertEquals(Duration.ofMillis(1500), d.timeoutMax(), "three intervals of 500 ms");
    HealthCheckConfig c = CheckerHarness.load(withChecks("      url: http://a:1/\n",
        "  interval: 1s\n  timeout: 800ms\n  fall: 5\n  vantage_points: [a, b, c]\n  min_vantage_points: 2\n"))
        .healthCheck();
    assertEquals(2, c.minVantagePoints());
    assertEquals(5, c.fallTimeouts(), "never below fall");
    assertEquals(Duration.ofSeconds(3), c.timeoutMax());
  }
}
