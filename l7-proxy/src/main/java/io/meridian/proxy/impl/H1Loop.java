package io.meridian.proxy.impl;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.vertx.core.internal.VertxInternal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * One event loop of the HTTP/1.1 path: its pools of idle keep-alive upstream connections (per upstream, most
 * recently used first, so a light load keeps few connections warm), its connector, and the shared per-loop
 * state of {@link ProxyLoop}. Only this loop's thread touches it.
 */
final class H1Loop extends ProxyLoop {
  /** Idle connections kept per upstream and loop (as the Vert.x client's pool size). */
  static final int MAX_IDLE_PER_UPSTREAM = 512;
  /** An idle upstream connection is closed after this, before a server's usual 60 s keep-alive timeout. */
  static final long IDLE_UPSTREAM_NANOS = TimeUnit.SECONDS.toNanos(55);

  final EventLoop eventLoop;
  private final SslContext tls;
  private final Bootstrap bootstrap;
  private final IdentityHashMap<Upstream, Pool> idle = new IdentityHashMap<>();
  private final List<io.netty.util.concurrent.ScheduledFuture<?>> timers = new ArrayList<>();
  private boolean pruning;
  /** Request and response heads of this loop's exchanges are assembled here, one at a time. */
  final HeadBuilder head = new HeadBuilder();
  /**
   * Request head buffers of this loop's client connections between their requests: an idle connection holds
   * none. At most 1,024 are kept (0.8 KiB each): what a burst leaves over beyond that goes to the GC.
   */
  final H1Parser.Buffers parserBuffers = new H1Parser.Buffers(1024);

  H1Loop(EventLoop eventLoop, VertxInternal vertx, ProxyEngine engine, AccessLog accessLog, SslContext tls) {
    super(engine, accessLog);
    this.eventLoop = eventLoop;
    this.tls = tls;
    this.bootstrap = new Bootstrap().group(eventLoop).channelFactory(vertx.transport().channelFactory(false))
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
        // host names resolved by Vert.x's asynchronous resolver, never blocking this loop
        .resolver(vertx.nameResolver().nettyAddressResolverGroup());
  }

  @Override
  void schedule(long delayMs, Runnable task) {
    eventLoop.schedule(task, delayMs, TimeUnit.MILLISECONDS);
  }

  @Override
  void periodic(long periodMs, Runnable task) {
    timers.add(eventLoop.scheduleAtFixedRate(task, periodMs, periodMs, TimeUnit.MILLISECONDS));
  }

  /**
   * One upstream's connections on this loop: the idle ones (most recently used last), how many are open or
   * opening, and the requests waiting for one (see {@code proxy.upstream_pool}).
   */
  static final class Pool {
    final ArrayDeque<UpstreamConn> idle = new ArrayDeque<>();
    /** Open or being opened: idle, busy and connecting. */
    int open;
    int connecting;
    /** Waiting exchanges, with the generation and the time each started to wait. */
    final ArrayDeque<PooledExchange> waiting = new ArrayDeque<>();
    final ArrayDeque<long[]> waitingSince = new ArrayDeque<>();
  }

  Pool pool(Upstream up) {
    Pool p = idle.get(up);
    if (p == null) {
      p = new Pool();
      idle.put(up, p);
    }
    return p;
  }

  /** An idle, open connection to {@code up}, or null. */
  UpstreamConn acquire(Pool p) {
    UpstreamConn c;
    while ((c = p.idle.pollLast()) != null) {
      if (c.ch.isActive()) {
        return c;
      }
    }
    return null;
  }

  /** Whether a new connection may be opened now under {@code limits}. */
  static boolean mayConnect(Pool p, io.meridian.config.ProxyConfig.UpstreamPool limits) {
    return p.open < limits.maxConnections() && p.connecting < limits.maxConnecting();
  }

  /**
   * {@code x} (at its current generation) waits for a connection to {@code up}; false when the queue is full.
   * Served first come, first served by {@link #release} and {@link #slotFreed}; timed out by the sweep.
   */
  boolean enqueue(Pool p, PooledExchange x, io.meridian.config.ProxyConfig.UpstreamPool limits) {
    if (p.waiting.size() >= limits.maxQueued()) {
      return false;
    }
    p.waiting.addLast(x);
    p.waitingSince.addLast(new long[] {x.generation, System.nanoTime()});
    if (!queueSweep) {
      queueSweep = true;
      periodic(50, this::sweepQueues);
    }
    return true;
  }

  private boolean queueSweep;

