package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Outlier detection never takes a region down by itself: a region whose only origin is down for a while (a
 * restart) gets the first request after the origin is back, whatever ejection concluded meanwhile; with two
 * origins the failing one is ejected and the other serves; ejection can be switched off.
 */
class ProxyOriginRestartTest {
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

  private HttpServer origin(int port, String name) throws Exception {
    return vertx.createHttpServer().requestHandler(r -> r.response().end("from " + name))
        .listen(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private void startProxy(String outliers, int... ports) throws Exception {
    StringBuilder ups = new StringBuilder();
    for (int p : ports) {
      ups.append(ups.length() == 0 ? "" : ", ").append("http://127.0.0.1:").append(p);
    }
    String yaml = """
        regions:
          - id: eu-west
            latitude: 53.3
            longitude: -6.3
            capacity_rps: 100000
            upstreams: [%s]
            health_check: {url: 'http://127.0.0.1:%d/health'}
        geo:
          nets:
            - {cidr: 127.0.0.0/8, latitude: 50.1, longitude: 8.7, country: DE, continent: EU}
        proxy:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          outlier_detection: %s
        """.formatted(ups, ports[0], outliers);
    MeridianConfig config = ConfigLoader.parse("test.yaml", yaml, Path.of("."), Path.of("test.yaml"));
    proxy = ProxyRole.create(new RoleContext(vertx, config, ControlBus.inProcess(RoutingPlan.initial(config)),
        GeoLocator.open(vertx, config.geo()), OpsEndpoints.create(vertx, "proxy")));
    proxy.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private HttpResponse<String> get() throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/x")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private double ejections() throws Exception {
    String m = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.opsPort() + "/metrics"))
        .build(), HttpResponse.BodyHandlers.ofString()).body();
    return m.lines().filter(l -> l.startsWith("meridian_proxy_upstream_ejections_total{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  @Test
  void firstRequestAfterTheOnlyOriginIsBackSucceeds() throws Exception {
    int port = freePort();
    startProxy("{consecutive_failures: 2, base_ejection: 1m}", port);
    for (int i = 0; i < 6; i++) {
      HttpResponse<String> r = get();
      assertEquals(502, r.statusCode(), r.body());
      assertTrue(r.body().contains("upstream_unreachable"), r.body());
    }
    assertEquals(0, ejections(), "the region's last upstream is never ejected");
    origin(port, "back");
    HttpResponse<String> r = get();
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("from back", r.body());
  }

  @Test
  void withTwoOriginsTheFailingOneIsEjectedAndTheOtherServes() throws Exception {
    int down = freePort();
    HttpServer up = origin(0, "up");
    startProxy("{consecutive_failures: 1, base_ejection: 1m}", down, up.actualPort());
    for (int i = 0; i < 6; i++) {
      get(); // a connect failure to `down` is retried nowhere (one region): some of these are 502
    }
    assertEquals(1, ejections());
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> r = get();
      assertEquals(200, r.statusCode(), r.body());
      assertEquals("from up", r.body());
    }
  }

  @Test
  void ejectionCanBeSwitchedOff() throws Exception {
    int down = freePort();
    HttpServer up = origin(0, "up");
    startProxy("{enabled: false, consecutive_failures: 1}", down, up.actualPort());
    int failed = 0;
    for (int i = 0; i < 8; i++) {
      failed += get().statusCode() == 502 ? 1 : 0;
    }
    assertEquals(0, ejections());
    assertEquals(4, failed, "round robin keeps sending every other request to the origin that is down");
  }
}
