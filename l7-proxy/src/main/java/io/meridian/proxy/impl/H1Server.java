package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The plain {@code proxy.listen} listener on the proxy's own HTTP/1.1 path, directly on Netty and on Vert.x's
 * event loops (epoll when Vert.x runs native transport), in the style of haproxy: one parser that validates and
 * records each request head ({@link H1Parser}), per event loop a pool of idle keep-alive connections to each
 * upstream ({@link H1Loop}), request and response heads rewritten as bytes and bodies relayed raw with
 * back-pressure. A connection and every upstream connection it uses stay on one event loop: no locks.
 */
final class H1Server {
  private final VertxInternal vertx;
  private final ProxyEngine engine;
  private final AccessLog accessLog;
  private final Map<EventExecutor, H1Loop> loops = new IdentityHashMap<>();
  private Channel server;

  H1Server(Vertx vertx, ProxyEngine engine, AccessLog accessLog) {
    this.vertx = (VertxInternal) vertx;
    this.engine = engine;
    this.accessLog = accessLog;
  }

  /**
   * Sets up one {@link H1Loop} per event loop (upstream pools, timers) without binding anything: enough for
   * {@link #adopt} alone (the TLS listener) or before {@link #listen}.
   */
  Future<Void> prepare() {
    if (!loops.isEmpty()) {
      return Future.succeededFuture();
    }
    SslContext upstreamTls;
    try {
      upstreamTls = upstreamTls(vertx, engine.config().proxy().upstreamTls());
    } catch (Exception e) {
      return Future.failedFuture(new IllegalArgumentException("proxy.upstream_tls: " + e.getMessage(), e));
    }
    for (EventExecutor e : vertx.nettyEventLoopGroup()) {
      loops.put(e, new H1Loop((EventLoop) e, vertx, engine, accessLog, upstreamTls));
    }
    return Future.succeededFuture();
  }

  /**
   * Takes over a client connection whose TLS handshake is done and whose ALPN chose HTTP/1.1 (or nothing): every
   * handler after the {@link SslHandler} — the HTTP/1.x codec the TLS listener had put there — is removed and an
   * {@link H1Connection} marked as TLS serves the decrypted bytes from then on. Called on the channel's event loop
   * before any request byte was read past the handshake, so the first request meets the same parser as on the
   * plain listener. False when the channel is not on one of this server's event loops (it is then left as it is).
   */
  boolean adopt(Channel ch) {
    H1Loop loop = loops.get(ch.eventLoop());
    ChannelPipeline p = ch.pipeline();
    if (loop == null || !ch.eventLoop().inEventLoop() || p.get(SslHandler.class) == null) {
      return false;
    }
    List<String> after = new ArrayList<>();
    boolean seen = false;
    for (Map.Entry<String, ChannelHandler> e : p) {
      if (seen) {
        after.add(e.getKey());
      } else if (e.getValue() instanceof SslHandler) {
        seen = true;
      }
    }
    for (String name : after) {
      p.remove(name);
    }
    p.addLast("meridian-h1", new H1Connection(loop, engine.snapshot().proxy().limits(), true));
    // the previous owner may have paused reading (back-pressure of its own): the new one starts reading
    ch.config().setAutoRead(true);
    return true;
  }

  /** Binds {@code host:port} (0: ephemeral); the future has the bound port. */
  Future<Integer> listen(String host, int port) {
    Future<Void> ready = prepare();
    if (ready.failed()) {
      return Future.failedFuture(ready.cause());
    }
    EventLoopGroup group = vertx.nettyEventLoopGroup();
    ServerBootstrap b = new ServerBootstrap().group(vertx.acceptorEventLoopGroup(), group)
        .channelFactory(vertx.transport().serverChannelFactory(false))
        .handler(new AcceptGate(engine.connections))
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            H1Loop loop = loops.get(ch.eventLoop());
            ch.pipeline().addLast("meridian-h1", new H1Connection(loop, engine.snapshot().proxy().limits()));
          }
        });
    Promise<Integer> p = Promise.promise();
    ChannelFuture f = b.bind(new InetSocketAddress(host, port));
    f.addListener(done -> {
      if (done.isSuccess()) {
        server = f.channel();
        p.complete(((InetSocketAddress) server.localAddress()).getPort());
      } else {
        p.fail(done.cause());
      }
    });
    return p.future();
  }

  /**
   * On the listening channel, in front of Netty's acceptor: a connection beyond {@code proxy.max_connections} is
   * closed before it is registered with an event loop (no handler, no buffer, nothing read), and a failed accept
   * (out of file descriptors) pauses accepting for 1 s — as Netty's acceptor does — counted and logged at most
   * once per interval instead of a warning with a stack trace per failure.
   */
  private static final class AcceptGate extends io.netty.channel.ChannelInboundHandlerAdapter {
    private final ConnectionLimit limit;

    AcceptGate(ConnectionLimit limit) {
      this.limit = limit;
    }

    @Override
    public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
      Channel child = (Channel) msg;
      if (!limit.tryOpen()) {
        child.unsafe().closeForcibly();
        return;
      }
      // completes on every close of a registered channel (a registration that fails — the loop shutting down —
      // would leave one count behind; the process is stopping then)
      child.closeFuture().addListener(f -> limit.closed());
      ctx.fireChannelRead(child);
    }

    @Override
    public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
      if (!(cause instanceof java.io.IOException)) {
        ctx.fireExceptionCaught(cause);
        return;
      }
      limit.acceptFailed(cause);
      io.netty.channel.ChannelConfig config = ctx.channel().config();
      if (config.isAutoRead()) {
        // the failing connection stays in the kernel's queue: retrying at once would spin on the same error
        config.setAutoRead(false);
        ctx.channel().eventLoop().schedule(() -> config.setAutoRead(true), 1, java.util.concurrent.TimeUnit.SECONDS);
      }
    }
  }

  Future<Void> close() {
    loops.values().forEach(H1Loop::closeAll);
    if (server == null) {
      return Future.succeededFuture();
    }
    Promise<Void> p = Promise.promise();
    server.close().addListener(f -> p.complete());
    return p.future();
  }

  /**
   * The client TLS context for {@code https://} upstreams, from {@code proxy.upstream_tls}: certificates verified
   * by default (host names too, in {@link H1Loop}), optional CA file and client certificate — the same PEM
   * readers as Vert.x's client, so both transports accept the same files.
   */
  static SslContext upstreamTls(Vertx vertx, ProxyConfig.UpstreamTls ut) throws Exception {
    SslContextBuilder b = SslContextBuilder.forClient();
    if (!ut.verify()) {
      b.trustManager(InsecureTrustManagerFactory.INSTANCE);
    } else if (ut.caFile() != null) {
      b.trustManager(new io.vertx.core.net.PemTrustOptions().addCertPath(ut.caFile().toString())
          .getTrustManagerFactory(vertx));
    }
    if (ut.clientCertFile() != null) {
      b.keyManager(new io.vertx.core.net.PemKeyCertOptions().setCertPath(ut.clientCertFile().toString())
          .setKeyPath(ut.clientKeyFile().toString()).getKeyManagerFactory(vertx));
    }
    return b.build();
  }
}