  /** The first exchange still waiting in {@code p}, dequeued, or null. */
  private static PooledExchange nextWaiting(Pool p) {
    PooledExchange x;
    while ((x = p.waiting.pollFirst()) != null) {
      long[] meta = p.waitingSince.pollFirst();
      if (x.generation == meta[0] && x.waitingFor(p)) {
        return x;
      }
    }
    return null;
  }

  private void sweepQueues() {
    long now = System.nanoTime();
    long limit = engine.config().proxy().upstreamPool().queueTimeout().toNanos();
    for (Pool p : idle.values()) {
      long[] meta;
      while ((meta = p.waitingSince.peekFirst()) != null) {
        PooledExchange x = p.waiting.peekFirst();
        boolean live = x.generation == meta[0] && x.waitingFor(p);
        if (live && now - meta[1] < limit) {
          break;
        }
        p.waiting.pollFirst();
        p.waitingSince.pollFirst();
        if (live) {
          x.queueTimedOut();
        }
      }
    }
  }

  /** A connection attempt to {@code up} starts: counted against the pool's limits until it closes. */
  void connecting(Pool p) {
    p.open++;
    p.connecting++;
  }

  /** The attempt finished; {@code ok}: the connection is open (and counted until it closes). */
  void connected(Upstream up, Pool p, boolean ok) {
    p.connecting--;
    if (!ok) {
      p.open--;
    }
    slotFreed(up, p);
  }

  /** An open connection of {@code p} closed. */
  void closed(Upstream up, Pool p) {
    p.open--;
    slotFreed(up, p);
  }

  /** A connection or attempt slot came free: the first waiting request may open a connection now. */
  private void slotFreed(Upstream up, Pool p) {
    if (p.waiting.isEmpty()) {
      return;
    }
    io.meridian.config.ProxyConfig.UpstreamPool limits = engine.config().proxy().upstreamPool();
    while (mayConnect(p, limits)) {
      PooledExchange x = nextWaiting(p);
      if (x == null) {
        return;
      }
      x.connectNew(up, p);
    }
  }

  /**
   * Back after a complete response on a reusable connection, idle from {@code now}: to the first waiting request
   * if there is one, else to the pool.
   */
  void release(Upstream up, UpstreamConn c, long now) {
    Pool p = pool(up);
    if (!c.ch.isActive()) {
      c.ch.close();
      return;
    }
    PooledExchange w = nextWaiting(p);
    if (w != null) {
      w.usePooled(c);
      return;
    }
    if (p.idle.size() >= MAX_IDLE_PER_UPSTREAM) {
      c.ch.close();
      return;
    }
    c.idleSince = now;
    p.idle.addLast(c);
    if (!pruning) {
      pruning = true;
      periodic(5000, this::prune);
    }
  }

  /** An idle connection closed by the upstream leaves the pool. */
  void forget(Upstream up, UpstreamConn c) {
    Pool p = idle.get(up);
    if (p != null) {
      p.idle.remove(c);
    }
  }

  private void prune() {
    long now = System.nanoTime();
    for (Pool p : idle.values()) {
      ArrayDeque<UpstreamConn> q = p.idle;
      // oldest first: the deque is in release order
      UpstreamConn c;
      while ((c = q.peekFirst()) != null && now - c.idleSince > IDLE_UPSTREAM_NANOS) {
        q.pollFirst();
        c.ch.close();
      }
    }
  }

  /** Opens a new connection to {@code up} (TLS with host-name verification for https upstreams). */
  ChannelFuture connect(Upstream up, UpstreamConn handler, int connectTimeoutMs) {
    Bootstrap b = bootstrap.clone().option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMs)
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            if (up.ssl) {
              SslHandler ssl = tls.newHandler(ch.alloc(), up.host, up.port); // SNI: the upstream's host name
              SSLEngine engine = ssl.engine();
              SSLParameters p = engine.getSSLParameters();
              if (engine.getSSLParameters() != null && verifyHost()) {
                // RFC 2818 / RFC 6125 host name check: cross-region hops cross the internet
                p.setEndpointIdentificationAlgorithm("HTTPS");
                engine.setSSLParameters(p);
              }
              ch.pipeline().addLast("tls", ssl);
            }
            ch.pipeline().addLast("upstream", handler);
          }
        });
    return b.connect(up.host, up.port);
  }

  private boolean verifyHost() {
    return engine.config().proxy().upstreamTls().verify();
  }

  void closeAll() {
    eventLoop.execute(() -> {
      timers.forEach(t -> t.cancel(false));
      timers.clear();
      for (Pool p : idle.values()) {
        p.idle.forEach(c -> c.ch.close());
        p.idle.clear();
      }
    });
  }
}
