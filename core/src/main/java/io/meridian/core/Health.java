package io.meridian.core;

/** What the health checkers concluded about a region. */
public enum Health {
  /** Enough endpoints pass from enough vantage points. */
  HEALTHY,
  /** Serving, but with reduced capacity: the planner gives it a reduced share. */
  DEGRADED,
  /** A quorum of vantage points sees it down: it gets no traffic. */
  FAILED,
  /** No fresh evidence either way (no report yet, or reports expired); treated as serving. */
  UNKNOWN;

  /** Whether a region in this state may be given traffic. UNKNOWN serves: stale evidence is not "down". */
  public boolean serves() {
    return this != FAILED;
  }
}
