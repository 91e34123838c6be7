package io.meridian.checker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.meridian.core.Health;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Region health from the fraction of endpoints up, with Envoy's overprovisioning factor. */
class RegionHealthRuleTest {

  @ParameterizedTest(name = "{0} up, {1} down, factor {2} -> {3}")
  @CsvSource({
      "0, 0, 1.4, UNKNOWN",
      "1, 0, 1.4, HEALTHY",
      "0, 1, 1.4, FAILED",
      "0, 10, 1.4, FAILED",
      "9, 1, 1.4, HEALTHY",   // one bad host of ten does not degrade: 90% x 1.4 = 126%
      "8, 2, 1.4, HEALTHY",   // 80% x 1.4 = 112%
      "7, 3, 1.4, DEGRADED",  // 70% x 1.4 = 98%
      "5, 2, 1.4, HEALTHY",   // 71.4% x 1.4 = 100%
      "1, 1, 1.4, DEGRADED",
      "9, 1, 1.0, DEGRADED",  // factor 1: any loss degrades
      "1, 9, 10, HEALTHY",
  })
  void rule(int up, int down, double factor, Health expected) {
    assertEquals(expected, RegionHealthRule.evaluate(up, down, factor));
  }

  @ParameterizedTest
  @CsvSource({"7, 3, 1.4, 0.98", "9, 1, 1.4, 1.0", "0, 4, 1.4, 0.0", "0, 0, 1.4, 1.0"})
  void capacityShare(int up, int down, double factor, double expected) {
    assertEquals(expected, RegionHealthRule.capacityShare(up, down, factor), 1e-9);
  }
}
