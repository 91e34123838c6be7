package io.meridian.launcher;

import io.meridian.checker.HealthCheckerRole;
import io.meridian.config.ConfigWatcher;
import io.meridian.config.MeridianConfig;
import io.meridian.controller.ControllerRole;
import io.meridian.core.ControlBus;
import io.meridian.core.Role;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import io.meridian.geodns.GeoDnsRole;
import io.meridian.proxy.ProxyRole;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Meridian process: any subset of the four roles sharing one Vert.x instance, one control bus, one geo
 * locator and one config watcher. Roles are started in dependency order (controller first, so data planes
 * see its first plan; checker next; then the data planes) and stopped in reverse.
 */
public final class MeridianNode {
  private static final Logger LOG = LoggerFactory.getLogger(MeridianNode.class);

  /** The roles, in start order. */
  public enum RoleName {
    CONTROLLER(ControllerRole::create),
    CHECKER(HealthCheckerRole::create),
    DNS(GeoDnsRole::create),
    PROXY(ProxyRole::create);

    private final Function<RoleContext, Role> factory;

    RoleName(Function<RoleContext, Role> factory) {
      this.factory = factory;
    }

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code dns,proxy,checker,controller}; throws with the expectation on an unknown name. */
    public static Set<RoleName> parseList(String csv) {
      EnumSet<RoleName> out = EnumSet.noneOf(RoleName.class);
      for (String s : csv.split(",")) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.isEmpty()) {
          continue;
        }
        try {
          out.add(valueOf(t));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("--roles: unknown role '" + s.trim()
              + "' (expected: a comma-separated subset of dns,proxy,checker,controller)");
        }
      }
      if (out.isEmpty()) {
        throw new IllegalArgumentException("--roles: empty (expected: a subset of dns,proxy,checker,controller)");
      }
      return out;
    }
  }

  private final Vertx vertx;
  private final ControlBus bus;
  private final GeoLocator geo;
  private final ConfigWatcher watcher;
  private final List<Role> roles = new ArrayList<>();

  private MeridianNode(Vertx vertx, ControlBus bus, GeoLocator geo, ConfigWatcher watcher) {
    this.vertx = vertx;
    this.bus = bus;
    this.geo = geo;
    this.watcher = watcher;
  }

  /**
   * Starts the given roles. {@code configFile} is watched for live changes.
   */
  public static Future<MeridianNode> start(Vertx vertx, Path configFile, MeridianConfig config, Set<RoleName> which) {
    ControlBus bus = ControlBus.inProcess(RoutingPlan.initial(config));
    GeoLocator geo;
    try {
      geo = GeoLocator.open(vertx, config.geo());
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    ConfigWatcher watcher = ConfigWatcher.watch(vertx, configFile, config, Duration.ofSeconds(1));
    MeridianNode node = new MeridianNode(vertx, bus, geo, watcher);
    Future<Void> chain = Future.succeededFuture();
    for (RoleName r : RoleName.values()) {
      if (!which.contains(r)) {
        continue;
      }
      chain = chain.compose(v -> {
        OpsEndpoints ops = OpsEndpoints.create(vertx, r.label());
        Role role = r.factory.apply(new RoleContext(vertx, config, bus, geo, ops));
        node.roles.add(role);
        return role.start().onSuccess(x -> LOG.info("role {} started", r.label()));
      });
    }
    watcher.onChange(cfg -> {
      geo.reconfigure(cfg.geo());
      for (Role role : node.roles) {
        role.reconfigure(cfg);
      }
    });
    return chain.map(node).recover(e -> node.stop().transform(x -> Future.failedFuture(e)));
  }

  public ControlBus bus() {
    return bus;
  }

  public ConfigWatcher configWatcher() {
    return watcher;
  }

  public List<Role> roles() {
    return List.copyOf(roles);
  }

  /** Stops roles in reverse start order. */
  public Future<Void> stop() {
    watcher.close();
    Future<Void> chain = Future.succeededFuture();
    List<Role> reversed = new ArrayList<>(roles);
    java.util.Collections.reverse(reversed);
    for (Role r : reversed) {
      chain = chain.eventually(() -> r.stop().recover(e -> {
        LOG.warn("role {} did not stop cleanly: {}", r.name(), e.toString());
        return Future.succeededFuture();
      }));
    }
    return chain.eventually(() -> {
      geo.close();
      bus.close();
      return Future.succeededFuture();
    });
  }
}
