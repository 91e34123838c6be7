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
  /** With {@code state_store.type: etcd}: every controller campaigns; only the leader plans and applies. */
  private final boolean campaigns;
  private volatile io.meridian.etcd.LeaderElection election;
  /** The term this controller won and has not lost since, or -1. Set on the election's context. */
  private volatile long electedTerm = -1;
  /** Took over: state reloaded from etcd and lifecycles resumed for {@link #electedTerm}. Written on the lane. */
  private volatile boolean leading;
  private final AtomicBoolean followerRefreshQueued = new AtomicBoolean();
  private volatile Forwarder forwarder;
  /** Capacity readiness, computed on the lane after evaluations (null before the first, and on followers). */
  private volatile Readiness readiness;
  private final AtomicBoolean readinessQueued = new AtomicBoolean();
  /** What the last readiness was computed from (lane only): it is recomputed when one of them changes. */
  private long readinessPlan = -1;
  private long readinessRevision = -1;
  private long readinessPeaks = -1;
  /**
   * Readiness is recomputed at least this often while nothing else changes: demand drifting by less than a plan
   * republish (10 % of a region's load) still moves it.
   */
  static final java.time.Duration READINESS_REFRESH = java.time.Duration.ofSeconds(10);

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
    this.campaigns = config.stateStore().type() == io.meridian.config.StateStoreConfig.Type.ETCD
        && bus instanceof io.meridian.etcd.EtcdControlBus;
  }

  /**
   * Whether this controller may plan, publish and apply commands now: always with the embedded store (one
   * controller); with etcd only once it won the election and reloaded the state, and only while the election
   * says it still leads (a process resuming from a pause answers false before any timer ran).
   */
  boolean leads() {
    if (!campaigns) {
      return true;
    }
    io.meridian.etcd.LeaderElection e = election;
    return e != null && leading && e.isLeader();
  }

  /** The leader as last observed: empty with no leader, before the first observation, or without an election. */
  java.util.Optional<io.meridian.etcd.LeaderInfo> leader() {
    io.meridian.etcd.LeaderElection e = election;
    return e == null ? java.util.Optional.empty() : e.leader();
  }

  /** This controller's candidate id, or null without an election. */
  String candidateId() {
    io.meridian.etcd.LeaderElection e = election;
    return e == null ? null : e.candidateId();
  }

  Forwarder forwarder() {
    return forwarder;
  }

  /** Who leads and whether this controller does: part of {@code GET /v1/regions} and of /readyz. */
  JsonObject leadership() {
    if (!campaigns) {
      return new JsonObject().put("role", "single").put("leads", true);
    }
    var l = leader();
    return new JsonObject().put("id", candidateId()).put("role", leads() ? "leader" : "follower")
        .put("leads", leads()).put("leader", l.map(i -> new JsonObject().put("id", i.id()).put("url", i.url())
            .put("term", i.term())).orElse(null));
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

  /** The process's client locator (the launcher's, shared with GeoDNS and the proxy), or null. */
  io.meridian.core.geo.GeoLocator geo() {
    return ctx.geo();
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
    // every event also goes to the log, so that an on-call engineer grepping it sees what happened and why (a
    // published plan is logged where it is published)
    if (!"plan_published".equals(event.getString("type"))) {
      LOG.info("event {}{}: {}", event.getString("type"),
          event.getString("region") == null ? "" : " " + event.getString("region"), event.getString("message"));
    }
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
    ctx.ops().info("controller", this::leadership);
    subscriptions.add(bus.onPlan(p -> {
      history.put(p.version(), p);
      while (history.size() > HISTORY) {
        history.pollFirstEntry();
      }
      if (campaigns && !leads()) {
        // a new plan usually follows a command: a follower's reads (overrides, audit) catch up with the leader's
        refreshFollowerState();
        emit(ControllerEngine.event(p.createdAt(), "plan_published", null, "plan v" + p.version() + " (published by "
            + leader().map(io.meridian.etcd.LeaderInfo::id).orElse("the leader") + "): " + p.reason())
            .put("version", p.version()));
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
          if (campaigns) {
            startElection(s.actualPort());
          }
          timer = vertx.setPeriodic(config.controller().evaluateInterval().toMillis(), id -> scheduleEvaluation());
          LOG.info("controller admin API listening on {}:{}", config.controller().adminListen().host(),
              s.actualPort());
          return stateLoaded ? evaluateNow().<Void>mapEmpty() : Future.<Void>succeededFuture();
        }));
  }

  /**
   * Campaigns for leadership; every plan and state-store write is fenced by it from now on. Started once the admin
   * listener is bound, so the URL it advertises answers forwarded commands the moment it wins.
   */
  private void startElection(int port) {
    var etcdBus = (io.meridian.etcd.EtcdControlBus) bus;
    String host = config.controller().adminListen().host();
    if (host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]") || host.isEmpty()) {
      host = localHostName();
    }
    String url = config.controller().advertisedAdminUrl() != null ? config.controller().advertisedAdminUrl()
        : (config.admin().tls() == null ? "http" : "https") + "://" + (host.contains(":") && !host.startsWith("[")
        ? "[" + host + "]" : host) + ":" + port;
    String id = localHostName() + ":" + port;
    io.meridian.etcd.LeaderElection e = io.meridian.etcd.LeaderElection.create(vertx, etcdBus.etcd(),
        etcdBus.prefix() + "controller/", id, config.stateStore().etcd().leaseTtl(), url);
    etcdBus.guardPlanWrites(e.fence());
    if (store instanceof EtcdStateStore es) {
      es.guardWrites(e.fence());
    }
    forwarder = new Forwarder(vertx, config, id, config.stateStore().etcd().timeout());
    e.listen(new io.meridian.etcd.LeaderElection.Listener() {
      @Override
      public void elected(long term) {
        electedTerm = term;
        takeOver(term);
      }

      @Override
      public void deposed(String reason) {
        // stop at once: in-flight writes are refused by the fence, new ones are not started
        electedTerm = -1;
        leading = false;
        metrics.leader.set(0);
        emit(ControllerEngine.event(clock.instant(), "leader_deposed", null, id + " no longer leads: " + reason));
        refreshFollowerState();
      }

      @Override
      public void leaderChanged(java.util.Optional<io.meridian.etcd.LeaderInfo> leader) {
        metrics.leaderChanges.inc();
        emit(ControllerEngine.event(clock.instant(), "leader_changed", null, leader.map(l -> "leader: " + l.id()
            + " at " + l.url() + " (term " + l.term() + ")").orElse("no leader")));
      }
    });
    election = e;
    // a follower's reads follow the leader's journal as it grows, not only when a plan changes (a freeze changes none)
    String stateDir = etcdBus.prefix() + "state/";
    subscriptions.add(etcdBus.etcd().watch(stateDir, 0, io.meridian.etcd.EtcdClient.listener(events -> {
      if (!leads()) {
        refreshFollowerState();
      }
    }, () -> {
      refreshFollowerState();
      return etcdBus.etcd().getPrefix(stateDir).map(io.meridian.etcd.EtcdClient.Range::revision);
    }))::cancel);
    LOG.info("controller {} campaigns for leadership (lease_ttl {} s, admin URL {})", id,
        config.stateStore().etcd().leaseTtl().toSeconds(), url);
    e.start().onFailure(err -> LOG.warn("controller election did not start: {}", err.getMessage()));
  }

  /**
   * A new leader first reloads operators' state from etcd, so it holds every command the previous leader
   * acknowledged, and resumes lifecycles from the plan etcd holds; only then does it plan and accept commands.
   * Its first plan's version is above the current one (the bus refuses anything else), so versions never go back.
   */
  private void takeOver(long term) {
    var etcdBus = (io.meridian.etcd.EtcdControlBus) bus;
    long t0 = System.nanoTime();
    onLane(() -> {
      if (electedTerm != term) {
        return false;
      }
      EtcdStateStore fresh = EtcdStateStore.open(etcdBus.etcd(), etcdBus.prefix(),
          config.stateStore().etcd().timeout());
      fresh.guardWrites(election.fence());
      engine.setAdmin(fresh.load());
      engine.resume(bus.currentPlan(), clock.instant());
      store = fresh;
      stateLoaded = true;
      leading = electedTerm == term;
      return leading;
    }).onComplete(ar -> {
      if (ar.succeeded() && ar.result()) {
        metrics.leader.set(1);
        LOG.info("controller {} took over as leader (term {}) in {} ms: state revision {}, resuming from plan v{}",
            candidateId(), term, (System.nanoTime() - t0) / 1_000_000, engine.admin().revision(),
            bus.currentPlan().version());
        emit(ControllerEngine.event(clock.instant(), "leader_elected", null, candidateId() + " leads (term "
            + term + ")"));
        scheduleEvaluation();
      } else if (ar.failed() && electedTerm == term) {
        LOG.warn("controller {} won term {} but cannot read the state from etcd yet ({}); retrying in 1 s",
            candidateId(), term, ar.cause().getMessage());
        vertx.setTimer(1000, id -> takeOver(term));
      }
    });
  }

  /** A follower re-reads operators' state from etcd (coalesced), so its read calls show the leader's. */
  private void refreshFollowerState() {
    if (!followerRefreshQueued.compareAndSet(false, true)) {
      return;
    }
    var etcdBus = (io.meridian.etcd.EtcdControlBus) bus;
    onLane(() -> {
      followerRefreshQueued.set(false);
      if (leads()) {
        return null;
      }
      EtcdStateStore fresh = EtcdStateStore.open(etcdBus.etcd(), etcdBus.prefix(),
          config.stateStore().etcd().timeout());
      io.meridian.etcd.LeaderElection e = election;
      if (e != null) {
        fresh.guardWrites(e.fence());
      }
      engine.setAdmin(fresh.load());
      store = fresh;
      stateLoaded = true;
      return null;
    }).onFailure(err -> LOG.debug("follower state refresh failed: {}", err.getMessage()));
  }

  private static String localHostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "localhost";
    }
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
    if (stateLoaded && leads() && evaluationQueued.compareAndSet(false, true)) {
      evaluateNow().onFailure(e -> LOG.error("evaluation failed", e));
    }
  }

  /** The last capacity readiness, or null (none computed yet, or this controller does not lead). */
  Readiness readiness() {
    return readiness;
  }

  /**
   * Queues a readiness computation behind the evaluation that asked for it (coalesced): the plan is published
   * first, so readiness never delays a failover; a command arriving meanwhile waits for at most one computation.
   */
  private void scheduleReadiness() {
    if (readinessQueued.compareAndSet(false, true)) {
      onLane(() -> {
        readinessQueued.set(false);
        refreshReadiness();
        return null;
      }).onFailure(e -> LOG.error("capacity readiness failed", e));
    }
  }

  /** On the lane: recomputes readiness when the plan, operators' state or a 24 h peak changed, or it is old. */
  private void refreshReadiness() {
    if (!leads()) {
      readiness = null;
      return;
    }
    Instant now = clock.instant();
    long plan = bus.currentPlan().version();
    long revision = engine.admin().revision();
    long peaks = engine.peaks().version();
    Readiness before = readiness;
    if (before != null && plan == readinessPlan && revision == readinessRevision && peaks == readinessPeaks
        && now.isBefore(before.computedAt().plus(READINESS_REFRESH))) {
      return;
    }
    long t0 = System.nanoTime();
    Readiness r = Readiness.compute(engine, now, plan);
    metrics.readinessSeconds.observe((System.nanoTime() - t0) / 1e9);
    readinessPlan = plan;
    readinessRevision = revision;
    readinessPeaks = peaks;
    readiness = r;
    for (Readiness.Region x : r.regions()) {
      metrics.readiness.labelValues(x.region(), "current").set(x.current().ready() ? 1 : 0);
      metrics.readinessShortfall.labelValues(x.region(), "current").set(x.current().shortfallRps());
      if (x.peak() != null) {
        metrics.readiness.labelValues(x.region(), "peak_24h").set(x.peak().ready() ? 1 : 0);
        metrics.readinessShortfall.labelValues(x.region(), "peak_24h").set(x.peak().shortfallRps());
        metrics.regionPeakLoad.labelValues(x.region()).set(x.peak().loadRps());
      }
    }
    for (Readiness.Region x : r.changedFrom(before)) {
      emit(ControllerEngine.event(now, "readiness_changed", x.region(), Readiness.describe(x))
          .put("ready", x.ready()));
    }
    AdminApi a = api;
    if (a != null) {
      a.readiness(r.toJson());
    }
  }

  @Override
  public Future<RoutingPlan> evaluateNow() {
    return onLane(() -> {
      evaluationQueued.set(false);
      if (!leads()) {
        return bus.currentPlan(); // a follower neither plans nor publishes
      }
      long t0 = System.nanoTime();
      Instant now = clock.instant();
      ControllerEngine.Evaluation ev = engine.evaluate(bus.currentPlan(), now);
      metrics.planningSeconds.observe((System.nanoTime() - t0) / 1e9);
      if (ev.admin() != null) {
        persistAutomatic(ev.admin(), ev.events());
      }
      ev.events().forEach(this::emit);
      return ev.plan() == null ? bus.currentPlan() : publishOnLane(ev.plan());
    }).onSuccess(p -> scheduleReadiness());
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
    io.meridian.etcd.LeaderElection e = election;
    // a graceful stop hands over at once instead of a lease TTL later
    Future<Void> resigned = e == null ? Future.succeededFuture() : e.resign().recover(x -> Future.succeededFuture());
    return resigned.compose(v -> stop0());
  }

  private Future<Void> stop0() {
    Forwarder f = forwarder;
    if (f != null) {
      f.close();
    }
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
