package io.meridian.geodns.impl;

import io.meridian.config.DnsConfig;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.RoleContext;
import io.meridian.geodns.Explanation;
import io.meridian.geodns.GeoDnsRole;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Name;

/**
 * The GeoDNS role: owns the listeners, the plan subscription and zone (re)loading; answering is
 * {@link AnswerPipeline}'s job.
 */
public final class GeoDnsServer implements GeoDnsRole {
  private static final Logger LOG = LoggerFactory.getLogger(GeoDnsServer.class);

  private final RoleContext ctx;
  private final Vertx vertx;
  private final DnsMetrics metrics;
  private final AnswerPipeline pipeline;
  private final DnsListeners listeners;
  private volatile MeridianConfig config;
  private volatile boolean bound;
  private HttpServer opsServer;
  private ControlBus.Subscription planSubscription;
  private long zoneTimer = -1;
  /** Zone file → (mtime, size) when last loaded, to notice replacements. */
  private final Map<Path, List<Long>> zoneStamps = new HashMap<>();

  private GeoDnsServer(RoleContext ctx, Clock clock) {
    this.ctx = ctx;
    this.vertx = ctx.vertx();
    this.config = ctx.config();
    this.metrics = DnsMetrics.register(ctx.ops().registry());
    this.pipeline = AnswerPipeline.create(ctx.geo(), metrics, ctx.bus().currentPlan(), settings(ctx.config()),
        clock);
    this.pipeline.rateLimiter(rateLimiter(ctx.config().dns()));
    this.listeners = new DnsListeners(vertx, pipeline, ctx.config().dns());
  }

  public static GeoDnsServer create(RoleContext ctx, Clock clock) {
    return new GeoDnsServer(ctx, clock);
  }

  static AnswerPipeline.Settings settings(MeridianConfig c) {
    DnsConfig d = c.dns();
    long longestWindow = 0;
    for (DnsConfig.ZoneConfig z : d.zones()) {
      for (DnsConfig.GeoName g : z.names()) {
        longestWindow = Math.max(longestWindow, g.transitionTtl().toSeconds() * 1000 * TtlRule.WINDOW_TTLS);
      }
    }
    return new AnswerPipeline.Settings(d.udpPayloadSize(), d.ecsMaxSourcePrefixV4(), d.ecsMaxSourcePrefixV6(),
        d.explainLabel().isEmpty() ? null : d.explainLabel(), longestWindow);
  }

  static RateLimiter rateLimiter(DnsConfig d) {
    return RateLimiter.of(d.rrl().responsesPerSecond(), d.rrl().slip(), d.rrl().slots());
  }

  @Override
  public String name() {
    return "dns";
  }

  @Override
  public Future<Void> start() {
    ctx.ops().readiness("dns-listeners", () -> bound ? null : "DNS sockets not bound yet");
    ctx.ops().readiness("zones", () -> pipeline.authority().zones().size() == config.dns().zones().size()
        ? null : "zones not loaded");
    planSubscription = ctx.bus().onPlan(pipeline::plan);
    return loadAll(config)
        .compose(authority -> {
          pipeline.authority(authority);
          return listeners.bind();
        })
        .compose(v -> {
          bound = true;
          Router router = Router.router(vertx);
          ctx.ops().mount(router);
          router.get("/v1/explain").handler(new ExplainHandler(this));
          DnsConfig d = config.dns();
          return vertx.createHttpServer().requestHandler(router).listen(d.opsListen().port(), d.opsListen().host());
        })
        .map(http -> {
          opsServer = http;
          zoneTimer = vertx.setPeriodic(config.dns().zoneReloadCheckInterval().toMillis(), id -> checkZoneFiles());
          LOG.info("GeoDNS serving {} zone(s) on {}:{} (udp+tcp), ops on :{}", config.dns().zones().size(),
              config.dns().listen().host(), listeners.port(), http.actualPort());
          return null;
        });
  }

  /** Loads every zone on a worker thread (zone files are blocking IO). */
  private Future<Authority> loadAll(MeridianConfig c) {
    return vertx.executeBlocking(() -> {
      List<ZoneData> zones = new ArrayList<>();
      Map<Path, List<Long>> stamps = new HashMap<>();
      for (DnsConfig.ZoneConfig z : c.dns().zones()) {
        try {
          if (z.file() != null) {
            stamps.put(z.file(), stamp(z.file()));
          }
          zones.add(ZoneLoader.load(c.dns(), z, c));
          metrics.zoneLoad(true);
        } catch (ZoneLoader.ZoneLoadException e) {
          metrics.zoneLoad(false);
          throw new IllegalStateException("zone " + z.origin() + " rejected: " + e.getMessage(), e);
        }
      }
      synchronized (zoneStamps) {
        zoneStamps.clear();
        zoneStamps.putAll(stamps);
      }
      return new Authority(zones);
    }, false);
  }

