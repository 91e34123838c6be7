package io.meridian.core.ops;

import io.meridian.config.ListenAddress;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.ext.web.Router;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.function.Supplier;

/**
 * The operational endpoints every role serves: {@code /healthz} (the process is alive), {@code /readyz}
 * (vertx-health-check: every readiness procedure the role registered passes) and {@code /metrics}
 * (Prometheus text format from the role's own registry plus JVM metrics).
 *
 * <pre>{@code
 * OpsEndpoints ops = OpsEndpoints.create(vertx, "geodns");
 * ops.readiness("plan", () -> plan != null ? null : "no routing plan yet");
 * ops.listen(config.dns().opsListen());
 * }</pre>
 */
public final class OpsEndpoints {
  private final Vertx vertx;
  private final String role;
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final HealthChecks checks;
  private final ExpositionFormats formats = ExpositionFormats.init();

  private OpsEndpoints(Vertx vertx, String role) {
    this.vertx = vertx;
    this.role = role;
    this.checks = HealthChecks.create(vertx);
    JvmMetrics.builder().register(registry);
  }

  public static OpsEndpoints create(Vertx vertx, String role) {
    return new OpsEndpoints(vertx, role);
  }

  public String role() {
    return role;
  }

  /** The role's metric registry; each role's {@code *Metrics} class registers its series here. */
  public PrometheusRegistry registry() {
    return registry;
  }

  /**
   * Registers a readiness condition. The supplier returns null when ready, else the reason it is not; it must
   * not block (it runs on an event loop).
   */
  public void readiness(String name, Supplier<String> notReadyReason) {
    checks.register(name, promise -> {
      String why = notReadyReason.get();
      promise.complete(why == null ? Status.OK() : Status.KO(new io.vertx.core.json.JsonObject().put("reason", why)));
    });
  }

  /**
   * Registers information shown in /readyz's body that never makes the role unready (e.g. the plan's version and
   * age: an old plan is a warning, not a reason to stop answering). The supplier must not block.
   */
  public void info(String name, Supplier<io.vertx.core.json.JsonObject> data) {
    checks.register(name, promise -> promise.complete(Status.OK(data.get())));
  }

  /** Adds /healthz, /readyz and /metrics to a router (the controller mounts them on its admin API). */
  public void mount(Router router) {
    router.get("/healthz").handler(ctx -> ctx.response().putHeader("content-type", "application/json")
        .end("{\"status\":\"UP\",\"role\":\"" + role + "\"}"));
    router.get("/readyz").handler(HealthCheckHandler.createWithHealthChecks(checks));
    router.get("/metrics").handler(ctx -> {
      ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
      try {
        formats.getPrometheusTextFormatWriter().write(out, registry.scrape());
      } catch (IOException e) {
        ctx.fail(e);
        return;
      }
      ctx.response().putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
          .end(Buffer.buffer(out.toByteArray()));
    });
  }

  /** Serves only the ops endpoints on their own listener. */
  public Future<HttpServer> listen(ListenAddress address) {
    Router router = Router.router(vertx);
    mount(router);
    return vertx.createHttpServer().requestHandler(router).listen(address.port(), address.host());
  }
}
