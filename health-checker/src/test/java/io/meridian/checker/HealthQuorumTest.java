package io.meridian.checker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.HealthCheckConfig;
import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.meridian.core.TrafficReport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Combining vantage points: majority, stale reports as unknown, the cut-off vantage point discounted, passive. */
class HealthQuorumTest {
  static final Instant NOW = Instant.parse("2025-01-01T00:00:10Z");
  static final List<String> REGIONS = List.of("us-east", "eu-west", "ap-south");
  final HealthQuorum majority = HealthQuorum.of(0, HealthCheckConfig.Passive.defaults());

  /** A report from {@code vp}: one letter per region, H healthy, D degraded, F failed, U unknown. */
  static HealthReport report(String vp, String states, boolean fresh) {
    List<HealthReport.RegionReport> rs = new ArrayList<>();
    for (int i = 0; i < REGIONS.size(); i++) {
      Health h = switch (states.charAt(i)) {
        case 'H' -> Health.HEALTHY;
        case 'D' -> Health.DEGRADED;
        case 'F' -> Health.FAILED;
        default -> Health.UNKNOWN;
      };
      rs.add(new HealthReport.RegionReport(REGIONS.get(i), h, h == Health.FAILED ? 0 : 1, 1, NOW, "", Map.of()));
    }
    Instant at = fresh ? NOW.minusMillis(100) : NOW.minusSeconds(5);
    return new HealthReport(vp, 1, at, at.plusSeconds(1), rs);
  }

  private Map<String, Health> combine(HealthQuorum q, List<HealthReport> reports, List<TrafficReport> traffic) {
    Map<String, Health> out = new java.util.LinkedHashMap<>();
    q.evaluate(REGIONS, reports, traffic, NOW).forEach((k, v) -> out.put(k, v.health()));
    return out;
  }

  private String combine(List<HealthReport> reports) {
    StringBuilder sb = new StringBuilder();
    for (Health h : combine(majority, reports, List.of()).values()) {
      sb.append(h.name().charAt(0));
    }
    return sb.toString();
  }

  @Test
  void majorityDecides() {
    assertEquals("HHH", combine(List.of(report("a", "HHH", true), report("b", "HHH", true), report("c", "HHH", true))));
    assertEquals("FHH", combine(List.of(report("a", "FHH", true), report("b", "FHH", true), report("c", "HHH", true))));
    assertEquals("HHH", combine(List.of(report("a", "FHH", true), report("b", "HHH", true), report("c", "HHH", true))),
        "one vantage point alone cannot fail a region");
    assertEquals("DHH", combine(List.of(report("a", "FHH", true), report("b", "DHH", true), report("c", "HHH", true))));
  }

  @Test
  void staleReportsAbstainButStillCountInTheDenominator() {
    // b and c are stale: a alone (1 of 3) cannot reach the majority of 2
    assertEquals("HHH", combine(List.of(report("a", "FHH", true), report("b", "HHH", false),
        report("c", "HHH", false))));
    // stale reports saying FAILED are not "down" either
    assertEquals("HHH", combine(List.of(report("a", "HHH", true), report("b", "FFH", false),
        report("c", "FFH", false))));
    // nothing fresh at all: unknown
    assertEquals("UUU", combine(List.of(report("a", "FFF", false))));
  }

  @Test
  void vantagePointThatSeesEverythingDownIsDiscounted() {
    // c is cut off; a and b see all healthy
    assertEquals("HHH", combine(List.of(report("a", "HHH", true), report("b", "HHH", true), report("c", "FFF", true))));
    // c is cut off while us-east really fails: a and b (2 of the 2 counted) fail it
    Map<String, HealthQuorum.Verdict> v = majority.evaluate(REGIONS, List.of(report("a", "FHH", true),
        report("b", "FHH", true), report("c", "FFF", true)), List.of(), NOW);
    assertEquals(Health.FAILED, v.get("us-east").health());
    assertEquals(List.of("c"), v.get("us-east").discounted());
    assertEquals(2, v.get("us-east").needed());
    // with only a and c, a alone is the whole counted electorate
    assertEquals("FHH", combine(List.of(report("a", "FHH", true), report("c", "FFF", true))));
    // everyone sees everything down: nothing to tell them apart — and failing every region would move no traffic
    // anywhere, so the quorum fails open (see failOpenWhenEveryRegionWouldFail)
    assertEquals("UUU", combine(List.of(report("a", "FFF", true), report("b", "FFF", true))));
  }

