package io.meridian.proxy.impl;

import io.meridian.config.MeridianConfig;
import io.meridian.config.ProxyConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.RoleContext;
import io.meridian.proxy.ProxyRole;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy role as the launcher runs it: every client listener on the proxy's own engine ({@link H1Server}, on
 * every event loop) — {@code proxy.listen} plaintext HTTP/1.1, or with {@code proxy.tls} TLS with ALPN choosing
 * HTTP/2 ({@link H2Connection}) or HTTP/1.1 ({@link H1Connection}), and {@code proxy.h2c_listen} — or, with
 * {@code -Dmeridian.proxy.engine=vertx}, one {@link ProxyVerticle} per event loop with the Vert.x server and its own
 * upstream client; the ops endpoints on {@code proxy.ops_listen}; and subscriptions to plans (swapped into the
 * engine's snapshot) and health reports (replication watermarks).
 */
public final class DefaultProxyRole implements ProxyRole {
  private static final Logger LOG = LoggerFactory.getLogger(DefaultProxyRole.class);

  private final RoleContext ctx;
  private final ProxyEngine engine;
  private final AccessLog accessLog;
  private final List<String> deployments = new ArrayList<>();
  private final TrafficReporter reporter;
  private volatile int port = -1;
  private volatile int opsPort = -1;
  private HttpServer opsServer;
  private volatile H1Server h1;
  /** {@code proxy.tls} as the listener was started with (bound at start, as {@code listen}). */
  private volatile boolean tlsListener;
  private ControlBus.Subscription planSub;
  private ControlBus.Subscription healthSub;
  private ControlBus.Subscription trafficSub;
  /** Bumped by every config that changes proxy.users.jwt: a slower, older key load is not put in force after it. */
  private final AtomicInteger keysGeneration = new AtomicInteger();

  private DefaultProxyRole(RoleContext ctx) {
    this.ctx = ctx;
    ProxyMetrics metrics = ProxyMetrics.register(ctx.ops().registry());
    this.engine = new ProxyEngine(ctx.config(), ctx.bus().currentPlan(), ctx.geo(), metrics);
    this.accessLog = new AccessLog(engine);
    this.reporter = new TrafficReporter(ctx.vertx(), ctx.bus(), engine);
  }

  public static ProxyRole create(RoleContext ctx) {
    return new DefaultProxyRole(ctx);
  }

  @Override
  public String name() {
    return "proxy";
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public int opsPort() {
    return opsPort;
  }

  @Override
  public Future<Void> start() {
    planSub = ctx.bus().onPlan(engine::onPlan);
    healthSub = ctx.bus().onHealth(engine::onHealth);
    trafficSub = ctx.bus().onTraffic(engine::onTraffic); // every proxy's report, own included: admission shares
    ctx.ops().readiness("listening", () -> port > 0 ? null : "proxy listener not bound yet");
    ctx.ops().readiness("plan", () -> engine.snapshot().plan() != null ? null : "no routing plan yet");
    ProxyConfig cfg = ctx.config().proxy();
    ConnectionLimit.checkDescriptors(cfg.maxConnections());
    ConnectionLimit.checkHeap(cfg.maxConnections(), cfg.tls() != null);
    int instances = Math.max(1, eventLoops());
    AtomicInteger bound = new AtomicInteger(-1);
    // Port 0 asks for an ephemeral port; Vert.x shares one random port between instances when given a negative
    // port, so every event loop serves the same (ephemeral) port.
    int listenPort = cfg.listen().port() == 0 ? -1 : cfg.listen().port();
    // Every listener runs on the proxy's own engine unless asked otherwise (A/B measurement): plaintext HTTP/1.1,
    // TLS (the handshake, then ALPN: h2 or HTTP/1.1) and h2c, all on Netty on Vert.x's event loops. With
    // meridian.proxy.engine=vertx one Vert.x server (and client) per event loop serves them instead.
    boolean fast = !"vertx".equals(System.getProperty("meridian.proxy.engine"));
    tlsListener = cfg.tls() != null;
    Future<Integer> keys = startKeys(ctx.config());
    Future<Void> listening;
    if (fast) {
      H1Server server = new H1Server(ctx.vertx(), engine, accessLog);
      h1 = server;
      listening = keys.compose(x -> cfg.tls() != null
              ? server.listenTls(cfg.listen().host(), cfg.listen().port(), cfg.tls())
              : server.listen(cfg.listen().host(), cfg.listen().port()))
          .compose(p -> {
            port = p;
            return cfg.h2cListen() == null ? Future.succeededFuture()
                : server.listenH2c(cfg.h2cListen().host(), cfg.h2cListen().port()).map(h2c -> {
                  h2cBound.set(h2c);
                  return null;
                });
          });
    } else {
      listening = keys.compose(p -> ctx.vertx().deployVerticle(() -> new ProxyVerticle(listenPort, bound),
          new DeploymentOptions().setInstances(instances)).map(id -> {
            deployments.add(id);
            port = bound.get();
            return null;
          }));
    }
    return listening
        .compose(v -> ctx.ops().listen(cfg.opsListen()))
        .map(server -> {
          opsServer = server;
          opsPort = server.actualPort();
          reporter.start();
          LOG.info("proxy listening on {}:{} ({} event loops, {}), ops on {}:{}", cfg.listen().host(), port,
              instances, h1 == null ? "Vert.x engine" : cfg.tls() == null ? "HTTP/1.1 engine"
                  : "TLS (" + H1Server.serverTlsEngineName() + " engine); own engine for h2 and http/1.1",
              cfg.opsListen().host(), opsPort);
          return null;
        });
  }

  /**
   * Puts the JWT keys of {@code config} in force before the listeners open: the secret, the public key and the
   * JWK set file are loaded (a JWK set file that cannot be loaded fails the start), and the first fetch of a JWKS
   * URL has been tried (a failure does not: requests are served, their tokens refused, until keys arrive).
   */
  private Future<Integer> startKeys(MeridianConfig config) {
    if (config.proxy().users().source() != ProxyConfig.UserSource.JWT) {
      return Future.succeededFuture(-1);
    }
    JwtKeys keys = new JwtKeys(ctx.vertx(), config.proxy().users().jwt(), engine.metrics, null);
    return keys.start().map(v -> {
      engine.jwtKeys(keys);
      keys.activate();
      return -1;
    }).onFailure(e -> keys.close());
  }

  /**
   * A config whose {@code proxy.users.jwt} changed: its keys load in the background while the previous ones stay
   * in force; then they replace them. A JWKS URL fetched before keeps its last set until the new first fetch.
   */
  private void reconfigureKeys(MeridianConfig config) {
    ProxyConfig.Users users = config.proxy().users();
    JwtKeys current = engine.jwtKeys();
    int gen = keysGeneration.incrementAndGet();
    if (users.source() != ProxyConfig.UserSource.JWT) {
      if (current != null) {
        engine.jwtKeys(null);
        current.close();
        current.publishNone();
      }
      return;
    }
    if (current != null && current.cfg.equals(users.jwt())) {
      return;
    }
    JwtKeys next = new JwtKeys(ctx.vertx(), users.jwt(), engine.metrics, current);
    next.start().onComplete(ar -> {
      synchronized (keysGeneration) {
        if (ar.failed() || gen != keysGeneration.get()) {
          next.close();
          if (ar.failed()) {
            LOG.error("proxy.users.jwt keys not changed, the previous ones stay in force: {}",
                ar.cause().getMessage());
          }
          return;
        }
        JwtKeys old = engine.jwtKeys();
        engine.jwtKeys(next);
        if (old != null) {
          old.close();
          old.publishNone();
        }
        next.activate();
        LOG.info("proxy.users.jwt changed: {} key(s) in force", next.index().size());
      }
    });
  }

  /** Event loops to serve on: one per core, as nginx's worker_processes auto. */
  private static int eventLoops() {
    String override = System.getProperty("meridian.proxy.eventLoops");
    return override != null ? Integer.parseInt(override) : Runtime.getRuntime().availableProcessors();
  }

  @Override
  public void reconfigure(MeridianConfig config) {
    ProxyConfig old = engine.config().proxy();
    engine.onConfig(config);
    reconfigureKeys(config);
    if (!old.listen().equals(config.proxy().listen()) || !old.opsListen().equals(config.proxy().opsListen())) {
      LOG.warn("proxy.listen / proxy.ops_listen changed: takes effect on restart (routes, limits and upstreams"
          + " are applied now)");
    }
  }

  @Override
  public Future<Void> stop() {
    if (planSub != null) {
      planSub.cancel();
    }
    if (healthSub != null) {
      healthSub.cancel();
    }
    if (trafficSub != null) {
      trafficSub.cancel();
    }
    reporter.stop();
    keysGeneration.incrementAndGet();
    JwtKeys keys = engine.jwtKeys();
    if (keys != null) {
      keys.close();
    }
    List<Future<?>> all = new ArrayList<>();
    for (String id : deployments) {
      all.add(ctx.vertx().undeploy(id));
    }
    deployments.clear();
    if (h1 != null) {
      all.add(h1.close());
      h1 = null;
    }
    if (opsServer != null) {
      all.add(opsServer.close());
    }
    port = -1;
    return Future.join(all).mapEmpty();
  }

  /** One event loop's listener and upstream client. */
  private final class ProxyVerticle extends VerticleBase {
    private final int listenPort;
    private final AtomicInteger bound;

    ProxyVerticle(int listenPort, AtomicInteger bound) {
      this.listenPort = listenPort;
      this.bound = bound;
    }

    @Override
    public Future<?> start() {
      ProxyConfig cfg = engine.config().proxy();
      ProxyConfig.Limits lim = cfg.limits();
      HttpClientOptions co = new HttpClientOptions();
      ProxyConfig.UpstreamTls ut = cfg.upstreamTls();
      if (ut.verify()) {
        co.setVerifyHost(true); // certificate and host name checked: cross-region hops cross the internet
        if (ut.caFile() != null) {
          co.setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(ut.caFile().toString()));
        }
      } else {
        co.setTrustAll(true).setVerifyHost(false);
      }
      if (ut.clientCertFile() != null) {
        co.setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions().setCertPath(ut.clientCertFile().toString())
            .setKeyPath(ut.clientKeyFile().toString()));
      }
      HttpClient client = vertx.httpClientBuilder()
          .with(co.setProtocolVersion(HttpVersion.HTTP_1_1).setKeepAlive(true)
              .setIdleTimeout((int) lim.idleTimeout().toMillis()).setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
              .setKeepAliveTimeout(55).setPipelining(false).setTcpNoDelay(true).setDecompressionSupported(false)
              .setMaxHeaderSize(64 * 1024).setMaxInitialLineLength(8192)
              .setConnectTimeout((int) cfg.connectTimeout().toMillis()).setName("meridian-proxy"))
          // the same limits as the HTTP/1.1 path's pool; Vert.x has no cap on attempts in progress
          .with(new PoolOptions().setHttp1MaxSize(cfg.upstreamPool().maxConnections())
              .setMaxWaitQueueSize(cfg.upstreamPool().maxQueued()))
          .build();
      HttpServerOptions so = new HttpServerOptions().setHost(cfg.listen().host()).setPort(listenPort)
          .setTcpNoDelay(true).setHttp2ClearTextEnabled(false).setCompressionSupported(false)
          .setDecompressionSupported(false).setHandle100ContinueAutomatically(true)
          .setMaxHeaderSize(lim.maxHeaderBytes()).setMaxInitialLineLength(lim.maxUriBytes() + 32)
          .setIdleTimeout((int) lim.idleTimeout().toMillis()).setIdleTimeoutUnit(TimeUnit.MILLISECONDS);
      if (cfg.tls() != null) {
        so.setSsl(true).setUseAlpn(true).setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions()
            .setCertPath(cfg.tls().certFile().toString()).setKeyPath(cfg.tls().keyFile().toString()));
      }
      ProxyHandler handler = new ProxyHandler(vertx, engine, client, accessLog);
      Future<?> h2c = Future.succeededFuture();
      if (cfg.h2cListen() != null) {
        int h2cPort = cfg.h2cListen().port() == 0 ? -2 : cfg.h2cListen().port();
        HttpServerOptions ho = new HttpServerOptions(so).setSsl(false).setHttp2ClearTextEnabled(true)
            .setHost(cfg.h2cListen().host()).setPort(h2cPort);
        h2c = vertx.createHttpServer(ho).connectionHandler(conn -> admit(conn)).requestHandler(req -> {
          if (req.version() != HttpVersion.HTTP_2) {
            // HTTP/1.x here would bypass the framing guard of the main listener: refuse it outright
            req.response().setStatusCode(400).putHeader("connection", "close")
                .putHeader("content-type", "application/json").putHeader(Exchange.REGION_HEADER, "none")
                .end("{\"error\":\"bad_request\",\"status\":400,\"message\":\"this listener serves HTTP/2 only"
                    + " (prior knowledge or Upgrade: h2c)\"}");
            return;
          }
          handler.handle(req);
        }).listen().onSuccess(srv -> h2cBound.compareAndSet(-1, srv.actualPort()));
      }
      Promise<Void> p = Promise.promise();
      vertx.createHttpServer(so).connectionHandler(conn -> {
        if (admit(conn)) {
          onClientConnection(conn);
        }
      }).requestHandler(handler).listen().onComplete(ar -> {
        if (ar.succeeded()) {
          bound.compareAndSet(-1, ar.result().actualPort());
          p.complete();
        } else {
          p.fail(ar.cause());
        }
      });
      return Future.all(p.future(), h2c);
    }
  }

  private final AtomicInteger h2cBound = new AtomicInteger(-1);

  @Override
  public int h2cPort() {
    return h2cBound.get();
  }

  /**
   * {@code proxy.max_connections} on the Vert.x listeners (TLS, h2c): Vert.x hands a connection over once it is
   * set up (after the TLS handshake), so it is counted — or closed at once, beyond the limit — from then on.
   */
  private static final io.netty.util.AttributeKey<Boolean> COUNTED =
      io.netty.util.AttributeKey.valueOf("meridian.proxy.counted");

  private boolean admit(io.vertx.core.http.HttpConnection conn) {
    if (!(conn instanceof io.vertx.core.net.impl.ConnectionBase cb)
        || cb.channel().attr(COUNTED).setIfAbsent(Boolean.TRUE) != null) {
      return true; // counted already: an HTTP/1.1 connection upgraded to h2c is handed over a second time
    }
    if (!engine.connections.tryOpen()) {
      cb.channel().close();
      return false;
    }
    cb.channel().closeFuture().addListener(f -> engine.connections.closed());
    return true;
  }

  /**
   * A new client connection of the Vert.x listener ({@code meridian.proxy.engine=vertx}), called on its event loop
   * right after Vert.x set up its pipeline, before any request byte is decoded: TLS connections are counted by the
   * protocol ALPN chose, and every HTTP/1.x connection gets the {@link SmugglingGuard} in front of its decoder.
   */
  private void onClientConnection(io.vertx.core.http.HttpConnection conn) {
    if (!(conn instanceof io.vertx.core.net.impl.ConnectionBase cb)) {
      return;
    }
    io.netty.channel.ChannelPipeline p = cb.channel().pipeline();
    boolean http1 = p.get("httpDecoder") != null;
    if (tlsListener) {
      engine.metrics.tlsConnection(http1 ? "http/1.1" : "h2", "vertx");
    }
    if (http1 && p.get("meridian-guard") == null) {
      p.addBefore("httpDecoder", "meridian-guard",
          new SmugglingGuard(engine.snapshot().proxy().limits(), engine.metrics));
    }
  }

  ProxyEngine engine() {
    return engine;
  }
}
