package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.SslContextBuilder;
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
 * The client listeners of the proxy's own engine, directly on Netty and on Vert.x's event loops (epoll when Vert.x
 * runs native transport), in the style of haproxy: plaintext HTTP/1.1 ({@link H1Connection}: one parser that
 * validates and records each request head, {@link H1Parser}), TLS with ALPN choosing HTTP/2 ({@link H2Connection})
 * or HTTP/1.1, and h2c. Per event loop a pool of idle keep-alive connections to each upstream ({@link H1Loop}),
 * shared by both protocols; request and response heads rewritten as bytes and bodies relayed with back-pressure. A
 * connection and every upstream connection it uses stay on one event loop: no locks.
 */
final class H1Server {
  private final VertxInternal vertx;
  private final ProxyEngine engine;
  private final AccessLog accessLog;
  private final Map<EventExecutor, H1Loop> loops = new IdentityHashMap<>();
  private final List<Channel> servers = new java.util.concurrent.CopyOnWriteArrayList<>();

  H1Server(Vertx vertx, ProxyEngine engine, AccessLog accessLog) {
    this.vertx = (VertxInternal) vertx;
    this.engine = engine;
    this.accessLog = accessLog;
  }

  /**
   * Sets up one {@link H1Loop} per event loop (upstream pools, timers) without binding anything; every listener
   * of this engine shares them.
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

  /** Binds {@code host:port} (0: ephemeral) for plaintext HTTP/1.1; the future has the bound port. */
  Future<Integer> listen(String host, int port) {
    return bind(host, port, ch -> {
      H1Loop loop = loops.get(ch.eventLoop());
      ch.pipeline().addLast("meridian-h1", new H1Connection(loop, engine.snapshot().proxy().limits()));
    });
  }

  /**
   * Binds {@code host:port} for TLS ({@code proxy.tls}): the handshake by a Netty {@code SslHandler}, then ALPN
   * (RFC 7301) chooses the engine's HTTP/2 ({@link H2Connection}) for {@code h2} and its HTTP/1.1 path
   * ({@link H1Connection}) for {@code http/1.1} or a client without ALPN.
   */
  Future<Integer> listenTls(String host, int port, ProxyConfig.Tls tls) {
    SslContext ctx;
    try {
      ctx = serverTls(vertx, tls);
    } catch (Exception e) {
      return Future.failedFuture(new IllegalArgumentException("proxy.tls: " + e.getMessage(), e));
    }
    return bind(host, port, ch -> {
      H1Loop loop = loops.get(ch.eventLoop());
      ch.pipeline().addLast("tls", ctx.newHandler(ch.alloc()));
      ch.pipeline().addLast("alpn", new Alpn(loop));
    });
  }

