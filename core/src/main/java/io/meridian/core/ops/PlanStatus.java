package io.meridian.core.ops;

import io.meridian.core.ControlBus;
import io.meridian.core.RoutingPlan;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;

/**
 * The plan a role serves, as operators see it: {@code meridian_plan_version}, {@code meridian_plan_age_seconds}
 * and {@code meridian_plan_source_connected} on /metrics, and a {@code plan} entry in /readyz's body. A plan
 * source that is unreachable is reported as a warning beside the last known plan; it never makes the role
 * unready, because answering from the last known plan is exactly what a data plane must do then (static
 * stability).
 */
public final class PlanStatus {
  private PlanStatus() {}

  public static void register(OpsEndpoints ops, ControlBus bus) {
    GaugeWithCallback.builder().name("meridian_plan_version")
        .help("version of the routing plan this role serves")
        .callback(cb -> cb.call(bus.currentPlan().version())).register(ops.registry());
    GaugeWithCallback.builder().name("meridian_plan_age_seconds")
        .help("seconds since the served plan was made by the controller")
        .callback(cb -> cb.call(ageSeconds(bus.currentPlan()))).register(ops.registry());
    GaugeWithCallback.builder().name("meridian_plan_source_connected")
        .help("1 when new plans can reach this role now (in-process controller or etcd watch up), else 0")
        .labelNames("source")
        .callback(cb -> {
          ControlBus.Source s = bus.source();
          cb.call(s.connected() ? 1 : 0, s.kind());
        }).register(ops.registry());
    ops.info("plan", () -> describe(bus));
  }

  static double ageSeconds(RoutingPlan p) {
    return Math.max(0, Duration.between(p.createdAt(), Instant.now()).toMillis() / 1000.0);
  }

  /** The body of /readyz's {@code plan} entry. */
  public static JsonObject describe(ControlBus bus) {
    RoutingPlan p = bus.currentPlan();
    ControlBus.Source s = bus.source();
    JsonObject j = new JsonObject().put("version", p.version()).put("created_at", p.createdAt().toString())
        .put("age_seconds", Math.round(ageSeconds(p))).put("reason", p.reason()).put("source", s.kind())
        .put("connected", s.connected()).put("detail", s.detail());
    if (!s.connected()) {
      j.put("warning", "the plan source is unreachable: serving the last known plan v" + p.version()
          + " until it is back (answers continue; changes wait)");
    }
    return j;
  }
}