  private static List<Long> stamp(Path file) {
    try {
      return List.of(Files.getLastModifiedTime(file).toMillis(), Files.size(file));
    } catch (java.io.IOException e) {
      return List.of(-1L, -1L);
    }
  }

  /**
   * Reloads zone files that changed on disk. A bad file is rejected with file:line and the zone keeps serving
   * its previous data; queries never wait for a reload: the new zone set is swapped in whole.
   */
  private void checkZoneFiles() {
    MeridianConfig c = config;
    vertx.executeBlocking(() -> {
      Authority current = pipeline.authority();
      List<ZoneData> next = new ArrayList<>(current.zones());
      boolean changed = false;
      for (DnsConfig.ZoneConfig z : c.dns().zones()) {
        if (z.file() == null) {
          continue;
        }
        List<Long> now = stamp(z.file());
        List<Long> before;
        synchronized (zoneStamps) {
          before = zoneStamps.get(z.file());
          zoneStamps.put(z.file(), now);
        }
        if (now.equals(before)) {
          continue;
        }
        try {
          ZoneData fresh = ZoneLoader.load(c.dns(), z, c);
          next.replaceAll(old -> old.origin().equals(fresh.origin()) ? fresh : old);
          changed = true;
          metrics.zoneLoad(true);
          LOG.info("zone {} reloaded from {}", z.origin(), z.file());
        } catch (ZoneLoader.ZoneLoadException e) {
          metrics.zoneLoad(false);
          LOG.error("zone {} rejected, still serving the previous version: {}", z.origin(), e.getMessage());
        }
      }
      if (changed && c == config) {
        pipeline.authority(new Authority(next));
      }
      return null;
    }, false);
  }

  @Override
  public void reconfigure(MeridianConfig next) {
    loadAll(next).onSuccess(authority -> {
      config = next;
      pipeline.settings(settings(next));
      pipeline.rateLimiter(rateLimiter(next.dns()));
      pipeline.authority(authority);
      if (!next.dns().listen().equals(listeners.configured())) {
        LOG.warn("dns.listen changed to {}: takes effect on restart", next.dns().listen());
      }
      LOG.info("GeoDNS reconfigured: {} zone(s)", authority.zones().size());
    }).onFailure(e -> LOG.error("GeoDNS kept its previous zones: {}", e.getMessage()));
  }

  @Override
  public Future<Void> stop() {
    bound = false;
    if (planSubscription != null) {
      planSubscription.cancel();
    }
    if (zoneTimer >= 0) {
      vertx.cancelTimer(zoneTimer);
    }
    List<Future<?>> closing = new ArrayList<>();
    closing.add(listeners.close());
    if (opsServer != null) {
      closing.add(opsServer.close());
    }
    return Future.join(closing).mapEmpty();
  }

  @Override
  public int dnsPort() {
    return listeners.port();
  }

  @Override
  public int opsPort() {
    return opsServer == null ? -1 : opsServer.actualPort();
  }

  @Override
  public Future<Explanation> explain(InetAddress client, String name) {
    Name n;
    try {
      n = Name.fromString(name.endsWith(".") ? name : name + ".");
    } catch (org.xbill.DNS.TextParseException e) {
      return Future.failedFuture("name: " + name + " (expected: a domain name)");
    }
    Explanation e = pipeline.explain(n, client.getAddress());
    return e == null ? Future.failedFuture("name: " + name + " (expected: a configured geo name)")
        : Future.succeededFuture(e);
  }

  AnswerPipeline pipeline() {
    return pipeline;
  }

  static byte[] addressBytes(String literal) throws UnknownHostException {
    byte[] b = ClientAddress.parse(literal);
    if (b == null) {
      throw new UnknownHostException(literal);
    }
    return b;
  }

  static Buffer frame(byte[] msg) {
    return Buffer.buffer(msg.length + 2).appendUnsignedShort(msg.length).appendBytes(msg);
  }

  static <T> Future<T> fail(Promise<T> p, String why) {
    p.fail(why);
    return p.future();
  }
}
