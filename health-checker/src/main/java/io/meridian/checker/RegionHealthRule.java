package io.meridian.checker;

import io.meridian.core.Health;

/**
 * A region's health from its endpoints, with an overprovisioning factor as Envoy's priority-level health: a
 * region is {@link Health#HEALTHY} while healthy% × factor ≥ 100 %, so with the default factor 1.4 one bad
 * host of ten (90 % × 1.4 = 126 %) or even two of seven leave it fully serving; below that it is
 * {@link Health#DEGRADED} (the planner gives it a reduced share); with no endpoint up it is
 * {@link Health#FAILED}. Endpoints without a verdict yet are left out of the fraction, so a checker that has
 * just started does not briefly call every region degraded.
 */
public final class RegionHealthRule {
  private RegionHealthRule() {}

  public static Health evaluate(int up, int down, double overprovisioningFactor) {
    if (up < 0 || down < 0) {
      throw new IllegalArgumentException("up: " + up + ", down: " + down + " (expected: >= 0)");
    }
    int known = up + down;
    if (known == 0) {
      return Health.UNKNOWN;
    }
    if (up == 0) {
      return Health.FAILED;
    }
    // integer arithmetic would do, but factor is fractional: compare up × factor with the total directly
    return up * overprovisioningFactor >= known ? Health.HEALTHY : Health.DEGRADED;
  }

  /** The share of its traffic a region in this state can take: min(1, healthy fraction × factor). */
  public static double capacityShare(int up, int down, double overprovisioningFactor) {
    int known = up + down;
    return known == 0 ? 1.0 : Math.min(1.0, up * overprovisioningFactor / known);
  }
}
