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
  private final IdentityHashMap<Upstream, ArrayDeque<UpstreamConn>> idle = new IdentityHashMap<>();
  private final List<io.netty.util.concurrent.ScheduledFuture<?>> timers = new ArrayList<>();
  private boolean pruning;
  /** Request and response heads of this loop's exchanges are assembled here, one at a time. */
  final HeadBuilder head = new HeadBuilder();

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

  /** An idle, open connection to {@code up}, or null. */
  UpstreamConn acquire(Upstream up) {
    ArrayDeque<UpstreamConn> q = idle.get(up);
    if (q == null) {
      return null;
    }
    UpstreamConn c;
    while ((c = q.pollLast()) != null) {
      if (c.ch.isActive()) {
        return c;
      }
    }
    return null;
  }

  /** Back to the pool after a complete response on a reusable connection, idle from {@code now}. */
  void release(Upstream up, UpstreamConn c, long now) {
    ArrayDeque<UpstreamConn> q = idle.computeIfAbsent(up, k -> new ArrayDeque<>());
    if (q.size() >= MAX_IDLE_PER_UPSTREAM || !c.ch.isActive()) {
      c.ch.close();
      return;
    }
    c.idleSince = now;
    q.addLast(c);
    if (!pruning) {
      pruning = true;
      periodic(5000, this::prune);
    }
  }

  /** An idle connection closed by the upstream leaves the pool. */
  void forget(Upstream up, UpstreamConn c) {
    ArrayDeque<UpstreamConn> q = idle.get(up);
    if (q != null) {
      q.remove(c);
    }
  }

  private void prune() {
    long now = System.nanoTime();
    for (ArrayDeque<UpstreamConn> q : idle.values()) {
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
      for (ArrayDeque<UpstreamConn> q : idle.values()) {
        q.forEach(c -> c.ch.close());
        q.clear();
      }
    });
  }
}
