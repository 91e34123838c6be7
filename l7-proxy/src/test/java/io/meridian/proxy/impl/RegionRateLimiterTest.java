package io.meridian.proxy.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The per-region admission limit on a clock the test moves: its bound over any 1 s window, bursts, changes. */
class RegionRateLimiterTest {
  private static final long MS = 1_000_000;
  private static final long T0 = 5_000_000_000_000L;

  /** The most admissions within any window of {@code window} nanos (sliding, over sorted times). */
  static int maxInWindow(List<Long> times, long window) {
    int best = 0;
    int from = 0;
    for (int i = 0; i < times.size(); i++) {
      while (times.get(i) - times.get(from) >= window) {
        from++;
      }
      best = Math.max(best, i - from + 1);
    }
    return best;
  }

  @Test
  void floodedItAdmitsTheRatePlusTwoPercentAndOneOverAnySecond() {
    RegionRateLimiter l = new RegionRateLimiter(T0);
    l.setRate(100, T0);
    List<Long> admitted = new ArrayList<>();
    for (long t = T0; t < T0 + 5_000 * MS; t += MS / 4) { // 4,000 offered per second
      if (l.tryAcquire(t)) {
        admitted.add(t);
      }
    }
    assertTrue(maxInWindow(admitted, 1_000 * MS) <= 100 * 1.02 + 1, "max " + maxInWindow(admitted, 1_000 * MS));
    assertEquals(500, admitted.size(), 3, "and it does admit the rate");
  }

  @Test
  void aBurstAtOneInstantGetsTheToleranceWorth() {
    RegionRateLimiter l = new RegionRateLimiter(T0);
    l.setRate(100, T0); // one request per 10 ms; tolerance 20 ms
    int n = 0;
    while (l.tryAcquire(T0)) {
      n++;
    }
    assertEquals(3, n);
    assertFalse(l.tryAcquire(T0 + 5 * MS));
    assertTrue(l.tryAcquire(T0 + 11 * MS), "one interval later there is room again");
  }

  @Test
  void reservedSlotsAreSpacedAtTheRateAndNoneBeyondTheWait() {
    RegionRateLimiter l = new RegionRateLimiter(T0);
    l.setRate(20, T0); // one request per 50 ms; two at once
    List<Long> waits = new ArrayList<>();
    long w;
    while ((w = l.reserve(T0, 300 * MS)) >= 0) {
      waits.add(w);
    }
    // two now, then one per 50 ms up to 300 ms ahead
    assertEquals(List.of(0L, 0L, 50 * MS, 100 * MS, 150 * MS, 200 * MS, 250 * MS, 300 * MS), waits);
    assertFalse(l.tryAcquire(T0 + 10 * MS), "the reserved slots are taken");
    // the requests sent at their slots conform like admitted ones: over any second at most rate + MIN_BURST
    List<Long> sent = new ArrayList<>();
    for (long x : waits) {
      sent.add(T0 + x);
    }
    for (long t = T0 + MS; t < T0 + 3_000 * MS; t += MS) {
      long r = l.reserve(t, 300 * MS);
      if (r >= 0) {
        sent.add(t + r);
      }
    }
    java.util.Collections.sort(sent);
    assertTrue(maxInWindow(sent, 1_000 * MS) <= 20 + RegionRateLimiter.MIN_BURST, "max " + maxInWindow(sent, 1_000 * MS));
    assertEquals(-1, closed().reserve(T0, 300 * MS), "limit 0: nothing is reserved");
  }

  private static RegionRateLimiter closed() {
    RegionRateLimiter l = new RegionRateLimiter(T0);
    l.setRate(0, T0);
    return l;
  }

  @Test
  void aLowRateStillAdmitsTwoRequestsAtOnceAndHoldsItsRateOverAnySecond() {
    // a proxy's share of a region can be a few requests/s: two clients arriving together must not be turned away
    RegionRateLimiter l = new RegionRateLimiter(T0);
    l.setRate(26.7, T0); // 80 rps allowed, three proxies: one request per 37.5 ms
    int n = 0;
    while (l.tryAcquire(T0)) {
      n++;
    }
    assertEquals(RegionRateLimiter.MIN_BURST, n);
    List<Long> admitted = new ArrayList<>();
    for (long t = T0 + 1_000 * MS; t < T0 + 6_000 * MS; t += MS) { // flooded: 1,000 offered per second
      if (l.tryAcquire(t)) {
        admitted.add(t);
      }
    }
    assertTrue(maxInWindow(admitted, 1_000 * MS) <= 26.7 + RegionRateLimiter.MIN_BURST,
        "max " + maxInWindow(admitted, 1_000 * MS));
    assertEquals(5 * 26.7, admitted.size(), 3, "and it does admit the rate");
  }

  @Test
  void aRaisedRateTakesEffectAtOnceAndALoweredOneKeepsTheDebt() {
    RegionRateLimiter l = new RegionRateLimiter(T0);
    l.setRate(1, T0); // one per second
    for (int i = 0; i < RegionRateLimiter.MIN_BURST; i++) {
      assertTrue(l.tryAcquire(T0));
    }
    assertFalse(l.tryAcquire(T0 + 10 * MS));
    l.setRate(1000, T0 + 10 * MS); // the second of debt is now one millisecond of debt
    assertTrue(l.tryAcquire(T0 + 10 * MS), "not held back by the old, slow interval");
    RegionRateLimiter m = new RegionRateLimiter(T0);
    m.setRate(1000, T0);
    for (int i = 0; i < 21; i++) {
      assertTrue(m.tryAcquire(T0));
    }
    m.setRate(10, T0); // 20 ms of debt at 1,000/s become 2 s at 10/s: no fresh burst after lowering
    assertFalse(m.tryAcquire(T0 + 500 * MS));
  }

  @Test
  void noStatedLimitAdmitsAllAndZeroAdmitsNothing() {
    RegionRateLimiter l = new RegionRateLimiter(T0);
    for (int i = 0; i < 10_000; i++) {
      assertTrue(l.tryAcquire(T0));
    }
    l.setRate(0, T0);
    assertFalse(l.tryAcquire(T0 + 60_000 * MS));
    l.setRate(Double.NaN, T0);
    assertTrue(l.tryAcquire(T0));
  }
}
