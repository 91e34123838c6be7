package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Lifecycle;
import io.meridian.core.RegionSelector;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.Zones;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slow start bounds the share of clients, not only capacity: at ramp step k of 4 a recovering region serves about
 * k/4 of the clients of its zones — with and without a weighted route, asked through the one selector the data
 * planes use — and the clients it has taken back stay with it at the next step.
 */
@ExtendWith(VertxExtension.class)
class RampBoundsClientShareTest {
  /** 160 rps near us-east: far below its step-1 capacity cap (1000 × 0.8 × 0.25 = 200 rps). */
  private static final String CONTROLLER = """
      failback_hold_down: 30s
      ramp_steps: 4
      ramp_interval: 10s
      demand_estimates: {39N78W: 40, 38N77W: 40, 40N75W: 40, 40N74W: 40, 41N96W: 100}
      """;
  private static final List<String> VPS = List.of("vp-a", "vp-b", "vp-c");
  /** Zones with demand (weighted routes) and one without (nearest-first walk), all nearest to us-east. */
  private static final List<String> US_EAST_ZONES = List.of("39N78W", "38N77W", "40N75W", "40N74W", "35N80W");
  private static final int CLIENTS = 20_000;

  @Test
  void eachRampStepServesItsFractionOfTheRegionsClients(Vertx vertx, @TempDir Path dir) throws Exception {
    int[] hashes = new SplittableRandom(14).ints(CLIENTS).toArray();
    try (TestDeployment d = new TestDeployment(vertx, dir, CONTROLLER, "")) {
      d.report(VPS, List.of());
      RoutingPlan healthy = d.evaluate();
      for (String zone : US_EAST_ZONES) {
        assertEquals(1.0, servedBy(healthy, zone, "us-east", hashes, null), 1e-9, zone + " is us-east's");
      }
      d.report(VPS, List.of("us-east"));
      assertEquals(Lifecycle.FAILED, d.evaluate().region("us-east").lifecycle());
      d.report(VPS, List.of());
      d.evaluate();
      d.clock.advance(Duration.ofSeconds(30));
      d.report(VPS, List.of());

      BitSet before = null;
      for (int step = 1; step <= 4; step++) {
        RoutingPlan p = d.evaluate();
        RegionState usEast = p.region("us-east");
        assertEquals(step < 4 ? Lifecycle.RECOVERING : Lifecycle.ACTIVE, usEast.lifecycle(), "step " + step);
        assertEquals(step / 4.0, usEast.trafficShare(), 1e-9);
        assertEquals(160 * step / 4.0, usEast.loadRps(), 1e-6, "planned load follows the share");
        for (RegionState r : p.regions()) {
          assertTrue(r.loadRps() <= r.capacityRps() * 0.8 * r.trafficShare() + 1e-6, r.toString());
        }
        BitSet now = new BitSet();
        for (String zone : US_EAST_ZONES) {
          double served = servedBy(p, zone, "us-east", hashes, now);
          assertEquals(step / 4.0, served, 0.02, "step " + step + ", zone " + zone + " (weighted route: "
              + (p.zones().get(Zones.parse(zone)) != null) + ")");
        }
        if (before != null) {
          BitSet lost = (BitSet) before.clone();
          lost.andNot(now);
          assertTrue(lost.isEmpty(), lost.cardinality() + " clients taken back at the last step moved away again");
        }
        before = now;
        d.clock.advance(Duration.ofSeconds(10));
        d.report(VPS, List.of());
      }
    }
  }

  /** Fraction of the clients of {@code zone} the selector sends to {@code region}; marks them in {@code seen}. */
  private static double servedBy(RoutingPlan plan, String zone, String region, int[] hashes, BitSet seen) {
    int z = Zones.parse(zone);
    int target = plan.topology().indexOf(region);
    int offset = US_EAST_ZONES.indexOf(zone) * CLIENTS;
    int n = 0;
    for (int i = 0; i < hashes.length; i++) {
      if (RegionSelector.choose(plan, z, hashes[i], RegionSelector.Constraint.NONE) == target) {
        n++;
        if (seen != null) {
          seen.set(offset + i);
        }
      }
    }
    return n / (double) hashes.length;
  }
}
