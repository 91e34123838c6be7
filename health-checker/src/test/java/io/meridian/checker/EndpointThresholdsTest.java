package io.meridian.checker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Rise/fall hysteresis, driven by sequences of results: '+' pass, '-' fail. */
class EndpointThresholdsTest {

  @ParameterizedTest(name = "rise {0} fall {1}: {2} -> {3}")
  @CsvSource({
      "2, 2, '',        UNKNOWN",
      "2, 2, '+',       UP",        // first success counts at once
      "2, 2, '-',       UNKNOWN",   // one failure is not enough
      "2, 2, '--',      DOWN",
      "2, 2, '+-',      UP",
      "2, 2, '+--',     DOWN",
      "2, 2, '+-+-+-',  UP",        // alternating never reaches fall
      "2, 2, '--+',     DOWN",      // one success is not enough to rise
      "2, 2, '--++',    UP",
      "3, 1, '+-',      DOWN",
      "3, 1, '+-++',    DOWN",
      "3, 1, '+-+++',   UP",
      "1, 3, '+--',     UP",
      "1, 3, '+---',    DOWN",
      "1, 3, '+---+',   UP",
  })
  void sequence(int rise, int fall, String results, EndpointStatus expected) {
    EndpointThresholds t = EndpointThresholds.of(rise, fall, Instant.EPOCH);
    for (char c : results.toCharArray()) {
      t.record(c == '+', Instant.EPOCH);
    }
    assertEquals(expected, t.status());
  }

  @Test
  void reportsChangesAndTheirTime() {
    EndpointThresholds t = EndpointThresholds.of(2, 2, Instant.EPOCH);
    Instant t1 = Instant.ofEpochSecond(1);
    Instant t2 = Instant.ofEpochSecond(2);
    assertEquals(true, t.record(true, t1));
    assertEquals(false, t.record(false, t2));
    assertEquals(t1, t.since());
    assertEquals(true, t.record(false, t2));
    assertEquals(t2, t.since());
    assertEquals(2, t.consecutiveFailures());
  }

  @Test
  void carryOverKeepsTheVerdict() {
    EndpointThresholds t = EndpointThresholds.of(2, 2, Instant.EPOCH);
    t.record(false, Instant.EPOCH);
    t.record(false, Instant.EPOCH);
    EndpointThresholds c = EndpointThresholds.carryOver(t, 5, 5, 5);
    assertEquals(EndpointStatus.DOWN, c.status());
    c.record(true, Instant.EPOCH);
    assertEquals(EndpointStatus.DOWN, c.status(), "the new rise (5) applies");
  }

  @Test
  void rejectsZeroThresholds() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EndpointThresholds.of(0, 2, Instant.EPOCH));
    assertEquals("rise: 0, fall: 2, fall_timeouts: 2 (expected: >= 1, and fall_timeouts >= fall)", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> EndpointThresholds.of(2, 3, 2, Instant.EPOCH));
  }

  /**
   * '+' pass, 'x' hard failure (refused, HTTP 500), 't' timeout: a run of timeouts only needs fall_timeouts (4),
   * a run with one hard failure in it needs fall (2).
   */
  @ParameterizedTest(name = "rise 2 fall 2 fall_timeouts 4: {0} -> {1}")
  @CsvSource({
      "'+tt',     UP",        // two timeouts: a lossy path can do that
      "'+ttt',    UP",
      "'+tttt',   DOWN",      // four in a row: the target does not answer
      "'+xx',     DOWN",      // a killed process: refused twice, as fast as before
      "'+tx',     DOWN",      // a hard failure in the run: fall applies
      "'+xt',     DOWN",
      "'+tt+tt',  UP",        // a success resets the run
      "'+ttt+t',  UP",
      "'+x+t',    UP",        // the hard failure was in an earlier run
      "'tttt++',  UP",
  })
  void timeoutsAreWeakerEvidence(String results, EndpointStatus expected) {
    EndpointThresholds t = EndpointThresholds.of(2, 2, 4, Instant.EPOCH);
    for (char c : results.toCharArray()) {
      t.record(c == '+', c == 't', Instant.EPOCH);
    }
    assertEquals(expected, t.status());
  }

  @Test
  void carryOverKeepsTheRunsKindOfEvidence() {
    EndpointThresholds t = EndpointThresholds.of(2, 2, 4, Instant.EPOCH);
    t.record(true, false, Instant.EPOCH);
    t.record(false, false, Instant.EPOCH); // refused
    EndpointThresholds c = EndpointThresholds.carryOver(t, 2, 2, 4);
    c.record(false, true, Instant.EPOCH); // then a timeout: the run has a hard failure, fall (2) applies
    assertEquals(EndpointStatus.DOWN, c.status());
  }
}
