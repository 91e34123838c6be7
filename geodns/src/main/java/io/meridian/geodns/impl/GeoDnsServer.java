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
  private long cookieTimer = -1;
  /** The cookie secret shared through the state store (etcd), when there is one and no secret file. */
  private ControlBus.Subscription sharedCookieSecret;
  private long resignTimer = -1;
  /**
   * How often signed zones are checked for signatures due for renewal ({@link ZoneSigner#due}): far shorter than
   * the shortest validity a quarter of which passes before renewal (1 h / 4).
   */
  static final long RESIGN_CHECK_MILLIS = 60_000;
  /** The NSID when {@code dns.nsid} is not set: this machine's host name, read once. */
  private final String hostname;
  /** The cookie secret file's (mtime, size) when last read, to notice a rotation. */
  private volatile List<Long> secretStamp = List.of();
  /** Zone file → (mtime, size) when last loaded, to notice replacements. */
  private final Map<Path, List<Long>> zoneStamps = new HashMap<>();

  private GeoDnsServer(RoleContext ctx, Clock clock) {
    this.ctx = ctx;
    this.vertx = ctx.vertx();
    this.config = ctx.config();
    this.metrics = DnsMetrics.register(ctx.ops().registry());
    this.hostname = hostname();
    this.pipeline = AnswerPipeline.create(ctx.geo(), metrics, ctx.bus().currentPlan(),
        settings(ctx.config(), hostname), clock);
    this.pipeline.rateLimiter(rateLimiter(ctx.config().dns()));
    metrics.dnssec(ctx.ops().registry(), pipeline::authority);
    this.listeners = new DnsListeners(vertx, pipeline, ctx.config().dns());
  }

  public static GeoDnsServer create(RoleContext ctx, Clock clock) {
    return new GeoDnsServer(ctx, clock);
  }

  static AnswerPipeline.Settings settings(MeridianConfig c, String hostname) {
    DnsConfig d = c.dns();
    long longestWindow = 0;
    for (DnsConfig.ZoneConfig z : d.zones()) {
      for (DnsConfig.GeoName g : z.names()) {
        longestWindow = Math.max(longestWindow, g.transitionTtl().toSeconds() * 1000 * TtlRule.WINDOW_TTLS);
      }
    }
    return new AnswerPipeline.Settings(d.udpPayloadSize(), d.ecsMaxSourcePrefixV4(), d.ecsMaxSourcePrefixV6(),
        d.explainLabel().isEmpty() ? null : d.explainLabel(), longestWindow, nsid(d.nsid(), hostname),
        ClientNetworks.of(d.explain()), unlocated(c));
  }

  /** The NSID payload of {@code dns.nsid}; null when off. */
  static byte[] nsid(DnsConfig.Nsid n, String hostname) {
    return switch (n.kind()) {
      case OFF -> null;
      case HOSTNAME -> hostname.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      case TEXT -> n.value().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      case HEX -> java.util.HexFormat.of().parseHex(n.value());
    };
  }

  static AnswerPipeline.Unlocated unlocated(MeridianConfig c) {
    DnsConfig.Unlocated u = c.dns().unlocated();
    io.meridian.core.geo.ClientLocation at = u.region() == null ? null : c.region(u.region())
        .map(r -> io.meridian.core.geo.ClientLocation.of(r.latitude(), r.longitude(), null, null, 0, null))
        .orElse(null);
    return new AnswerPipeline.Unlocated(u.policy(), at);
  }

  /**
   * This machine's name without a DNS lookup (which could block or leak): $HOSTNAME, else the kernel's, else
   * "meridian".
   */
  static String hostname() {
    String h = System.getenv("HOSTNAME");
    if (h == null || h.isBlank()) {
      try {
        h = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
      } catch (java.io.IOException | RuntimeException e) {
        h = null;
      }
    }
    return h == null || h.isBlank() ? "meridian" : h;
  }

  /**
   * The server cookie secrets of {@code dns.cookies} (blocking: reads the secret file). With a file: its first
   * line is the secret, an optional second the previous one. Without: a random secret, {@code previous} kept.
   */
  static ServerCookies cookies(DnsConfig.CookieConfig c, ServerCookies before) throws java.io.IOException {
    if (!c.enabled()) {
      return null;
    }
    if (c.secretFile() == null) {
      return new ServerCookies(ServerCookies.Secret.random(RANDOM), before == null ? null : before.current());
    }
    List<String> lines = Files.readAllLines(c.secretFile()).stream().map(String::strip)
        .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    if (lines.isEmpty() || lines.size() > 2) {
      throw new IllegalArgumentException("dns.cookies.secret_file " + c.secretFile() + ": " + lines.size()
          + " secrets (expected: the secret, optionally the previous one on a second line)");
    }
    try {
      return new ServerCookies(ServerCookies.Secret.parse(lines.get(0)),
          lines.size() == 2 ? ServerCookies.Secret.parse(lines.get(1)) : null);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("dns.cookies.secret_file " + c.secretFile() + ": " + e.getMessage(), e);
    }
  }

  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

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
    return loadCookies(config)
        .compose(v -> loadAll(config))
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
          resignTimer = vertx.setPeriodic(RESIGN_CHECK_MILLIS, id -> resignDue());
          scheduleCookieRotation(config.dns().cookies());
          LOG.info("GeoDNS serving {} zone(s) on {}:{} (udp+tcp), ops on :{}", config.dns().zones().size(),
              config.dns().listen().host(), listeners.port(), http.actualPort());
          return null;
        });
  }

  /** Reads (or makes) the cookie secrets on a worker and swaps them in. */
  private Future<Void> loadCookies(MeridianConfig c) {
    return vertx.executeBlocking(() -> {
      DnsConfig.CookieConfig cc = c.dns().cookies();
      if (cc.secretFile() != null) {
        secretStamp = stamp(cc.secretFile());
      }
      pipeline.cookies(cookies(cc, pipeline.cookies()));
      return null;
    }, false);
  }

  /**
   * A generated secret is replaced every {@code secret_rotation}; the one before stays accepted, which covers the
   * cookies it made (they expire after an hour, and the rotation is at least that). Where the state store is shared
   * (etcd), the generated secret is the store's: every instance holds the same one and rotates it together, so a
   * cookie handed out by one instance is valid at the others behind the same address (RFC 9018 §4). A file's
   * secret is re-read when the file changes (checked with the zone files).
   */
  private void scheduleCookieRotation(DnsConfig.CookieConfig cc) {
    if (cookieTimer >= 0) {
      vertx.cancelTimer(cookieTimer);
      cookieTimer = -1;
    }
    if (sharedCookieSecret != null) {
      sharedCookieSecret.cancel();
      sharedCookieSecret = null;
    }
    if (!cc.enabled() || cc.secretFile() != null) {
      return;
    }
    sharedCookieSecret = ctx.bus().onSharedSecret(SHARED_COOKIE_SECRET, 16, cc.secretRotation(), shared -> {
      pipeline.cookies(new ServerCookies(ServerCookies.Secret.of(shared.current()),
          shared.previous() == null ? null : ServerCookies.Secret.of(shared.previous())));
      LOG.info("DNS cookie secret from the state store (made {}); the previous one is still accepted",
          shared.rotatedAt());
    }).orElse(null);
    if (sharedCookieSecret == null) {
      cookieTimer = vertx.setPeriodic(cc.secretRotation().toMillis(), id -> vertx.executeBlocking(() -> {
        pipeline.cookies(cookies(cc, pipeline.cookies()));
        LOG.info("DNS cookie secret rotated; the previous one is still accepted");
        return null;
      }, false));
    }
  }

  /** The state store's name for the DNS cookie secret shared by every instance. */
  static final String SHARED_COOKIE_SECRET = "dns-cookie";

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
      checkSecretFile(c.dns().cookies());
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

  /** Renews, on a worker, the signatures of every signed zone that is due (signing is CPU work, never a loop's). */
  void resignDue() {
    java.time.Instant now = java.time.Instant.now();
    for (ZoneData z : pipeline.authority().zones()) {
      ZoneSigner s = z.signer();
      if (s != null && s.due(now)) {
        vertx.executeBlocking(() -> {
          s.resign(java.time.Instant.now());
          return null;
        }, false).onFailure(e -> LOG.error("zone {} could not be re-signed; the current signatures stay until {}",
            z.origin(), s.signatures().expiration, e));
      }
    }
  }

  /** On the zone check's worker: a replaced secret file is read again; a bad one keeps the secrets in use. */
  private void checkSecretFile(DnsConfig.CookieConfig cc) {
    if (!cc.enabled() || cc.secretFile() == null) {
      return;
    }
    List<Long> now = stamp(cc.secretFile());
    if (now.equals(secretStamp)) {
      return;
    }
    secretStamp = now;
    try {
      pipeline.cookies(cookies(cc, pipeline.cookies()));
      LOG.info("DNS cookie secret re-read from {}", cc.secretFile());
    } catch (java.io.IOException | IllegalArgumentException e) {
      LOG.error("DNS cookie secret file rejected, keeping the secrets in use: {}", e.getMessage());
    }
  }

  @Override
  public void reconfigure(MeridianConfig next) {
    boolean sameCookies = next.dns().cookies().equals(config.dns().cookies());
    (sameCookies ? Future.<Void>succeededFuture() : loadCookies(next)).compose(v -> loadAll(next))
        .onSuccess(authority -> {
      config = next;
      if (!sameCookies) {
        scheduleCookieRotation(next.dns().cookies());
      }
      pipeline.settings(settings(next, hostname));
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
    if (resignTimer >= 0) {
      vertx.cancelTimer(resignTimer);
    }
    if (cookieTimer >= 0) {
      vertx.cancelTimer(cookieTimer);
    }
    if (sharedCookieSecret != null) {
      sharedCookieSecret.cancel();
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
