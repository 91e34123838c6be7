package io.meridian.proxy.impl;

import java.util.ArrayDeque;

/**
 * What the exchanges of one event loop share, whatever their transport: the engine, the access log, this
 * loop's identity/token state ({@link Sessions}, not thread-safe) and the response-timeout queue. Everything
 * here is touched by that loop's thread only.
 */
abstract class ProxyLoop {
  final ProxyEngine engine;
  final AccessLog accessLog;
  private Sessions sessions;
  /** Exchanges waiting for response headers, in deadline order (one timeout value per config). */
  private final ArrayDeque<Exchange> awaiting = new ArrayDeque<>();
  private boolean sweeping;

  ProxyLoop(ProxyEngine engine, AccessLog accessLog) {
    this.engine = engine;
    this.accessLog = accessLog;
  }

  /** Runs {@code task} on this loop after {@code delayMs}. */
  abstract void schedule(long delayMs, Runnable task);

  /** Runs {@code task} on this loop every {@code periodMs} until {@link #close()}. */
  abstract void periodic(long periodMs, Runnable task);

  final void awaitResponse(Exchange x) {
    awaiting.addLast(x);
    if (!sweeping) {
      sweeping = true;
      // 50 ms granularity is ample for timeouts of seconds; one timer per event loop, not per request
      periodic(50, this::sweep);
    }
  }

  private void sweep() {
    long now = System.nanoTime();
    Exchange head;
    while ((head = awaiting.peekFirst()) != null && head.checkResponseDeadline(now)) {
      awaiting.pollFirst();
    }
  }

  void close() {}

  /** This event loop's identity/token state for the snapshot's config, rebuilt when the config changes. */
  final Sessions sessions(ProxyEngine.Snapshot s) {
    Sessions ss = sessions;
    if (ss == null || ss.cfg != s.proxy()) {
      ss = new Sessions(engine.config(), engine.metrics);
      sessions = ss;
    }
    return ss;
  }
}
