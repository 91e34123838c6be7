package io.meridian.controller.impl;

import io.meridian.config.MeridianConfig;
import io.meridian.controller.AdminState;
import io.meridian.controller.ControllerRole;
import io.meridian.core.ControlBus;
import io.meridian.core.RegionState;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the engine to Vert.x: bus subscriptions, the evaluation timer, the admin listener. Every engine call
 * and every state-store write runs on one single-threaded worker lane, in submission order: decisions are
 * serial, planning and fsync never run on an event loop.
 */
public final class ControllerRoleImpl implements ControllerRole {
  private static final Logger LOG = LoggerFactory.getLogger(ControllerRoleImpl.class);

  private final RoleContext ctx;
  private final Vertx vertx;
  private final ControlBus bus;
  private final Clock clock;
  private final ControllerMetrics metrics;
  private final WorkerExecutor lane;
  private final ControllerEngine engine;
  private final AtomicBoolean evaluationQueued = new AtomicBoolean();
  private final List<Consumer<JsonObject>> eventListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<ControlBus.Subscription> subscriptions = new ArrayList<>();
  /** Recent plans by version, for diffs. */
  private final java.util.concurrent.ConcurrentSkipListMap<Long, RoutingPlan> history =
      new java.util.concurrent.ConcurrentSkipListMap<>();
  static final int HISTORY = 64;
  private volatile MeridianConfig config;
  /** Operators' state is loaded: until then no evaluation runs and no command is accepted. */
  private volatile boolean stateLoaded;
  private boolean stateWarned;
  private volatile HttpServer server;
  private long timer = -1;
  private AdminApi api;
  private final CommandsImpl commands;
  private volatile io.meridian.controller.StateStore store;

  private ControllerRoleImpl(RoleContext ctx, Clock clock) {
    this.ctx = ctx;
    this.vertx = ctx.vertx();
    this.bus = ctx.bus();
    this.clock = clock;
    this.config = ctx.config();
    this.metrics = ControllerMetrics.register(ctx.ops().registry());
    this.lane = vertx.createSharedWorkerExecutor("meridian-controller-" + System.identityHashCode(this), 1);
    this.engine = ControllerEngine.create(config, AdminState.EMPTY, clock.instant());
    this.commands = new CommandsImpl(this);
  }

  public static ControllerRoleImpl create(RoleContext ctx, Clock clock) {
    return new ControllerRoleImpl(ctx, clock);
  }

  @Override
  public String name() {
    return "controller";
  }

  /** Runs {@code task} on the serial lane. */
  <T> Future<T> onLane(Callable<T> task) {
    return lane.executeBlocking(task, true);
  }

  /** A recent plan by version, or null when it is older than the kept history. */
  RoutingPlan plan(long version) {
    return history.get(version);
  }

  @Override
  public io.meridian.controller.Commands commands() {
    return commands;
  }

  /** The state store, or null until operators' state is read. */
  io.meridian.controller.StateStore store() {
    return store;
  }

  ControllerEngine engine() {
    return engine;
  }

  ControlBus bus() {
    return bus;
  }

  Clock clock() {
    return clock;
  }

  ControllerMetrics metrics() {
    return metrics;
  }

  MeridianConfig config() {
    return config;
  }

  /** Listeners of the event stream (SSE). */
  Runnable subscribeEvents(Consumer<JsonObject> listener) {
    eventListeners.add(listener);
    return () -> eventListeners.remove(listener);
  }

  void emit(JsonObject event) {
    metrics.events.labelValues(event.getString("type")).inc();
    for (Consumer<JsonObject> l : eventListeners) {
      try {
        l.accept(event);
      } catch (RuntimeException e) {
        LOG.warn("event listener failed", e);
      }
    }
  }

