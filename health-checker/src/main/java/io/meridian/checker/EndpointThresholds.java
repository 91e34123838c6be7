package io.meridian.checker;

import java.time.Instant;

/**
 * The deciding stage for one endpoint, kept apart from probing (as Consul's {@code StatusHandler} is):
 * consecutive results against rise and fall thresholds. Hysteresis: a single failure never takes an
 * endpoint down and a single success never brings it back.
 *
 * <p>From {@link EndpointStatus#UNKNOWN} the first success counts as {@code UP} at once, so that a freshly
 * started checker does not hold healthy regions "unknown" for rise × interval; going {@code DOWN} always
 * needs {@code fall} consecutive failures. Not thread-safe: one endpoint is driven from one event loop.
 */
public final class EndpointThresholds {
  private final int rise;
  private final int fall;
  private EndpointStatus status = EndpointStatus.UNKNOWN;
  private int successes;
  private int failures;
  private Instant since;

  private EndpointThresholds(int rise, int fall, Instant now) {
    if (rise < 1 || fall < 1) {
      throw new IllegalArgumentException("rise: " + rise + ", fall: " + fall + " (expected: >= 1)");
    }
    this.rise = rise;
    this.fall = fall;
    this.since = now;
  }

  public static EndpointThresholds of(int rise, int fall, Instant now) {
    return new EndpointThresholds(rise, fall, now);
  }

  /** Carries the state of {@code previous} over to new thresholds (config reload must not reset verdicts). */
  public static EndpointThresholds carryOver(EndpointThresholds previous, int rise, int fall) {
    EndpointThresholds t = new EndpointThresholds(rise, fall, previous.since);
    t.status = previous.status;
    t.successes = previous.successes;
    t.failures = previous.failures;
    return t;
  }

  /** Records one probe result; returns true when the status changed. */
  public boolean record(boolean ok, Instant at) {
    EndpointStatus next = status;
    if (ok) {
      successes++;
      failures = 0;
      if (status == EndpointStatus.UNKNOWN || (status == EndpointStatus.DOWN && successes >= rise)) {
        next = EndpointStatus.UP;
      }
    } else {
      failures++;
      successes = 0;
      if (status != EndpointStatus.DOWN && failures >= fall) {
        next = EndpointStatus.DOWN;
      }
    }
    if (next != status) {
      status = next;
      since = at;
      return true;
    }
    return false;
  }

  public EndpointStatus status() {
    return status;
  }

  public Instant since() {
    return since;
  }

  public int consecutiveSuccesses() {
    return successes;
  }

  public int consecutiveFailures() {
    return failures;
  }
}
