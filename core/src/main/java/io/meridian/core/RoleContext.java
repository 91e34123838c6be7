package io.meridian.core;

import io.meridian.config.MeridianConfig;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import io.vertx.core.Vertx;

/**
 * What the launcher hands each role.
 *
 * @param vertx   the process's Vert.x instance
 * @param config  the configuration at start (later versions arrive through {@link Role#reconfigure})
 * @param bus     plans, health reports and traffic reports
 * @param geo     client locator shared by the roles of the process
 * @param ops     this role's /healthz, /readyz, /metrics and metric registry
 */
public record RoleContext(Vertx vertx, MeridianConfig config, ControlBus bus, GeoLocator geo, OpsEndpoints ops) {}
