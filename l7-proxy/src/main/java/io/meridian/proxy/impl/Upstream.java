package io.meridian.proxy.impl;

import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One upstream endpoint of a region, with its passive outlier-detection state. Lock-free: failure counting is
 * an atomic increment, ejection a volatile deadline; concurrent updates may double-count a failure, which only
 * ejects a flapping upstream a request earlier.
 */
final class Upstream {
  /** Ejection back-off doubles per consecutive ejection up to this many doublings (base × 32). */
  private static final int MAX_BACKOFF_DOUBLINGS = 5;

  final String region;
  /** Index of its service in the config's service table ({@link RegionUpstreams#byService}). */
  final int service;
  final String host;
  final int port;
  final boolean ssl;
  final String label;
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private final AtomicInteger ejections = new AtomicInteger();
  private final AtomicInteger ejectionsSinceReport = new AtomicInteger();
  private volatile long ejectedUntilNanos;
  private volatile boolean ejected;

  Upstream(String region, int service, URI uri) {
    this.region = region;
    this.service = service;
    this.host = uri.getHost();
    this.ssl = "https".equals(uri.getScheme());
    this.port = uri.getPort() > 0 ? uri.getPort() : ssl ? 443 : 80;
    this.label = uri.getScheme() + "://" + host + ":" + port;
  }

  boolean available(long nowNanos) {
    return !ejected || nowNanos - ejectedUntilNanos >= 0;
  }

  void onSuccess() {
    if (consecutiveFailures.get() != 0) {
      consecutiveFailures.set(0);
    }
    if (ejected) {
      ejected = false;
      ejections.set(0); // healthy again: the next ejection starts from the base back-off
    }
  }

  /** Counts a 5xx or connect failure; true when it is the {@code threshold}-th in a row (and resets the count). */
  boolean countFailure(int threshold) {
    if (consecutiveFailures.incrementAndGet() < threshold) {
      return false;
    }
    consecutiveFailures.set(0);
    return true;
  }

  /**
   * Ejects this upstream until {@code now} + the base ejection doubled per earlier ejection.
   *
   * @return false when it is ejected already
   */
  boolean eject(long nowNanos, long baseEjectionNanos) {
    if (ejected && nowNanos - ejectedUntilNanos < 0) {
      return false;
    }
    int n = Math.min(ejections.getAndIncrement(), MAX_BACKOFF_DOUBLINGS);
    ejectedUntilNanos = nowNanos + (baseEjectionNanos << n);
    ejected = true;
    ejectionsSinceReport.incrementAndGet();
    return true;
  }

  boolean isEjected(long nowNanos) {
    return !available(nowNanos);
  }

  /** Ejections since the last traffic report (and resets the count). */
  int drainEjectionCount() {
    return ejectionsSinceReport.getAndSet(0);
  }
}
