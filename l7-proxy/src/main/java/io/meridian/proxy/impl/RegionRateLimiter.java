package io.meridian.proxy.impl;

import java.util.concurrent.atomic.AtomicLong;

/**
 * This proxy's admission limit for one region: requests per second, enforced with the generic cell rate
 * algorithm (GCRA, the "virtual scheduling" form of a token bucket) on one {@link AtomicLong} — the theoretical
 * arrival time of the next request. Admitting is one volatile read and one CAS; no lock, no allocation, shared by
 * every event loop (one counter per region: dividing the limit among loops would strand it on idle loops).
 *
 * <p>Guarantee: over any window of W seconds at most {@code rate × W + max(rate × 0.02 s, MIN_BURST - 1) + 1}
 * requests are admitted: over any 1 s window at most {@code rate × 1.02 + 1} from 50 requests/s up, and at most
 * {@code rate + MIN_BURST} below. The tolerance absorbs arrivals that bunch instead of spilling them: 20 ms worth
 * of the rate, and never fewer than {@value #MIN_BURST} requests at once.
 *
 * <p>Why the floor: each proxy enforces only its share of a region's allowed rate, so with several proxies the
 * limit here is small (80 rps allowed, three proxies: 26.7 rps, one request per 37.5 ms). With a tolerance of
 * 20 ms alone that admits one request at a time: a second one within 17.5 ms of it is turned away however far
 * below the limit the proxy is; when the plan's next choice has just taken one too, the client gets 503
 * {@code over_capacity}. The failover drill (launcher's {@code MultiProcessDrillTest}) failed about one request in
 * five so right after a region failed, with every survivor at 55-70 % of its allowed rate.
 */
final class RegionRateLimiter {
  /** Burst tolerance: 2 % of a second, half of the 5 % the issue allows over any 1 s window. */
  static final long TOLERANCE_NANOS = 20_000_000;
  /** The fewest requests admitted at one instant, whatever the rate (see the class comment). */
  static final int MIN_BURST = 2;
  /** Interval meaning "no limit stated": every request is admitted. */
  private static final long UNLIMITED = 0;
  /** Interval meaning "limit 0": nothing is admitted. */
  private static final long CLOSED = -1;

  /** Theoretical arrival time (System.nanoTime scale) of the next conforming request. */
  private final AtomicLong tat;
  private volatile long intervalNanos = UNLIMITED;
  /** How far ahead of now the theoretical arrival time may run: the burst tolerance at the current rate. */
  private volatile long toleranceNanos = TOLERANCE_NANOS;
  private volatile double rate = Double.NaN;

  RegionRateLimiter(long nowNanos) {
    this.tat = new AtomicLong(nowNanos);
  }

  /**
   * Reserves the next slot of the limit if it comes within {@code maxWaitNanos}: returns how long the request
   * must wait before it goes (0: now), or -1 when the next slot is further away than that (nothing reserved).
   * A request sent after its wait conforms exactly as one admitted then by {@link #tryAcquire} would.
   */
  long reserve(long nowNanos, long maxWaitNanos) {
    long interval = intervalNanos;
    if (interval == UNLIMITED) {
      return 0;
    }
    if (interval == CLOSED) {
      return -1;
    }
    long tolerance = toleranceNanos;
    while (true) {
      long t = tat.get();
      long base = t - nowNanos > 0 ? t : nowNanos;
      long wait = base - tolerance - nowNanos; // the request conforms at base - tolerance
      if (wait > maxWaitNanos) {
        return -1;
      }
      if (tat.compareAndSet(t, base + interval)) {
        return Math.max(0, wait);
      }
    }
  }

  /** Whether a request may go to the region now; if so it is counted against the limit. */
  boolean tryAcquire(long nowNanos) {
    long interval = intervalNanos;
    if (interval == UNLIMITED) {
      return true;
    }
    if (interval == CLOSED) {
      return false;
    }
    long tolerance = toleranceNanos;
    while (true) {
      long t = tat.get();
      long base = t - nowNanos > 0 ? t : nowNanos; // the bucket does not save up credit beyond the tolerance
      if (base - nowNanos > tolerance) {
        return false;
      }
      if (tat.compareAndSet(t, base + interval)) {
        return true;
      }
    }
  }

  /**
   * Sets the limit (requests/s; NaN: none). The debt already run up is kept in requests, not in time, so a
   * change neither forgives recent requests nor holds the region closed for an old, slower interval.
   */
  synchronized void setRate(double rps, long nowNanos) {
    if (Double.compare(rps, rate) == 0) {
      return;
    }
    long next = Double.isNaN(rps) ? UNLIMITED : rps <= 0 ? CLOSED : Math.max(1, (long) (1e9 / rps));
    long prev = intervalNanos;
    if (prev > 0 && next > 0) {
      while (true) {
        long t = tat.get();
        long debt = t - nowNanos;
        long scaled = debt <= 0 ? t : nowNanos + (long) (debt * ((double) next / prev));
        if (tat.compareAndSet(t, scaled)) {
          break;
        }
      }
    } else {
      tat.set(nowNanos);
    }
    // set before the interval: a request between the two writes sees the new tolerance with the old interval,
    // at most one request's worth of difference for one request
    toleranceNanos = next > 0 ? Math.max(TOLERANCE_NANOS, (MIN_BURST - 1) * next) : TOLERANCE_NANOS;
    intervalNanos = next;
    rate = rps;
  }

  /** The limit in requests/s; NaN when none is stated. */
  double rate() {
    return rate;
  }
}
