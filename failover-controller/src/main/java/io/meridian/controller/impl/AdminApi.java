package io.meridian.controller.impl;

import io.meridian.controller.AdminState;
import io.meridian.core.PlanJson;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/** The admin API's routes (vertx-web). */
final class AdminApi {
  private final ControllerRoleImpl role;

  private AdminApi(ControllerRoleImpl role) {
    this.role = role;
  }

  static AdminApi create(ControllerRoleImpl role) {
    return new AdminApi(role);
  }

  void mount(Router router) {
    router.get("/v1/plan").handler(this::plan);
    router.get("/v1/regions").handler(this::regions);
  }

  private void plan(RoutingContext rc) {
    json(rc, 200, PlanJson.toJson(role.bus().currentPlan()));
  }

  private void regions(RoutingContext rc) {
    RoutingPlan plan = role.bus().currentPlan();
    AdminState admin = role.engine().admin();
    JsonArray out = new JsonArray();
    for (RegionState r : plan.regions()) {
      AdminState.RegionOverride o = admin.regions().get(r.id());
      double limit = r.capacityRps() * role.config().controller().headroom();
      out.add(PlanJson.regionJson(r)
          .put("utilisation", r.capacityRps() > 0 ? r.loadRps() / r.capacityRps() : 0)
          .put("limit_rps", limit)
          .put("note", role.engine().note(r.id()))
          .put("override", o == null ? null : new JsonObject().put("mode", o.mode().name().toLowerCase())
              .put("reason", o.reason()).put("by", o.by()).put("force", o.force())
              .put("expires_at", o.expiresAt() == null ? null : o.expiresAt().toString())));
    }
    json(rc, 200, new JsonObject().put("plan_version", plan.version()).put("regions", out));
  }

  void persistAutomatic(AdminState next, List<JsonObject> events) {}

  void close() {}

  static void json(RoutingContext rc, int status, JsonObject body) {
    rc.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encodePrettily());
  }
}
