package io.meridian.controller;

import io.meridian.controller.impl.ControllerRoleImpl;
import io.meridian.core.Role;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.vertx.core.Future;
import java.time.Clock;

/**
 * The failover controller role: turns health reports and measured demand into routing plans, and serves the
 * admin API (on {@code controller.admin_listen}) through which operators drain, fail, restore and promote
 * regions.
 *
 * <pre>{@code
 * Role controller = ControllerRole.create(new RoleContext(vertx, config, bus, geo, ops));
 * controller.start().onSuccess(v -> ...); // admin API at controller.admin_listen
 * }</pre>
 */
public interface ControllerRole extends Role {

  static ControllerRole create(RoleContext ctx) {
    return ControllerRoleImpl.create(ctx, Clock.systemUTC());
  }

  /** With a clock of the caller's choosing: tests drive hold-downs, ramps and drains with it. */
  static ControllerRole create(RoleContext ctx, Clock clock) {
    return ControllerRoleImpl.create(ctx, clock);
  }

  /**
   * Evaluates now (as the periodic timer does) and completes with the plan current afterwards, whether or not
   * a new one was published.
   */
  Future<RoutingPlan> evaluateNow();

  /**
   * Where operator commands are judged and applied: the admin API calls it, and so can a console or
   * automation in the same process.
   */
  Commands commands();

  /** The admin listener's bound port (useful when configured as port 0). */
  int adminPort();
}