  @Test
  void failOpenWhenEveryRegionWouldFail() {
    // every vantage point on a degraded network times out everywhere: nothing is failed by probes
    // (no single one sees everything down, so none is discounted; but a majority fails each region)
    Map<String, HealthQuorum.Verdict> v = majority.evaluate(REGIONS, List.of(report("a", "FFH", true),
        report("b", "FHF", true), report("c", "HFF", true)), List.of(), NOW);
    v.values().forEach(x -> assertEquals(Health.UNKNOWN, x.health(), x.reason()));
    assertTrue(v.get("us-east").reason().startsWith("fail open: probes fail every region at once"),
        v.get("us-east").reason());
    assertTrue(v.get("us-east").health().serves());
    // two of three failed is an ordinary failover
    assertEquals("FFH", combine(List.of(report("a", "FFH", true), report("b", "FFH", true), report("c", "FFH", true))));
    // real traffic failing still fails a region while the probes are not believed
    TrafficReport failing = new TrafficReport("proxy-1", NOW.minusMillis(100), Map.of(),
        Map.of("eu-west", 50.0), Map.of("eu-west", 0.9), Map.of());
    v = majority.evaluate(REGIONS, List.of(report("a", "FFF", true), report("b", "FFF", true)), List.of(failing),
        NOW);
    assertEquals(Health.FAILED, v.get("eu-west").health(), v.get("eu-west").reason());
    assertEquals(Health.UNKNOWN, v.get("us-east").health());
    // one region alone is believed: it cannot be told from a checker problem, and there is no other to fail to
    assertEquals(Health.FAILED, majority.evaluate(List.of("us-east"), List.of(report("a", "FHH", true)), List.of(),
        NOW).get("us-east").health());
  }

  @Test
  void explicitQuorum() {
    HealthQuorum q3 = HealthQuorum.of(3, HealthCheckConfig.Passive.defaults());
    List<HealthReport> two = List.of(report("a", "FHH", true), report("b", "FHH", true), report("c", "HHH", true));
    assertEquals(Health.HEALTHY, combine(q3, two, List.of()).get("us-east"));
    HealthQuorum q1 = HealthQuorum.of(1, HealthCheckConfig.Passive.defaults());
    assertEquals(Health.FAILED, combine(q1, List.of(report("a", "FHH", true), report("b", "HHH", true)), List.of())
        .get("us-east"));
  }

  @Test
  void passiveSignalsCatchARegionThatPassesProbesButFailsTraffic() {
    List<HealthReport> healthy = List.of(report("a", "HHH", true), report("b", "HHH", true));
    TrafficReport failing = new TrafficReport("proxy-1", NOW.minusSeconds(1), Map.of(),
        Map.of("us-east", 50.0, "eu-west", 40.0, "ap-south", 0.5),
        Map.of("us-east", 0.9, "eu-west", 0.25, "ap-south", 1.0), Map.of("ap-south", 0));
    Map<String, HealthQuorum.Verdict> v = majority.evaluate(REGIONS, healthy, List.of(failing), NOW);
    assertEquals(Health.FAILED, v.get("us-east").health());
    assertTrue(v.get("us-east").reason().contains("passive: failing 90% of 50.0 req/s"), v.get("us-east").reason());
    assertEquals(Health.DEGRADED, v.get("eu-west").health());
    assertEquals(Health.HEALTHY, v.get("ap-south").health(), "0.5 req/s is below min_rps: noise");

    TrafficReport ejecting = new TrafficReport("proxy-1", NOW.minusSeconds(1), Map.of(), Map.of(), Map.of(),
        Map.of("eu-west", 2));
    assertEquals(Health.DEGRADED, combine(majority, healthy, List.of(ejecting)).get("eu-west"));

    TrafficReport old = new TrafficReport("proxy-1", NOW.minus(Duration.ofSeconds(6)), Map.of(),
        Map.of("us-east", 50.0), Map.of("us-east", 0.9), Map.of());
    assertEquals(Health.HEALTHY, combine(majority, healthy, List.of(old)).get("us-east"), "expired traffic report");
  }

