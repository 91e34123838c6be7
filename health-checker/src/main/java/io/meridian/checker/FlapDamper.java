package io.meridian.checker;

import io.meridian.core.Health;
import java.time.Duration;
import java.time.Instant;

/**
 * Flap damping for one region, after BGP route-flap damping (RFC 2439 §4): each time the region fails it
 * earns a penalty; a region that recovers while it carries more than one penalty is held out (kept
 * {@link Health#FAILED}) for a hold-down that doubles with every further failure, up to a maximum, so an
 * oscillating region does not bounce traffic back and forth. The penalty decays by one per {@code decay}
 * period since the last failure, so a region that stays stable is soon treated as new again.
 *
 * <p>A first failure is never delayed, and a single failure followed by recovery is not held down: rise
 * thresholds are the hysteresis for that case. Not thread-safe: one region is driven from one event loop.
 *
 * <pre>{@code
 * FlapDamper damper = FlapDamper.of(Duration.ofSeconds(5), Duration.ofMinutes(5), Duration.ofMinutes(1));
 * Health published = damper.apply(rawHealth, Instant.now());
 * }</pre>
 */
public final class FlapDamper {
  private final Duration base;
  private final Duration max;
  private final Duration decay;
  private int penalty;
  private Instant lastFailure = Instant.EPOCH;
  private Instant holdUntil; // null = not held
  private Health output = Health.UNKNOWN;
  private Health lastRaw = Health.UNKNOWN;

  private FlapDamper(Duration base, Duration max, Duration decay) {
    if (base.isNegative() || max.compareTo(base) < 0 || decay.isZero() || decay.isNegative()) {
      throw new IllegalArgumentException("hold-down: " + base + ", max: " + max + ", decay: " + decay
          + " (expected: 0 <= hold-down <= max, decay > 0)");
    }
    this.base = base;
    this.max = max;
    this.decay = decay;
  }

  public static FlapDamper of(Duration holdDown, Duration holdDownMax, Duration decay) {
    return new FlapDamper(holdDown, holdDownMax, decay);
  }

  /** The damped health given the region's undamped health now. */
  public Health apply(Health raw, Instant now) {
    Health previousRaw = lastRaw;
    lastRaw = raw;
    if (raw == Health.FAILED) {
      // count raw transitions, not published ones: failing again while held down is still a flap
      if (previousRaw != Health.FAILED) {
        penalty = penalty(now) + 1;
        lastFailure = now;
      }
      holdUntil = null;
      output = Health.FAILED;
      return output;
    }
    if (output == Health.FAILED && penalty(now) >= 2) {
      if (holdUntil == null) {
        holdUntil = now.plus(holdDown(penalty(now)));
      }
      if (now.isBefore(holdUntil)) {
        return output;
      }
    }
    holdUntil = null;
    output = raw;
    return output;
  }

  /** The hold-down a recovery would get with {@code penalty} recent failures. */
  Duration holdDown(int p) {
    if (p < 2) {
      return Duration.ZERO;
    }
    int doublings = Math.min(p - 2, 30);
    Duration d = base.multipliedBy(1L << doublings);
    return d.compareTo(max) > 0 ? max : d;
  }

  /** Recent failures still counted at {@code now}. */
  public int penalty(Instant now) {
    long periods = Duration.between(lastFailure, now).toNanos() / decay.toNanos();
    return (int) Math.max(0, penalty - Math.max(0, periods));
  }

  /** While held down, until when; otherwise null. */
  public Instant heldUntil() {
    return holdUntil;
  }

  public boolean held(Instant now) {
    return holdUntil != null && now.isBefore(holdUntil);
  }
}
