package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.LoopbackPorts;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Several services per region: a route names the service its requests go to in the region the plan chose; each
 * service has its own upstreams, round robin and outlier detection, and the region's failover and capacity stay
 * whole. Two regions, each with a web app (the region's own upstreams) and an API (service "api"), all real HTTP
 * servers on loopback.
 */
class ProxyServicesTest {
  private final Vertx vertx = Vertx.vertx();
  private final HttpClient http = HttpClient.newHttpClient();
  private ProxyRole proxy;

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private HttpServer origin(String name) throws Exception {
    return vertx.createHttpServer().requestHandler(r -> r.response().end(name + " " + r.path()))
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private void startProxy(String yaml) throws Exception {
    MeridianConfig config = ConfigLoader.parse("test.yaml", yaml, Path.of("."), Path.of("test.yaml"));
    proxy = ProxyRole.create(new RoleContext(vertx, config, ControlBus.inProcess(RoutingPlan.initial(config)),
        GeoLocator.open(vertx, config.geo()), OpsEndpoints.create(vertx, "proxy")));
    proxy.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static final String CONFIG = """
      regions:
        - id: eu-west
          latitude: 53.3
          longitude: -6.3
          capacity_rps: 100000
          upstreams: ['http://127.0.0.1:%d']
          health_check: {url: 'http://127.0.0.1:%d/health'}
          services:
            - name: api
              upstreams: [%s]
              health_check: {url: 'http://127.0.0.1:%d/health'}
        - id: us-east
          latitude: 39.0
          longitude: -77.5
          capacity_rps: 100000
          upstreams: ['http://127.0.0.1:%d']
          health_check: {url: 'http://127.0.0.1:%d/health'}
          services:
            - name: api
              upstreams: ['http://127.0.0.1:%d']
      geo:
        nets:
          - {cidr: 127.0.0.0/8, latitude: 50.1, longitude: 8.7, country: DE, continent: EU}
      proxy:
        listen: 127.0.0.1:0
        ops_listen: 127.0.0.1:0
        outlier_detection: {consecutive_failures: 1, base_ejection: 1m}
        routes:
          - {name: api, path_prefix: /api/, service: api}
          - {name: web, path_prefix: /}
      """;

  @Test
  void eachRouteReachesItsOwnServiceInTheChosenRegion() throws Exception {
    HttpServer euWeb = origin("eu-web");
    HttpServer euApi1 = origin("eu-api-1");
    HttpServer euApi2 = origin("eu-api-2");
    HttpServer usWeb = origin("us-web");
    HttpServer usApi = origin("us-api");
    startProxy(CONFIG.formatted(euWeb.actualPort(), euWeb.actualPort(),
        "'http://127.0.0.1:" + euApi1.actualPort() + "', 'http://127.0.0.1:" + euApi2.actualPort() + "'",
        euApi1.actualPort(), usWeb.actualPort(), usWeb.actualPort(), usApi.actualPort()));
    // a client in Germany: eu-west is nearest; /api/ goes to its API service (both upstreams in turn), the rest to
    // its web app
    java.util.Set<String> apis = new java.util.HashSet<>();
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> r = get("/api/users/" + i);
      assertEquals(200, r.statusCode(), r.body());
      assertEquals("eu-west", r.headers().firstValue("x-meridian-region").orElse(""));
      apis.add(r.body().substring(0, r.body().indexOf(' ')));
      assertTrue(r.body().endsWith(" /api/users/" + i), r.body());
    }
    assertEquals(java.util.Set.of("eu-api-1", "eu-api-2"), apis);
    HttpResponse<String> web = get("/index.html");
    assertEquals(200, web.statusCode(), web.body());
    assertEquals("eu-web /index.html", web.body());
  }

  @Test
  void aFailingApiUpstreamIsEjectedWithinItsServiceAndTheWebAppIsUntouched() throws Exception {
    HttpServer euWeb = origin("eu-web");
    HttpServer euApi = origin("eu-api");
    int euApiDown = LoopbackPorts.tcp(); // nothing listens: connection refused
    HttpServer usWeb = origin("us-web");
    HttpServer usApi = origin("us-api");
    startProxy(CONFIG.formatted(euWeb.actualPort(), euWeb.actualPort(),
        "'http://127.0.0.1:" + euApiDown + "', 'http://127.0.0.1:" + euApi.actualPort() + "'",
        euApi.actualPort(), usWeb.actualPort(), usWeb.actualPort(), usApi.actualPort()));
    for (int i = 0; i < 4; i++) {
      get("/api/x"); // the refused one is retried (an idempotent GET) or ejected; either way answered
    }
    for (int i = 0; i < 6; i++) {
      HttpResponse<String> r = get("/api/x");
      assertEquals(200, r.statusCode(), r.body());
      assertEquals("eu-api /api/x", r.body(), "the dead API upstream is ejected: the live one serves");
      HttpResponse<String> w = get("/");
      assertEquals("eu-web /", w.body(), "the web app's only upstream is not affected by the API's ejection");
    }
  }
}
