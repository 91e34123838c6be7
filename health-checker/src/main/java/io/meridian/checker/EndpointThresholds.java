package io.meridian.checker;

import java.time.Instant;

/**
 * The deciding stage for one endpoint, kept apart from probing (as Consul's {@code StatusHandler} is):
 * consecutive results against rise and fall thresholds. Hysteresis: a single failure never takes an
 * endpoint down and a single success never brings it back.
 *
 * <p>From {@link EndpointStatus#UNKNOWN} the first success counts as {@code UP} at once, so that a freshly
 * started checker does not hold healthy regions "unknown" for rise × interval; going {@code DOWN} always
 * needs {@code fall} consecutive failures.
 *
 * <p>Not every failure is equally strong evidence. A refused connection, a reset, an HTTP 500 or a wrong body can
 * only come from the target (or what stands in front of it); a <em>timeout</em> can also come from the path: with
 * 5 % packet loss a lost SYN is retransmitted after 1 s (RFC 6298 §2), and jitter stretches every round trip. So a
 * run of failures that are all timeouts needs {@code fallTimeouts} (≥ {@code fall}) of them, while a run with at
 * least one hard failure needs only {@code fall}: a killed process (connection refused) is still detected in
 * fall × interval, and a lossy path does not fail a healthy region. Not thread-safe: one endpoint is driven from
 * one event loop.
 */
public final class EndpointThresholds {
  private final int rise;
  private final int fall;
  private final int fallTimeouts;
  private boolean hardFailureInRun;
  private EndpointStatus status = EndpointStatus.UNKNOWN;
  private int successes;
  private int failures;
  private Instant since;

  private EndpointThresholds(int rise, int fall, int fallTimeouts, Instant now) {
    if (rise < 1 || fall < 1 || fallTimeouts < fall) {
      throw new IllegalArgumentException("rise: " + rise + ", fall: " + fall + ", fall_timeouts: " + fallTimeouts
          + " (expected: >= 1, and fall_timeouts >= fall)");
    }
    this.rise = rise;
    this.fall = fall;
    this.fallTimeouts = fallTimeouts;
    this.since = now;
  }

  /** Thresholds where a timeout counts like any other failure. */
  public static EndpointThresholds of(int rise, int fall, Instant now) {
    return new EndpointThresholds(rise, fall, fall, now);
  }

  /** @param fallTimeouts consecutive failures needed when every one of them is a timeout (≥ fall) */
  public static EndpointThresholds of(int rise, int fall, int fallTimeouts, Instant now) {
    return new EndpointThresholds(rise, fall, fallTimeouts, now);
  }

  /** Carries the state of {@code previous} over to new thresholds (config reload must not reset verdicts). */
  public static EndpointThresholds carryOver(EndpointThresholds previous, int rise, int fall, int fallTimeouts) {
    EndpointThresholds t = new EndpointThresholds(rise, fall, fallTimeouts, previous.since);
    t.status = previous.status;
    t.successes = previous.successes;
    t.failures = previous.failures;
    t.hardFailureInRun = previous.hardFailureInRun;
    return t;
  }

  /** Records one probe result, any failure counting as hard; returns true when the status changed. */
  public boolean record(boolean ok, Instant at) {
    return record(ok, false, at);
  }

  /**
   * Records one probe result; returns true when the status changed.
   *
   * @param timedOut the probe failed by timeout only (weak evidence: the path may be lossy)
   */
  public boolean record(boolean ok, boolean timedOut, Instant at) {
    EndpointStatus next = status;
    if (ok) {
      successes++;
      failures = 0;
      hardFailureInRun = false;
      if (status == EndpointStatus.UNKNOWN || (status == EndpointStatus.DOWN && successes >= rise)) {
        next = EndpointStatus.UP;
      }
    } else {
      failures++;
      successes = 0;
      hardFailureInRun |= !timedOut;
      if (status != EndpointStatus.DOWN && failures >= (hardFailureInRun ? fall : fallTimeouts)) {
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
