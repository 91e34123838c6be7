package io.meridian.checker.impl;

import java.time.Duration;

/**
 * A probe timeout that follows the path's measured round trips, the way TCP's retransmission timer does
 * (RFC 6298 §2: SRTT and RTTVAR with gains 1/8 and 1/4, timeout = SRTT + 4 × RTTVAR), bounded below by the
 * configured {@code timeout} and above by {@code timeout_max}.
 *
 * <p>Why: a fixed 400 ms timeout is right on a quiet network, but on a path with 200 ms of jitter an HTTP probe
 * (connect + request = two round trips) routinely takes 400–800 ms, so every checker on that path would time out
 * on most probes and see healthy regions failed. Learning the path's round trip keeps those probes passing, while a
 * dead target is still caught at once (a refused connection does not wait for any timeout) and a hanging one
 * within {@code timeout_max}. Only successful probes are samples; a timeout carries no round-trip time, so it
 * doubles the timeout instead (RFC 6298 §5.5, Karn's back-off) until the next success: otherwise a path that turns
 * slow all at once would only ever yield the samples that were quick enough to beat the old timeout, and the
 * estimate would never grow. Not thread-safe: used on its endpoint's event loop.
 */
final class AdaptiveTimeout {
  private final long floorNanos;
  private final long ceilingNanos;
  private double srtt = -1;
  private double rttvar;
  /** After timeouts: the backed-off timeout, until a success resets it (0: none). */
  private long backedOffNanos;

  private AdaptiveTimeout(Duration floor, Duration ceiling) {
    this.floorNanos = floor.toNanos();
    this.ceilingNanos = Math.max(floorNanos, ceiling.toNanos());
  }

  static AdaptiveTimeout of(Duration timeout, Duration timeoutMax) {
    return new AdaptiveTimeout(timeout, timeoutMax);
  }

  /** One successful probe's total time. */
  void sample(long nanos) {
    if (nanos < 0) {
      return;
    }
    backedOffNanos = 0;
    if (srtt < 0) {
      srtt = nanos;
      rttvar = nanos / 2.0;
    } else {
      rttvar = 0.75 * rttvar + 0.25 * Math.abs(srtt - nanos);
      srtt = 0.875 * srtt + 0.125 * nanos;
    }
  }

  /** A probe timed out: the next one gets twice the time, up to the ceiling. */
  void timedOut() {
    backedOffNanos = Math.min(ceilingNanos, 2 * current().toNanos());
  }

  Duration current() {
    long t = srtt < 0 ? floorNanos : (long) (srtt + 4 * rttvar);
    t = Math.max(t, backedOffNanos);
    return Duration.ofNanos(Math.max(floorNanos, Math.min(ceilingNanos, t)));
  }
}
