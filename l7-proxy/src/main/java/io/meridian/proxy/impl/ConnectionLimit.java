package io.meridian.proxy.impl;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code proxy.max_connections}: client connections open at once over every client listener of this proxy.
 * Before the limit, running out of file descriptors was the only one, and Netty logged a stack trace per failed
 * accept. A connection beyond the limit is closed at once, before a byte is read, and counted
 * ({@code meridian_proxy_connections_refused_total{reason="max_connections"}}); one log line per 10 s at most says
 * the limit was reached. One CAS per connection opened and one decrement per connection closed, never per request;
 * the limit is read from the config in force, so a changed value applies to the next connection.
 */
final class ConnectionLimit {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimit.class);
  /** At most one log line per this interval and cause: a flood of refusals must not become a flood of lines. */
  private static final long LOG_INTERVAL_NANOS = 10_000_000_000L;

  private final ProxyEngine engine;
  private final AtomicInteger open;
  private final Throttled refusals = new Throttled();
  private final Throttled acceptFailures = new Throttled();

  /** Events of one cause, counted between log lines: {@link #due} says when a line is due and how many it covers. */
  private static final class Throttled {
    private final AtomicLong last = new AtomicLong(System.nanoTime() - LOG_INTERVAL_NANOS);
    private final AtomicLong sinceLog = new AtomicLong();

    /** Counts one event; the events since the last line when a line is due now (this caller logs it), else 0. */
    long due() {
      long n = sinceLog.incrementAndGet();
      long now = System.nanoTime();
      long prev = last.get();
      if (now - prev >= LOG_INTERVAL_NANOS && last.compareAndSet(prev, now)) {
        sinceLog.addAndGet(-n);
        return n;
      }
      return 0;
    }
  }

  ConnectionLimit(ProxyEngine engine) {
    this.engine = engine;
    this.open = engine.metrics.clientConnections;
  }

  /** Counts a new client connection in, or refuses it (counted and logged here; the caller closes it). */
  boolean tryOpen() {
    int max = engine.config().proxy().maxConnections();
    while (true) {
      int n = open.get();
      if (n >= max) {
        refused(max);
        return false;
      }
      if (open.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** A connection counted by {@link #tryOpen} has closed. */
  void closed() {
    open.decrementAndGet();
  }

  int open() {
    return open.get();
  }

  private void refused(int max) {
    engine.metrics.connectionRefused(ProxyMetrics.MAX_CONNECTIONS);
    long n = refusals.due();
    if (n > 0) {
      LOG.warn("proxy.max_connections ({}) reached: new client connections are closed at once ({} in the last"
          + " {} s; meridian_proxy_connections_refused_total counts them all)", max, n,
          LOG_INTERVAL_NANOS / 1_000_000_000L);
    }
  }

  /**
   * The kernel refused an accept (EMFILE/ENFILE: out of file descriptors, mostly): counted, and one line per
   * interval without a stack trace, instead of Netty's warning with a stack trace per failure.
   */
  void acceptFailed(Throwable cause) {
    engine.metrics.connectionRefused(ProxyMetrics.ACCEPT_FAILED);
    long n = acceptFailures.due();
    if (n > 0) {
      LOG.warn("accepting client connections failed {} time(s) in the last {} s: {} ({} open; accepting pauses"
          + " 1 s after each failure; lower proxy.max_connections below the file descriptor limit)", n,
          LOG_INTERVAL_NANOS / 1_000_000_000L, cause.toString(), open.get());
    }
  }

  /**
   * Heap an idle client connection holds, measured after a full collection with 2,000 connections open
   * (docs/PERFORMANCE.md § Memory of the TLS proxy and § idle connections): TLS (the engine's state, its handler)
   * and plaintext HTTP/1.1.
   */
  static final int HEAP_PER_TLS_CONNECTION = 2_700;
  static final int HEAP_PER_PLAIN_CONNECTION = 1_700;
  /**
   * Old generation the TLS proxy keeps live once it has served (after a full collection, 64 client connections):
   * at start far less is in use (4 MB), as buffer pools, caches and compiled code's objects come with the first
   * requests, so the estimate below counts at least this much.
   */
  static final long HEAP_BASE = 11L << 20;

  /**
   * Says at start how many idle client connections the heap holds when that is fewer than {@code max_connections}:
   * the launcher sizes the proxy's heap for the 128 MB container (docs/CONFIG.md § Sizing the JVM), which holds a
   * few thousand connections, and past that the JVM would run out of heap rather than refuse connections. Logged
   * once, at INFO: with the default limit it is the expected case, and the line tells the operator what to raise.
   * The connections counted are those of the old generation (where connections that stay open end up).
   */
  static void checkHeap(int maxConnections, boolean tls) {
    int perConnection = tls ? HEAP_PER_TLS_CONNECTION : HEAP_PER_PLAIN_CONNECTION;
    for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
      String name = pool.getName();
      long max = pool.getUsage().getMax();
      if (pool.getType() != java.lang.management.MemoryType.HEAP || max <= 0
          || !(name.contains("Old") || name.contains("Tenured"))) {
        continue;
      }
      long free = Math.max(0, max - Math.max(HEAP_BASE, pool.getUsage().getUsed()));
      long capacity = free / perConnection;
      if (capacity < maxConnections) {
        LOG.info("this heap holds about {} idle {} client connections (~{} B each in the {} MB of its {} MB old"
                + " generation that the proxy itself does not hold), fewer than proxy.max_connections ({}): to reach"
                + " the limit give the JVM about {} MB more heap (MERIDIAN_JAVA_OPTS, docs/CONFIG.md § Sizing the"
                + " JVM)", capacity, tls ? "TLS" : "plaintext", perConnection, free >> 20, max >> 20, maxConnections,
            ((maxConnections - capacity) * perConnection >> 20) + 1);
      }
      return;
    }
  }

  /**
   * Warns at start when the process's file descriptor limit cannot hold {@code max_connections} client
   * connections plus an upstream connection each and the JVM's own files: accepts would fail before the limit.
   */
  static void checkDescriptors(int maxConnections) {
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.UnixOperatingSystemMXBean os) {
      long fds = os.getMaxFileDescriptorCount();
      long need = 2L * maxConnections + 1024;
      if (fds > 0 && fds < need) {
        LOG.warn("the file descriptor limit ({}) is below what proxy.max_connections ({}) can need (2 per client"
            + " connection with its upstream connection, plus 1024): raise the limit (ulimit -n, LimitNOFILE) or"
            + " lower proxy.max_connections to at most {}", fds, maxConnections, Math.max(1, (fds - 1024) / 2));
      }
    }
  }
}
