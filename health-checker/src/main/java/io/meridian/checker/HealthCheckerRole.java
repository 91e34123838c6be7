package io.meridian.checker;

import io.meridian.checker.impl.CheckerMetrics;
import io.meridian.checker.impl.VantagePoint;
import io.meridian.config.MeridianConfig;
import io.meridian.core.HealthReport;
import io.meridian.core.Role;
import io.meridian.core.RoleContext;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The health-checker role: runs one vantage point per name in {@code health_check.vantage_points} (one in
 * production), each probing every region's endpoints and publishing a {@link HealthReport} on the control bus
 * every {@code health_check.report_interval} and on every change. Serves /healthz, /readyz, /metrics and
 * {@code GET /v1/evidence[?region=ID]} on {@code health_check.ops_listen}.
 *
 * <pre>{@code
 * Role checker = HealthCheckerRole.create(new RoleContext(vertx, config, bus, geo, ops));
 * checker.start().onSuccess(v -> log.info("checking"));
 * }</pre>
 *
 * <p>All probing and deciding runs on one Vert.x context owned by the role; the evidence handler hops onto
 * it, so no state is shared across threads.
 */
public final class HealthCheckerRole implements Role {
  private final RoleContext ctx;
  private final Context context;
  private final CheckerMetrics metrics;
  private volatile MeridianConfig config;
  private final Map<String, VantagePoint> vantagePoints = new LinkedHashMap<>();
  private HttpServer server;

  private HealthCheckerRole(RoleContext ctx) {
    this.ctx = ctx;
    this.config = ctx.config();
    this.context = ctx.vertx().getOrCreateContext();
    this.metrics = CheckerMetrics.register(ctx.ops().registry());
    ctx.ops().readiness("health-reports", () -> {
      for (VantagePoint vp : List.copyOf(vantagePointsSnapshot())) {
        if (vp.lastReport() == null) {
          return "vantage point " + vp.name() + " has not published a report yet";
        }
      }
      return vantagePointsSnapshot().isEmpty() ? "not started" : null;
    });
  }

  public static HealthCheckerRole create(RoleContext ctx) {
    return new HealthCheckerRole(ctx);
  }

  @Override
  public String name() {
    return "checker";
  }

  @Override
  public Future<Void> start() {
    Promise<Void> started = Promise.promise();
    context.runOnContext(v -> {
      for (String name : config.healthCheck().vantagePoints()) {
        synchronized (vantagePoints) {
          vantagePoints.put(name, VantagePoint.start(ctx.vertx(), name, config, ctx.bus(), metrics));
        }
      }
      Router router = Router.router(ctx.vertx());
      ctx.ops().mount(router);
      router.get("/v1/evidence").handler(evidenceHandler());
      ctx.vertx().createHttpServer().requestHandler(router)
          .listen(config.healthCheck().opsListen().port(), config.healthCheck().opsListen().host())
          .onSuccess(s -> server = s).<Void>mapEmpty().onComplete(started);
    });
    return started.future();
  }

  @Override
  public void reconfigure(MeridianConfig next) {
    context.runOnContext(v -> {
      this.config = next;
      List<String> wanted = next.healthCheck().vantagePoints();
      synchronized (vantagePoints) {
        for (String name : new ArrayList<>(vantagePoints.keySet())) {
          if (!wanted.contains(name)) {
            vantagePoints.remove(name).stop();
          }
        }
        for (String name : wanted) {
          VantagePoint vp = vantagePoints.get(name);
          if (vp == null) {
            vantagePoints.put(name, VantagePoint.start(ctx.vertx(), name, next, ctx.bus(), metrics));
          } else {
            vp.reconfigure(next);
          }
        }
      }
    });
  }

  @Override
  public Future<Void> stop() {
    Promise<Void> stopped = Promise.promise();
    context.runOnContext(v -> {
      synchronized (vantagePoints) {
        vantagePoints.values().forEach(VantagePoint::stop);
        vantagePoints.clear();
      }
      (server == null ? Future.<Void>succeededFuture() : server.close()).onComplete(stopped);
    });
    return stopped.future();
  }

  /** The port the ops listener is bound to (useful with port 0), or -1 before start. */
  public int opsPort() {
    HttpServer s = server;
    return s == null ? -1 : s.actualPort();
  }

  /** The latest report of each vantage point this role runs (those that have published). */
  public List<HealthReport> latestReports() {
    List<HealthReport> out = new ArrayList<>();
    for (VantagePoint vp : vantagePointsSnapshot()) {
      if (vp.lastReport() != null) {
        out.add(vp.lastReport());
      }
    }
    return out;
  }

  /**
   * {@code GET /v1/evidence[?region=ID]}: for every vantage point and region, the verdict and since when, the
   * hold-down, and per endpoint its status, consecutive counts and last probe outputs. Mountable on any
   * router (the controller's admin API, for one).
   */
  public Handler<RoutingContext> evidenceHandler() {
    return rc -> {
      String region = rc.request().getParam("region");
      if (region != null && config.region(region).isEmpty()) {
        rc.response().setStatusCode(404).putHeader("content-type", "application/json")
            .end(new JsonObject().put("error", "unknown region '" + region + "'").encode());
        return;
      }
      context.runOnContext(v -> {
        JsonArray vps = new JsonArray();
        for (VantagePoint vp : vantagePointsSnapshot()) {
          vps.add(vp.evidence(region));
        }
        rc.response().putHeader("content-type", "application/json")
            .end(new JsonObject().put("vantage_points", vps).encodePrettily());
      });
    };
  }

  private List<VantagePoint> vantagePointsSnapshot() {
    synchronized (vantagePoints) {
      return List.copyOf(vantagePoints.values());
    }
  }
}
