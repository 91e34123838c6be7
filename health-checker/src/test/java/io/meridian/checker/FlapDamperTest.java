package io.meridian.checker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.meridian.core.Health;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Growing hold-down for an oscillating region, decaying when it stays stable (driven with explicit time). */
class FlapDamperTest {
  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
  private final FlapDamper d = FlapDamper.of(Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(60));

  private static Instant at(double seconds) {
    return T0.plusMillis((long) (seconds * 1000));
  }

  @Test
  void firstFailureAndRecoveryAreNotDelayed() {
    assertEquals(Health.HEALTHY, d.apply(Health.HEALTHY, at(0)));
    assertEquals(Health.FAILED, d.apply(Health.FAILED, at(1)));
    assertEquals(Health.HEALTHY, d.apply(Health.HEALTHY, at(2)), "one failure is not a flap");
  }

  @Test
  void repeatedFailuresHoldDownForAGrowingTime() {
    d.apply(Health.HEALTHY, at(0));
    d.apply(Health.FAILED, at(1));
    d.apply(Health.HEALTHY, at(2));
    // second failure: recovery is held for 5 s
    assertEquals(Health.FAILED, d.apply(Health.FAILED, at(3)));
    assertEquals(Health.FAILED, d.apply(Health.HEALTHY, at(4)));
    assertEquals(at(9), d.heldUntil());
    assertEquals(Health.FAILED, d.apply(Health.HEALTHY, at(8.9)));
    assertEquals(Health.HEALTHY, d.apply(Health.HEALTHY, at(9)));
    assertNull(d.heldUntil());
    // third failure: 10 s
    d.apply(Health.FAILED, at(10));
    d.apply(Health.HEALTHY, at(11));
    assertEquals(at(21), d.heldUntil());
    assertEquals(Health.HEALTHY, d.apply(Health.HEALTHY, at(21)));
    // fourth: 20 s; fifth: capped at 30 s
    d.apply(Health.FAILED, at(22));
    d.apply(Health.DEGRADED, at(23));
    assertEquals(at(43), d.heldUntil());
    assertEquals(Health.DEGRADED, d.apply(Health.DEGRADED, at(43)));
    d.apply(Health.FAILED, at(44));
    d.apply(Health.HEALTHY, at(45));
    assertEquals(at(75), d.heldUntil());
  }

  @Test
  void failingAgainDuringHoldDownRestartsIt() {
    d.apply(Health.FAILED, at(0));
    d.apply(Health.HEALTHY, at(1));
    d.apply(Health.FAILED, at(2));
    d.apply(Health.HEALTHY, at(3)); // held until 8
    assertEquals(Health.FAILED, d.apply(Health.FAILED, at(4)));
    assertEquals(Health.FAILED, d.apply(Health.HEALTHY, at(5)));
    assertEquals(at(15), d.heldUntil(), "third failure: 10 s from the recovery at 5 s");
  }

  @Test
  void penaltyDecaysWhenStable() {
    d.apply(Health.FAILED, at(0));
    d.apply(Health.HEALTHY, at(1));
    d.apply(Health.FAILED, at(2));
    assertEquals(2, d.penalty(at(2)));
    assertEquals(1, d.penalty(at(62)));
    assertEquals(0, d.penalty(at(122)));
    d.apply(Health.HEALTHY, at(3)); // held
    assertEquals(Health.HEALTHY, d.apply(Health.HEALTHY, at(8)));
    // stable for two decay periods: the next failure is a first failure again
    d.apply(Health.FAILED, at(130));
    assertEquals(Health.HEALTHY, d.apply(Health.HEALTHY, at(131)));
  }
}
