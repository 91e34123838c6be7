package io.meridian.launcher;

import io.meridian.checker.HealthCheckerRole;
import io.meridian.config.ConfigWatcher;
import io.meridian.config.MeridianConfig;
import io.meridian.config.StateStoreConfig;
import io.meridian.controller.ControllerRole;
import io.meridian.core.ControlBus;
import io.meridian.core.PlanCache;
import io.meridian.core.Role;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import io.meridian.core.ops.PlanStatus;
import io.meridian.etcd.EtcdClient;
import io.meridian.etcd.EtcdControlBus;
import io.meridian.etcd.EtcdOptions;
import io.meridian.geodns.GeoDnsRole;
import io.meridian.proxy.ProxyRole;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Meridian process: any subset of the four roles sharing one Vert.x instance, one control bus, one geo
 * locator and one config watcher. Roles are started in dependency order (controller first, so data planes
 * see its first plan; checker next; then the data planes) and stopped in reverse.
 *
 * <p>The bus is in-process with {@code state_store.type: embedded} and etcd with {@code etcd}. Every process
 * keeps the last plan it applied in {@code state_store.path} and starts from it, so a restart resumes the plan
 * and its version instead of replaying from version 1, and a data plane restarted while its control plane is
 * away serves what it served before.
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

  /**
   * How a process is started beyond its config.
   *
   * @param staticPlan  serve the configuration's plan (or the last-known-good one) without any plan source: the
   *                    operator's explicit choice for a data plane with no controller and no etcd
   */
  public record Options(boolean staticPlan) {
    public static final Options DEFAULT = new Options(false);
  }

  private final Vertx vertx;
  private final ControlBus bus;
  private final EtcdClient etcd;
  private final GeoLocator geo;
  private final ConfigWatcher watcher;
  private final PlanCache cache;
  private final WorkerExecutor cacheWriter;
  private final List<Role> roles = new ArrayList<>();

  private MeridianNode(Vertx vertx, ControlBus bus, EtcdClient etcd, GeoLocator geo, ConfigWatcher watcher,
      PlanCache cache) {
    this.vertx = vertx;
    this.bus = bus;
    this.etcd = etcd;
    this.geo = geo;
    this.watcher = watcher;
    this.cache = cache;
    this.cacheWriter = vertx.createSharedWorkerExecutor("meridian-plan-cache-" + System.identityHashCode(this), 1);
  }

  public static Future<MeridianNode> start(Vertx vertx, Path configFile, MeridianConfig config, Set<RoleName> which) {
    return start(vertx, configFile, config, which, Options.DEFAULT);
  }

  /** Starts the given roles. {@code configFile} is watched for live changes. */
  public static Future<MeridianNode> start(Vertx vertx, Path configFile, MeridianConfig config, Set<RoleName> which,
      Options options) {
    StateStoreConfig store = config.stateStore();
    String refusal = refusal(store, which, options);
    if (refusal != null) {
      return Future.failedFuture(new IllegalStateException(refusal));
    }
    if (options.staticPlan() && (store.type() == StateStoreConfig.Type.ETCD || which.contains(RoleName.CONTROLLER))) {
      LOG.warn("--static-plan ignored: this process {}", which.contains(RoleName.CONTROLLER)
          ? "runs the controller, which makes the plans" : "receives plans through etcd (state_store.type: etcd)");
    }
    PlanCache cache = PlanCache.at(cacheFile(store.path(), which));
    return vertx.executeBlocking(cache::load, false).compose(cached -> {
      RoutingPlan initial = initialPlan(config, cached);
      GeoLocator geo;
      try {
        geo = GeoLocator.open(vertx, config.geo());
      } catch (RuntimeException e) {
        return Future.failedFuture(e);
      }
      Future<ControlBus> busFuture;
      EtcdClient etcd = null;
      if (store.type() == StateStoreConfig.Type.ETCD) {
        etcd = EtcdClient.connect(vertx, EtcdOptions.from(store.etcd()));
        busFuture = EtcdControlBus.open(vertx, etcd, store.etcd().prefix(), store.etcd().leaseTtl(), initial)
            .map(b -> (ControlBus) b);
      } else if (options.staticPlan() && !which.contains(RoleName.CONTROLLER)) {
        busFuture = Future.succeededFuture(ControlBus.fixed(initial));
      } else {
        busFuture = Future.succeededFuture(ControlBus.inProcess(initial));
      }
      EtcdClient etcdClient = etcd;
      return busFuture.compose(bus -> {
        LOG.info("routing plan v{} at start ({}); plan source: {} ({})", bus.currentPlan().version(),
            bus.currentPlan().reason(), bus.source().kind(), bus.source().detail());
        ConfigWatcher watcher = ConfigWatcher.watch(vertx, configFile, config, Duration.ofSeconds(1));
        MeridianNode node = new MeridianNode(vertx, bus, etcdClient, geo, watcher, cache);
        node.keepLastKnownGood();
        Future<Void> chain = Future.succeededFuture();
        for (RoleName r : RoleName.values()) {
          if (!which.contains(r)) {
            continue;
          }
          chain = chain.compose(v -> {
            OpsEndpoints ops = OpsEndpoints.create(vertx, r.label());
            ConfigStatus.register(ops, watcher);
            Role role = r.factory.apply(new RoleContext(vertx, config, bus, geo, ops));
            node.roles.add(role);
            return role.start().onSuccess(x -> {
              // after the role's start: a role may register a check named "plan" of its own (the proxy's "a plan
              // is present"), and a later registration under the same name replaces the earlier one; the entry
              // operators read for the served plan's version, age and source is this one
              if (r == RoleName.DNS || r == RoleName.PROXY) {
                PlanStatus.register(ops, bus);
              }
              LOG.info("role {} started", r.label());
            });
          });
        }
        watcher.onChange(cfg -> {
          geo.reconfigure(cfg.geo());
          for (Role role : node.roles) {
            role.reconfigure(cfg);
          }
        });
        return chain.map(node).recover(e -> node.stop().transform(x -> Future.failedFuture(e)));
      });
    });
  }

  /**
   * Why this combination cannot work, or null. A data plane or a checker in a process without the controller
   * and without etcd would never see a plan change or reach a controller: it must not start quietly and look
   * ready while serving its first plan forever.
   */
  static String refusal(StateStoreConfig store, Set<RoleName> which, Options options) {
    if (store.type() == StateStoreConfig.Type.ETCD || which.contains(RoleName.CONTROLLER)) {
      return null;
    }
    String roles = which.stream().map(RoleName::label).collect(Collectors.joining(","));
    if (which.contains(RoleName.CHECKER)) {
      return "--roles " + roles + ": the checker's reports would reach no controller: this process has no"
          + " controller role and state_store.type is embedded (in-process only). Set state_store.type: etcd"
          + " (see config/meridian.multi-process.yaml) or run the checker with the controller"
          + " (--roles controller,checker,...)";
    }
    if (!options.staticPlan()) {
      return "--roles " + roles + ": this process has no way to receive routing plans: no controller role and"
          + " state_store.type is embedded (in-process only). Set state_store.type: etcd with the controller's"
          + " etcd endpoints (see config/meridian.multi-process.yaml), add the controller role"
          + " (--roles controller," + roles + "), or pass --static-plan to serve the configuration's plan"
          + " (or the last-known-good one in state_store.path) unchanged";
    }
    return null;
  }

  /**
   * The controller's committed plan lives in {@code plan.gz} (the process resumes its version from it); a
   * data-plane-only process keeps its last-known-good plan in a file named after its roles, so processes that
   * share a state directory never overwrite each other's.
   */
  static Path cacheFile(Path stateDir, Set<RoleName> which) {
    if (which.contains(RoleName.CONTROLLER)) {
      return stateDir.resolve("plan.gz");
    }
    return stateDir.resolve("last-known-good-plan." + which.stream().map(RoleName::label)
        .collect(Collectors.joining("-")) + ".gz");
  }

  /**
   * The plan to start from: the cached one when it describes this configuration's regions; otherwise the
   * configuration's first plan, numbered after the cached one so that versions never go backwards.
   */
  static RoutingPlan initialPlan(MeridianConfig config, Optional<RoutingPlan> cached) {
    RoutingPlan fromConfig = RoutingPlan.initial(config);
    if (cached.isEmpty()) {
      return fromConfig;
    }
    RoutingPlan c = cached.get();
    if (c.topology().sameAs(config.regions()) && sameRegionSettings(c, config)) {
      LOG.info("resuming from the last plan on disk: v{} ({})", c.version(), c.reason());
      return c;
    }
    LOG.warn("the last plan on disk (v{}) describes other regions than the configuration; starting from the"
        + " configuration's plan as v{}", c.version(), c.version() + 1);
    return new RoutingPlan(c.version() + 1, fromConfig.createdAt(), "configuration's regions changed since plan v"
        + c.version(), fromConfig.topology(), fromConfig.regions(), fromConfig.zones(), fromConfig.homes(), 0);
  }

  private static boolean sameRegionSettings(RoutingPlan p, MeridianConfig config) {
    for (var r : config.regions()) {
      var s = p.region(r.id());
      if (s == null || !s.residencyGroup().equals(r.residencyGroup()) || s.capacityRps() != r.capacityRps()) {
        return false;
      }
    }
    return true;
  }

  /** Every applied plan goes to disk on a worker; a burst of plans writes only the newest. */
  private void keepLastKnownGood() {
    AtomicReference<RoutingPlan> pending = new AtomicReference<>();
    AtomicBoolean writing = new AtomicBoolean();
    bus.onPlan(p -> {
      pending.set(p);
      if (writing.compareAndSet(false, true)) {
        cacheWriter.executeBlocking(() -> {
          RoutingPlan next;
          while ((next = pending.getAndSet(null)) != null) {
            try {
              cache.save(next);
            } catch (java.io.IOException e) {
              LOG.warn("could not save plan v{} to {}: {} (serving it anyway)", next.version(), cache.file(),
                  e.toString());
            }
          }
          writing.set(false);
          return null;
        }, true);
      }
    });
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
      Future<Void> closed = bus instanceof EtcdControlBus e ? e.shutdown() : Future.succeededFuture();
      if (!(bus instanceof EtcdControlBus)) {
        bus.close();
      }
      return closed.eventually(() -> {
        if (etcd != null) {
          etcd.close();
        }
        cacheWriter.close();
        return Future.succeededFuture();
      });
    });
  }
}