  @Override
  public Future<Void> start() {
    ctx.ops().readiness("admin-api", () -> server == null ? "admin API not listening yet" : null);
    ctx.ops().readiness("state", () -> stateLoaded ? null : "operators' state not read yet (state store unreachable)");
    subscriptions.add(bus.onPlan(p -> {
      history.put(p.version(), p);
      while (history.size() > HISTORY) {
        history.pollFirstEntry();
      }
    }));
    subscriptions.add(bus.onHealth(report -> onLane(() -> {
      engine.onHealth(report);
      return null;
    }).onComplete(ar -> scheduleEvaluation())));
    subscriptions.add(bus.onTraffic(report -> onLane(() -> {
      engine.onTraffic(report);
      return null;
    })));
    api = AdminApi.create(this);
    Router router = Router.router(vertx);
    ctx.ops().mount(router);
    api.mount(router);
    // The lifecycles of the last committed plan (the bus starts from it: from disk, or from etcd) carry on.
    return onLane(() -> {
      engine.resume(bus.currentPlan(), clock.instant());
      return null;
    }).compose(v -> loadState()).compose(v -> vertx.createHttpServer(serverOptions()).requestHandler(router)
        .invalidRequestHandler(AdminApi::invalidRequest)
        .listen(config.controller().adminListen().port(), config.controller().adminListen().host())
        .compose(s -> {
          server = s;
          timer = vertx.setPeriodic(config.controller().evaluateInterval().toMillis(), id -> scheduleEvaluation());
          LOG.info("controller admin API listening on {}:{}", config.controller().adminListen().host(),
              s.actualPort());
          return stateLoaded ? evaluateNow().<Void>mapEmpty() : Future.<Void>succeededFuture();
        }));
  }

  /**
   * Operators' decisions survive restarts: they are loaded before the first plan is computed, and until they are,
   * the controller neither plans nor accepts commands (a plan made without them would, say, undrain a drained
   * region). A damaged journal stops the start; etcd that cannot be reached yet is retried every 2 s while the
   * process's other roles serve.
   */
  private Future<Void> loadState() {
    return onLane(() -> {
      io.meridian.controller.StateStore store = openStore();
      engine.setAdmin(store.load());
      this.store = store;
      stateLoaded = true;
      return (Void) null;
    }).recover(e -> {
      boolean damaged = e instanceof JournalDamagedException || e instanceof EtcdStateStore.Damaged;
      if (damaged || config.stateStore().type() != io.meridian.config.StateStoreConfig.Type.ETCD) {
        return Future.failedFuture(e);
      }
      if (!stateWarned) {
        stateWarned = true;
        LOG.warn("controller: cannot read operators' state from etcd yet ({}); retrying every 2 s. Until then it"
            + " makes no plan changes and refuses admin commands with 503; data planes keep serving", e.getMessage());
      }
      vertx.setTimer(2000, id -> loadState().onSuccess(v -> {
        if (stateLoaded) {
          LOG.info("controller: operators' state read from etcd; planning resumes");
          scheduleEvaluation();
        }
      }));
      return Future.succeededFuture();
    });
  }

  private io.meridian.controller.StateStore openStore() throws java.io.IOException {
    var sc = config.stateStore();
    if (sc.type() == io.meridian.config.StateStoreConfig.Type.ETCD) {
      if (!(bus instanceof io.meridian.etcd.EtcdControlBus etcdBus)) {
        throw new IllegalStateException("state_store.type: etcd needs the etcd control bus (start with meridian run)");
      }
      return EtcdStateStore.open(etcdBus.etcd(), etcdBus.prefix(), sc.etcd().timeout());
    }
    io.meridian.controller.StateStore store = io.meridian.controller.StateStore.embedded(sc.path());
    LOG.info("controller state loaded from {} (revision {})", sc.path(), store.load().revision());
    return store;
  }

