package io.meridian.checker;

/** One probed endpoint after the rise/fall thresholds. */
public enum EndpointStatus {
  /** No verdict yet (just started, or fewer than {@code fall} failures since start). */
  UNKNOWN,
  /** Passing: the last {@code rise} probes succeeded (or the first probe did). */
  UP,
  /** Failing: the last {@code fall} probes failed. */
  DOWN
}