  @Test
  void watermarksAreCollectedPerRegion() {
    HealthReport a = new HealthReport("a", 1, NOW, NOW.plusSeconds(1), List.of(new HealthReport.RegionReport(
        "us-east", Health.HEALTHY, 1, 1, NOW, "", Map.of("eu-west", 120L, "ap-south", 7L))));
    HealthReport b = new HealthReport("b", 1, NOW, NOW.plusSeconds(1), List.of(new HealthReport.RegionReport(
        "us-east", Health.HEALTHY, 1, 1, NOW, "", Map.of("eu-west", 125L))));
    Map<String, HealthQuorum.Verdict> v = majority.evaluate(List.of("us-east"), List.of(a, b), List.of(),
        NOW.minusMillis(1));
    assertEquals(Map.of("eu-west", 125L, "ap-south", 7L), v.get("us-east").watermarks());
  }

  @Test
  void latestReportsKeepsTheNewestPerVantagePoint() {
    LatestReports l = LatestReports.create();
    HealthReport newer = new HealthReport("a", 5, NOW, NOW.plusSeconds(1), List.of());
    HealthReport older = new HealthReport("a", 4, NOW.minusSeconds(1), NOW, List.of());
    l.accept(newer);
    l.accept(older);
    assertEquals(List.of(newer), List.copyOf(l.health()));
    HealthReport restarted = new HealthReport("a", 1, NOW.plusSeconds(1), NOW.plusSeconds(2), List.of());
    l.accept(restarted);
    assertEquals(List.of(restarted), List.copyOf(l.health()), "a restarted checker starts its sequence again");
  }

  @Test
  void aGoneVantagePointLeavesTheElectorate() {
    // three vantage points, one of them gone (its lease expired): two remain, a majority of two is two
    List<HealthReport> reports = List.of(report("a", "FHH", true), report("b", "HHH", true),
        HealthReport.gone("c", NOW.minusMillis(50)));
    HealthQuorum.Verdict v = majority.evaluate(REGIONS, reports, List.of(), NOW).get("us-east");
    assertEquals(Health.HEALTHY, v.health(), v.reason());
    assertEquals(2, v.needed(), "c no longer counts: majority of the two left");
    reports = List.of(report("a", "FHH", true), report("b", "FHH", true), HealthReport.gone("c", NOW));
    v = majority.evaluate(REGIONS, reports, List.of(), NOW).get("us-east");
    assertEquals(Health.FAILED, v.health(), v.reason());
    assertEquals(List.of("a: ", "b: "), v.failedBy());
    assertTrue(v.reason().startsWith("2 of 2 vantage point(s) see it failed (quorum 2): a: ; b: "), v.reason());
    // a stale (silent but leased) vantage point stays in the denominator: losing reports cannot lower the bar
    v = majority.evaluate(REGIONS, List.of(report("a", "FHH", true), report("b", "HHH", false),
        report("c", "HHH", false)), List.of(), NOW).get("us-east");
    assertEquals(Health.HEALTHY, v.health(), v.reason());
    assertEquals(2, v.needed());
  }

  @Test
  void tooFewVantagePointsJudgeNothing() {
    HealthQuorum atLeastTwo = HealthQuorum.of(0, 2, HealthCheckConfig.Passive.defaults());
    // two of three died: the one left sees us-east failed, but one vantage point alone must not fail a region
    List<HealthReport> alone = List.of(report("a", "FHH", true), HealthReport.gone("b", NOW),
        HealthReport.gone("c", NOW));
    HealthQuorum.Verdict v = atLeastTwo.evaluate(REGIONS, alone, List.of(), NOW).get("us-east");
    assertEquals(Health.UNKNOWN, v.health(), v.reason());
    assertTrue(v.health().serves(), "unknown keeps serving");
    assertTrue(v.reason().contains("only 1 vantage point(s) count (min_vantage_points 2)"), v.reason());
    assertEquals(Health.FAILED, majority.evaluate(REGIONS, alone, List.of(), NOW).get("us-east").health(),
        "with the default minimum of 1 the lone vantage point decides");
    // a second one comes back and agrees
    v = atLeastTwo.evaluate(REGIONS, List.of(report("a", "FHH", true), report("b", "FHH", true)), List.of(), NOW)
        .get("us-east");
    assertEquals(Health.FAILED, v.health(), v.reason());
    // passive evidence from real traffic does not depend on the checkers
    TrafficReport failing = new TrafficReport("proxy-1", NOW.minusMillis(100), Map.of(),
        Map.of("us-east", 50.0), Map.of("us-east", 0.9), Map.of());
    v = atLeastTwo.evaluate(REGIONS, alone, List.of(failing), NOW).get("us-east");
    assertEquals(Health.FAILED, v.health(), v.reason());
  }
}