  /**
   * Binds {@code host:port} for cleartext HTTP/2 ({@code proxy.h2c_listen}): prior knowledge (the client starts
   * with the preface, RFC 9113 §3.3) or an HTTP/1.1 request with {@code Upgrade: h2c} (RFC 7540 §3.2). Any other
   * HTTP/1.x request is refused with 400; bytes that are neither get GOAWAY(PROTOCOL_ERROR) (RFC 9113 §3.4).
   */
  Future<Integer> listenH2c(String host, int port) {
    return bind(host, port, ch -> {
      H1Loop loop = loops.get(ch.eventLoop());
      ProxyConfig.Limits limits = engine.snapshot().proxy().limits();
      HttpServerCodec http1 = new HttpServerCodec(limits.maxUriBytes() + 32, limits.maxHeaderBytes(), 8192);
      HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(http1, protocol ->
          io.netty.util.AsciiString.contentEquals(Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, protocol)
              ? h2cUpgrade(loop, limits) : null, (int) Math.min(Integer.MAX_VALUE, limits.maxBodyBytes()));
      ch.pipeline().addLast("h2c", new CleartextHttp2ServerUpgradeHandler(http1, upgrade,
          new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel c) {
              // prior knowledge: the preface's bytes go on to the HTTP/2 handlers, not to the HTTP/1.x refusal
              c.pipeline().remove(H2cHttp1Refusal.class);
              H2Connection.configure(c.pipeline(), loop, limits, false);
            }
          }));
      ch.pipeline().addLast("h2c-http1", new H2cHttp1Refusal(engine));
    });
  }

  private static Http2ServerUpgradeCodec h2cUpgrade(H1Loop loop, ProxyConfig.Limits limits) {
    return new Http2ServerUpgradeCodec(H2Connection.upgradeCodec(loop, limits));
  }

  /** After the TLS handshake: the engine for the protocol ALPN chose, counted by protocol and engine. */
  private final class Alpn extends ApplicationProtocolNegotiationHandler {
    private final H1Loop loop;

    Alpn(H1Loop loop) {
      super(ApplicationProtocolNames.HTTP_1_1);
      this.loop = loop;
    }

    @Override
    protected void configurePipeline(io.netty.channel.ChannelHandlerContext ctx, String protocol) {
      ProxyConfig.Limits limits = engine.snapshot().proxy().limits();
      if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
        H2Connection.configure(ctx.pipeline(), loop, limits, true);
        engine.metrics.tlsConnection("h2", "h2");
      } else {
        ctx.pipeline().addLast("meridian-h1", new H1Connection(loop, limits, true));
        engine.metrics.tlsConnection("http/1.1", "h1");
      }
    }

    @Override
    protected void handshakeFailure(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // a scanner or a client that distrusts the certificate: nothing to log per connection
    }
  }

  /**
   * The server TLS context of {@code proxy.tls}: the PEM certificate chain and key read as the Vert.x server reads
   * them, the JDK's TLS engine, ALPN offering h2 then http/1.1, and for h2's sake TLS 1.2 or later with the cipher
   * suites RFC 9113 §9.2.2 allows (Netty's {@link Http2SecurityUtil#CIPHERS}).
   */
  static SslContext serverTls(Vertx vertx, ProxyConfig.Tls tls) throws Exception {
    javax.net.ssl.KeyManagerFactory kmf = new io.vertx.core.net.PemKeyCertOptions()
        .setCertPath(tls.certFile().toString()).setKeyPath(tls.keyFile().toString()).getKeyManagerFactory(vertx);
    return SslContextBuilder.forServer(kmf).sslProvider(serverTlsProvider()).protocols("TLSv1.3", "TLSv1.2")
        .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1))
        .build();
  }

  /**
   * BoringSSL through netty-tcnative where its native library loads (the jar carries it for Linux x86-64 and
   * aarch64), else the JDK's engine; {@code -Dmeridian.proxy.tls.provider=jdk} forces the JDK's. Why: with the
   * JDK's engine TLS HTTP/1.1 cost 1.2-1.5x the CPU per request of plaintext and collected garbage ~10 times a
   * second at 20k rps (its records are heap buffers); BoringSSL works on the pooled direct buffers
   * (l7-proxy/README.md § TLS has the figures).
   */
  static SslProvider serverTlsProvider() {
    if ("jdk".equalsIgnoreCase(System.getProperty("meridian.proxy.tls.provider"))) {
      return SslProvider.JDK;
    }
    return io.netty.handler.ssl.OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
  }

  /** What serves TLS, for the start-up log line: "BoringSSL 1.1.1 (...)" or "JDK". */
  static String serverTlsEngineName() {
    return serverTlsProvider() == SslProvider.OPENSSL ? io.netty.handler.ssl.OpenSsl.versionString() : "the JDK's";
  }

  private Future<Integer> bind(String host, int port, java.util.function.Consumer<Channel> init) {
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
            init.accept(ch);
          }
        });
    Promise<Integer> p = Promise.promise();
    ChannelFuture f = b.bind(new InetSocketAddress(host, port));
    f.addListener(done -> {
      if (done.isSuccess()) {
        servers.add(f.channel());
        p.complete(((InetSocketAddress) f.channel().localAddress()).getPort());
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
    List<Future<Void>> all = new ArrayList<>();
    for (Channel server : servers) {
      Promise<Void> p = Promise.promise();
      server.close().addListener(f -> p.complete());
      all.add(p.future());
    }
    servers.clear();
    return Future.join(all).mapEmpty();
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
