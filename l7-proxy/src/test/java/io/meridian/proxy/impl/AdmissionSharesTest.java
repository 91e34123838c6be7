package io.meridian.proxy.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.meridian.core.TrafficReport;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How proxies split a region's allowed rate from their traffic reports (clock moved by the test). */
class AdmissionSharesTest {
  private static final long S = 1_000_000_000L;
  private long now = 1_000 * S;

  private AdmissionShares shares(String self) {
    return new AdmissionShares(self, 5 * S, () -> now);
  }

  private static TrafficReport offered(String source, Map<String, Double> rps) {
    return new TrafficReport(source, Instant.EPOCH, Map.of("50N8E", 1.0), Map.of(), Map.of(), Map.of(), rps);
  }

  private static TrafficReport gone(String source) {
    return new TrafficReport(source, Instant.EPOCH, Map.of(), Map.of(), Map.of(), Map.of());
  }

  @Test
  void aNewProxyTakesOneOverNUntilItsOwnReportComesBack() {
    AdmissionShares a = shares("a");
    assertEquals(1.0, a.share("eu-west"), "alone");
    a.onReport(offered("b", Map.of("eu-west", 100.0)));
    a.onReport(offered("c", Map.of("eu-west", 100.0)));
    assertEquals(1.0 / 3, a.share("eu-west"), 1e-9);
  }

  @Test
  void twoProxiesSplitARegionByWhatTheyOfferItAndTheSharesAddUpToOne() {
    AdmissionShares a = shares("a");
    AdmissionShares b = shares("b");
    for (AdmissionShares x : new AdmissionShares[] {a, b}) {
      x.onReport(offered("a", Map.of("eu-west", 300.0)));
      x.onReport(offered("b", Map.of("eu-west", 100.0)));
    }
    assertEquals(0.75, a.share("eu-west"), 1e-9);
    assertEquals(0.25, b.share("eu-west"), 1e-9);
  }

  @Test
  void aProxyThatSentARegionNothingStillGetsAShareByItsOverallTraffic() {
    AdmissionShares a = shares("a");
    AdmissionShares b = shares("b");
    for (AdmissionShares x : new AdmissionShares[] {a, b}) {
      x.onReport(offered("a", Map.of("us-east", 100.0)));
      x.onReport(offered("b", Map.of("eu-west", 100.0)));
    }
    // a: (0 + 0.1·100) / (0 + 10 + 100 + 10)
    assertEquals(10.0 / 120, a.share("eu-west"), 1e-9);
    assertEquals(1.0, a.share("eu-west") + b.share("eu-west"), 1e-9);
  }

  @Test
  void aPeerWhoseReportIsDeletedLeavesTheWholeLimit() {
    AdmissionShares a = shares("a");
    a.onReport(offered("a", Map.of("eu-west", 100.0)));
    a.onReport(offered("b", Map.of("eu-west", 100.0)));
    assertEquals(0.5, a.share("eu-west"), 1e-9);
    a.onReport(gone("b")); // etcd: lease expired; in-process: b stopped
    assertEquals(1.0, a.share("eu-west"));
  }

  @Test
  void aSilentPeerIsDroppedOnlyWhileOwnReportsStillArrive() {
    AdmissionShares a = shares("a");
    a.onReport(offered("a", Map.of("eu-west", 100.0)));
    a.onReport(offered("b", Map.of("eu-west", 100.0)));
    now += 60 * S; // nothing heard for a minute, own reports included: the bus is down, keep the last shares
    assertEquals(0.5, a.share("eu-west"), 1e-9);
    a.onReport(offered("a", Map.of("eu-west", 100.0))); // the bus works and b said nothing for 3 intervals
    assertEquals(1.0, a.share("eu-west"));
    a.onReport(offered("b", Map.of("eu-west", 100.0)));
    now += 10 * S; // b silent 2 intervals only: still counted
    a.onReport(offered("a", Map.of("eu-west", 100.0)));
    assertEquals(0.5, a.share("eu-west"), 1e-9);
  }

  @Test
  void noTrafficAnywhereSplitsEvenly() {
    AdmissionShares a = shares("a");
    a.onReport(offered("a", Map.of()));
    a.onReport(offered("b", Map.of()));
    assertEquals(0.5, a.share("eu-west"), 1e-9);
  }
}
