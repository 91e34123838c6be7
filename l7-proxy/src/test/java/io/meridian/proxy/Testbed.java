package io.meridian.proxy;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.Health;
import io.meridian.core.RegionState;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A running proxy in front of real in-process upstream servers, one per region, each answering with its
 * region's name (and whatever a test's handler adds). Clients are placed with {@code geo.nets}: 127.0.0.0/8
 * (the test client itself) is in Frankfurt; with {@code trusted_hops: 1}, X-Forwarded-For can name a client in
 * 198.51.100.0/24 (Virginia) or 203.0.113.0/24 (Mumbai).
 */
final class Testbed implements AutoCloseable {
  static final String EU_CLIENT = "192.0.2.10";
  static final String US_CLIENT = "198.51.100.10";
  static final String IN_CLIENT = "203.0.113.10";

  final Vertx vertx;
  final Map<String, HttpServer> upstreams = new LinkedHashMap<>();
  final Map<String, Integer> upstreamPorts = new LinkedHashMap<>();
  final MeridianConfig config;
  /** The config text up to the proxy section's own keys. */
  private final String base;
  final ControlBus bus;
  final ProxyRole proxy;
  final OpsEndpoints ops;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** Regions and their coordinates and residency groups. */
  static final List<String[]> REGIONS = List.of(
      new String[] {"eu-west", "53.3", "-6.3", "eu"},
      new String[] {"us-east", "38.9", "-77.0", "us"},
      new String[] {"ap-south", "19.1", "72.9", "in"});

  Testbed(String proxyYaml, Handler<HttpServerRequest> extra) throws Exception {
    // ample: a test's bursts must not meet the regions' allowed rate (capacity × headroom) unless it means to
    this(proxyYaml, extra, 100_000);
  }

  /**
   * @param proxyYaml  the body of the {@code proxy:} section (indented by 2), beside listen/ops_listen
   * @param extra      optional per-request behaviour of the upstreams; null answers "hello from REGION"
   */
  Testbed(String proxyYaml, Handler<HttpServerRequest> extra, double capacityRps) throws Exception {
    this(proxyYaml, extra, capacityRps, false);
  }

