package io.meridian.core;

/**
 * A region's place in its lifecycle: active → draining → drained → active, and
 * active → failed → recovering → active. Health moves it automatically; operators move it by command.
 */
public enum Lifecycle {
  ACTIVE,
  /** Losing its traffic in steps; still takes the share the plan leaves it. */
  DRAINING,
  /** No traffic by operator decision. */
  DRAINED,
  /** No traffic because health failed. */
  FAILED,
  /** Healthy again and ramping up (slow start). */
  RECOVERING;

  /** Whether the region may receive new traffic at all (its share is the plan's business). */
  public boolean takesTraffic() {
    return this == ACTIVE || this == DRAINING || this == RECOVERING;
  }
}
