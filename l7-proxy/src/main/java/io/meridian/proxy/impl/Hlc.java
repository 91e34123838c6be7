package io.meridian.proxy.impl;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Hybrid logical clock (Kulkarni et al., 2014) used as the commit position of a write when the upstream does
 * not report its own: milliseconds since the epoch in the high 48 bits, a counter in the low 16. Never goes
 * backwards on this node even when the wall clock does, and stays close to physical time so that applications
 * can publish replication watermarks in the same unit ({@code appliedMillis << 16}).
 */
final class Hlc {
  private final AtomicLong last = new AtomicLong();

  long next() {
    long physical = System.currentTimeMillis() << 16;
    while (true) {
      long prev = last.get();
      long next = Math.max(prev + 1, physical);
      if (last.compareAndSet(prev, next)) {
        return next;
      }
    }
  }
}