  /**
   * @param oneLoop  proxy and upstreams on one event loop: a request the proxy sends is read by the upstream in
   *                 the same loop's next turn, so a test that times arrivals at the upstreams sees the proxy's
   *                 timing, not how the OS scheduled two threads on a busy machine
   */
  Testbed(String proxyYaml, Handler<HttpServerRequest> extra, double capacityRps, boolean oneLoop)
      throws Exception {
    vertx = oneLoop ? Vertx.vertx(new io.vertx.core.VertxOptions().setEventLoopPoolSize(1)) : Vertx.vertx();
    for (String[] r : REGIONS) {
      String region = r[0];
      HttpServer s = vertx.createHttpServer().requestHandler(req -> {
        req.response().putHeader("x-served-by", region);
        if (extra != null) {
          extra.handle(req);
        } else {
          req.body().onSuccess(b -> req.response().end("hello from " + region));
        }
      }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      upstreams.put(region, s);
      upstreamPorts.put(region, s.actualPort());
    }
    StringBuilder y = new StringBuilder("regions:\n");
    for (String[] r : REGIONS) {
      int port = upstreamPorts.get(r[0]);
      y.append("  - id: ").append(r[0]).append("\n    latitude: ").append(r[1]).append("\n    longitude: ")
          .append(r[2]).append("\n    capacity_rps: ").append(capacityRps).append("\n    residency_group: ")
          .append(r[3]).append("\n    upstreams: [http://127.0.0.1:").append(port).append("]\n")
          .append("    health_check: {url: 'http://127.0.0.1:").append(port).append("/health'}\n");
    }
    y.append("""
        geo:
          nets:
            - {cidr: 127.0.0.0/8, latitude: 50.1, longitude: 8.7, country: DE, continent: EU}
            - {cidr: 192.0.2.0/24, latitude: 48.9, longitude: 2.3, country: FR, continent: EU}
            - {cidr: 198.51.100.0/24, latitude: 40.7, longitude: -74.0, country: US, continent: NA}
            - {cidr: 203.0.113.0/24, latitude: 19.0, longitude: 72.8, country: IN, continent: AS}
        proxy:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
        """);
    base = y.toString();
    config = parse(proxyYaml);
    bus = ControlBus.inProcess(RoutingPlan.initial(config));
    ops = OpsEndpoints.create(vertx, "proxy");
    GeoLocator geo = GeoLocator.open(vertx, config.geo());
    proxy = ProxyRole.create(new RoleContext(vertx, config, bus, geo, ops));
    proxy.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** The config of this bed's regions and geo with {@code proxyYaml} as the body of the proxy section. */
  MeridianConfig parse(String proxyYaml) throws io.meridian.config.ConfigException {
    StringBuilder y = new StringBuilder(base);
    if (proxyYaml != null) {
      y.append(proxyYaml.stripIndent().lines().map(l -> "  " + l).reduce((a, b) -> a + "\n" + b).orElse(""))
          .append('\n');
    }
    return ConfigLoader.parse("test.yaml", y.toString(), Path.of("."), Path.of("test.yaml"));
  }

  /** Hands the running proxy a new proxy section, as a config file edit would. */
  void reconfigure(String proxyYaml) throws io.meridian.config.ConfigException {
    proxy.reconfigure(parse(proxyYaml));
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + proxy.port() + path);
  }

  HttpResponse<String> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> send(HttpRequest r) throws Exception {
    return http.send(r, HttpResponse.BodyHandlers.ofString());
  }

  /** Publishes the next plan with {@code region}'s health replaced. */
  void setHealth(String region, Health health) {
    RoutingPlan p = bus.currentPlan();
    List<RegionState> states = new ArrayList<>();
    for (RegionState r : p.regions()) {
      states.add(r.id().equals(region) ? r.withHealth(health) : r);
    }
    bus.publishPlan(p.next(region + " " + health, states, p.zones(), p.homes(), 0));
  }

  /** Publishes the next plan with new home promotions and fences. */
  void setHomes(io.meridian.core.HomeAssignments homes) {
    RoutingPlan p = bus.currentPlan();
    bus.publishPlan(p.next("homes " + homes, p.regions(), p.zones(), homes, 0));
  }

  /** Publishes a health report in which {@code region} has applied {@code position} from {@code source}. */
  void setWatermark(String region, String source, long position) {
    java.time.Instant now = java.time.Instant.now();
    bus.publishHealth(new io.meridian.core.HealthReport("test", now.toEpochMilli(), now, now.plusSeconds(60),
        List.of(new io.meridian.core.HealthReport.RegionReport(region, Health.HEALTHY, 1, 1, now, "ok",
            Map.of(source, position)))));
  }

  /** The value of one sample line of /metrics, or 0 when absent. */
  double metric(String sample) throws Exception {
    for (String line : metrics().split("\n")) {
      if (line.startsWith(sample + " ")) {
        return Double.parseDouble(line.substring(sample.length() + 1).trim());
      }
    }
    return 0;
  }

  /** Stops one region's upstream server (as if the process died). */
  void kill(String region) throws Exception {
    upstreams.get(region).close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * The ops listener's /metrics. Plain HTTP/1.1 with a timeout and one retry: on Java 25 a send with the client's
   * default (an h2c upgrade offer) to the Vert.x ops server once never completed, and a test without a timeout then
   * hangs the whole build.
   */
  String metrics() throws Exception {
    HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.opsPort() + "/metrics"))
        .version(HttpClient.Version.HTTP_1_1).timeout(Duration.ofSeconds(10)).build();
    try {
      return http.send(r, HttpResponse.BodyHandlers.ofString()).body();
    } catch (java.net.http.HttpTimeoutException e) {
      return http.send(r, HttpResponse.BodyHandlers.ofString()).body();
    }
  }

  @Override
  public void close() throws Exception {
    proxy.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
