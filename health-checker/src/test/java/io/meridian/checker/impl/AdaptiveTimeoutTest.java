package io.meridian.checker.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The probe timeout follows the path's round trips (RFC 6298 estimator) between timeout and timeout_max. */
class AdaptiveTimeoutTest {
  static final Duration FLOOR = Duration.ofMillis(400);
  static final Duration CEILING = Duration.ofMillis(1500);

  @Test
  void aQuickPathKeepsTheConfiguredTimeout() {
    AdaptiveTimeout t = AdaptiveTimeout.of(FLOOR, CEILING);
    assertEquals(FLOOR, t.current(), "no sample yet");
    for (int i = 0; i < 50; i++) {
      t.sample(Duration.ofMillis(1).toNanos());
    }
    assertEquals(FLOOR, t.current());
  }

  @Test
  void aJitteryPathGrowsTheTimeoutBeyondItsProbesButNotPastTheCeiling() {
    AdaptiveTimeout t = AdaptiveTimeout.of(FLOOR, CEILING);
    Random random = new Random(7);
    long slowest = 0;
    // two round trips of 2 × (0..200 ms) each: probes of 0..800 ms
    for (int i = 0; i < 200; i++) {
      long ms = 0;
      for (int leg = 0; leg < 4; leg++) {
        ms += random.nextInt(201);
      }
      slowest = Math.max(slowest, ms);
      t.sample(Duration.ofMillis(ms).toNanos());
    }
    Duration now = t.current();
    assertTrue(now.toMillis() > 600 && now.toMillis() <= CEILING.toMillis(), "timeout " + now + ", slowest "
        + slowest + " ms");
    // the path becomes quick again: the timeout comes back down to the configured one
    for (int i = 0; i < 100; i++) {
      t.sample(Duration.ofMillis(2).toNanos());
    }
    assertEquals(FLOOR, t.current());
  }

  @Test
  void neverAboveTheCeiling() {
    AdaptiveTimeout t = AdaptiveTimeout.of(FLOOR, CEILING);
    for (int i = 0; i < 20; i++) {
      t.sample(Duration.ofSeconds(5).toNanos());
    }
    assertEquals(CEILING, t.current());
  }

  @Test
  void aTimeoutBacksOffSoThatAPathThatTurnedSlowIsLearned() {
    AdaptiveTimeout t = AdaptiveTimeout.of(FLOOR, CEILING);
    for (int i = 0; i < 20; i++) {
      t.sample(Duration.ofMillis(2).toNanos());
    }
    // the path turns slow at once: every probe now takes 700 ms, more than the 400 ms timeout
    t.timedOut();
    assertEquals(Duration.ofMillis(800), t.current(), "doubled");
    t.sample(Duration.ofMillis(700).toNanos()); // the next probe gets through within 800 ms: a real sample
    assertTrue(t.current().toMillis() >= 400);
    for (int i = 0; i < 30; i++) {
      Duration now = t.current();
      if (now.toMillis() < 700) {
        t.timedOut(); // censored: it could not see 700 ms; back off again
      } else {
        t.sample(Duration.ofMillis(700).toNanos());
      }
    }
    assertTrue(t.current().toMillis() >= 700, "learned the slow path: " + t.current());
    t.timedOut();
    t.timedOut();
    t.timedOut();
    assertEquals(CEILING, t.current(), "never above the ceiling");
  }
}
