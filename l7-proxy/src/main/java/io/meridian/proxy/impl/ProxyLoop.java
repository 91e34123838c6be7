package io.meridian.proxy.impl;

/**
 * What the exchanges of one event loop share, whatever their transport: the engine, the access log, this
 * loop's identity/token state ({@link Sessions}, not thread-safe) and the response-timeout queue. Everything
 * here is touched by that loop's thread only.
 */
abstract class ProxyLoop {
  final ProxyEngine engine;
  final AccessLog accessLog;
  private Sessions sessions;
  /**
   * Exchanges waiting for response headers, in deadline order (one timeout value per config): a ring of
   * (exchange, generation) pairs in two arrays, so queueing allocates nothing and an entry of a reused exchange
   * object that moved on to its next request is recognised as stale.
   */
  private Exchange[] ring = new Exchange[256];
  private int[] ringGen = new int[256];
  private int head;
  private int size;
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
    if (size == ring.length) {
      grow();
    }
    int tail = (head + size) & (ring.length - 1);
    ring[tail] = x;
    ringGen[tail] = x.generation;
    size++;
    if (!sweeping) {
      sweeping = true;
      // 50 ms granularity is ample for timeouts of seconds; one timer per event loop, not per request
      periodic(50, this::sweep);
    }
  }

  private void grow() {
    Exchange[] r = new Exchange[ring.length * 2];
    int[] g = new int[r.length];
    for (int i = 0; i < size; i++) {
      int from = (head + i) & (ring.length - 1);
      r[i] = ring[from];
      g[i] = ringGen[from];
    }
    ring = r;
    ringGen = g;
    head = 0;
  }

  private void sweep() {
    long now = System.nanoTime();
    while (size > 0) {
      Exchange x = ring[head];
      if (ringGen[head] == x.generation && !x.checkResponseDeadline(now)) {
        return; // the oldest live entry has not timed out: none behind it has
      }
      ring[head] = null;
      head = (head + 1) & (ring.length - 1);
      size--;
    }
  }

  void close() {}

  /** This event loop's identity/token state for the snapshot's config, rebuilt when the config changes. */
  final Sessions sessions(ProxyEngine.Snapshot s) {
    Sessions ss = sessions;
    if (ss == null || ss.cfg != s.proxy()) {
      ss = new Sessions(engine.config(), engine.metrics, engine::jwtKeys);
      sessions = ss;
    }
    return ss;
  }
}