  /** Plain HTTP, or TLS with the PEM files of {@code admin.tls} (paths relative to the config file). */
  private io.vertx.core.http.HttpServerOptions serverOptions() {
    io.vertx.core.http.HttpServerOptions o = new io.vertx.core.http.HttpServerOptions()
        .setMaxInitialLineLength(AdminApi.MAX_REQUEST_LINE).setMaxHeaderSize(AdminApi.MAX_HEADERS);
    var tls = config.admin().tls();
    if (tls == null) {
      return o;
    }
    java.nio.file.Path base = config.source() == null || config.source().toAbsolutePath().getParent() == null
        ? java.nio.file.Path.of("") : config.source().toAbsolutePath().getParent();
    java.nio.file.Path cert = base.resolve(tls.certPath());
    java.nio.file.Path key = base.resolve(tls.keyPath());
    for (java.nio.file.Path p : List.of(cert, key)) {
      if (!java.nio.file.Files.isReadable(p)) {
        throw new IllegalStateException("admin.tls: cannot read " + p + " (expected: a PEM file)");
      }
    }
    return o.setSsl(true).setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions()
        .setCertPath(cert.toString()).setKeyPath(key.toString()));
  }

  void scheduleEvaluation() {
    if (stateLoaded && evaluationQueued.compareAndSet(false, true)) {
      evaluateNow().onFailure(e -> LOG.error("evaluation failed", e));
    }
  }

  @Override
  public Future<RoutingPlan> evaluateNow() {
    return onLane(() -> {
      evaluationQueued.set(false);
      long t0 = System.nanoTime();
      Instant now = clock.instant();
      ControllerEngine.Evaluation ev = engine.evaluate(bus.currentPlan(), now);
      metrics.planningSeconds.observe((System.nanoTime() - t0) / 1e9);
      if (ev.admin() != null) {
        persistAutomatic(ev.admin(), ev.events());
      }
      ev.events().forEach(this::emit);
      return ev.plan() == null ? bus.currentPlan() : publishOnLane(ev.plan());
    });
  }

  /** Hook for automatic changes of operators' state (expiry, promotion): persisted by the state store. */
  void persistAutomatic(AdminState next, List<JsonObject> events) {
    engine.setAdmin(next);
    commands.persistAutomatic(next, events);
  }

  /**
   * Publishes from the lane and waits for the bus to accept it, so the next evaluation on the lane builds on
   * this plan's version (the in-process bus completes at once; a remote bus within its own timeout).
   */
  RoutingPlan publishOnLane(RoutingPlan plan) throws Exception {
    bus.publishPlan(plan).toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
    metrics.plansPublished.inc();
    metrics.planVersion.set(plan.version());
    metrics.shortfall.set(plan.shortfallRps());
    double[] limits = engine.lastLimits();
    for (int i = 0; i < plan.regions().size(); i++) {
      RegionState r = plan.region(i);
      for (io.meridian.core.Lifecycle l : io.meridian.core.Lifecycle.values()) {
        // one live series per region: the others read 0 so a dashboard sums cleanly
        metrics.regionShare.labelValues(r.id(), l.name().toLowerCase()).set(l == r.lifecycle() ? r.trafficShare() : 0);
      }
      metrics.regionLoad.labelValues(r.id()).set(r.loadRps());
      if (limits != null && i < limits.length) {
        metrics.regionLimit.labelValues(r.id()).set(limits[i]);
      }
    }
    LOG.info("published plan v{}: {}", plan.version(), plan.reason());
    emit(ControllerEngine.event(plan.createdAt(), "plan_published", null, "plan v" + plan.version() + ": "
        + plan.reason()).put("version", plan.version()));
    return plan;
  }

  @Override
  public void reconfigure(MeridianConfig next) {
    this.config = next;
    AdminApi a = api;
    if (a != null) {
      a.reconfigure(next); // admin tokens and roles apply from the next request on
    }
    onLane(() -> {
      engine.apply(next, clock.instant());
      return null;
    }).onComplete(ar -> scheduleEvaluation());
  }

  @Override
  public Future<Void> stop() {
    subscriptions.forEach(ControlBus.Subscription::cancel);
    subscriptions.clear();
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    Promise<Void> done = Promise.promise();
    Future<Void> closed = server == null ? Future.succeededFuture() : server.close();
    closed.onComplete(ar -> {
      io.meridian.controller.StateStore s = store;
      if (s != null) {
        s.close();
      }
      lane.close();
      done.complete();
    });
    return done.future();
  }

  @Override
  public int adminPort() {
    return server == null ? -1 : server.actualPort();
  }
}
