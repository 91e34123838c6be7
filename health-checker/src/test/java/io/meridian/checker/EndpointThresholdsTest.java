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
    EndpointThresholds c = EndpointThresholds.carryOver(t, 5, 5);
    assertEquals(EndpointStatus.DOWN, c.status());
    c.record(true, Instant.EPOCH);
    assertEquals(EndpointStatus.DOWN, c.status(), "the new rise (5) applies");
  }

  @Test
  void rejectsZeroThresholds() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EndpointThresholds.of(0, 2, Instant.EPOCH));
    assertEquals("rise: 0, fall: 2 (expected: >= 1)", e.getMessage());
  }
}
