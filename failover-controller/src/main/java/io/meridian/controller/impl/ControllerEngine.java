package io.meridian.controller.impl;

import io.meridian.checker.HealthQuorum;
import io.meridian.config.ControllerConfig;
import io.meridian.config.MeridianConfig;
import io.meridian.config.RegionConfig;
import io.meridian.controller.AdminState;
import io.meridian.controller.Planner;
import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.meridian.core.HomeAssignments;
import io.meridian.core.Lifecycle;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.Topology;
import io.meridian.core.TrafficReport;
import io.meridian.core.ZoneRoute;
import io.meridian.core.ZoneRoutes;
import io.meridian.core.geo.Zones;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The controller's decisions, free of I/O and timers: health and traffic reports in, the next routing plan out.
 * Time is always passed in, so lifecycle timing (hold-down, ramp, drain steps) is tested with a controllable
 * clock. Not thread-safe by itself: the role calls it from one serial lane.
 *
 * <p>Lifecycle per region (see {@link Lifecycle}):
 * <pre>
 *   ACTIVE ──health FAILED──▶ FAILED ──healthy for failback_hold_down──▶ RECOVERING ──ramp_steps──▶ ACTIVE
 *   ACTIVE ──drain──▶ DRAINING ──drain_step per drain_interval, within headroom──▶ DRAINED ──undrain──▶ RECOVERING
 * </pre>
 */
public final class ControllerEngine {
  static final String OPERATOR_FAIL = "failed by operator";
  /** DEGRADED regions are planned at this fraction of their limit: serving, but not to be filled. */
  static final double DEGRADED_FACTOR = 0.5;

  private MeridianConfig config;
  private ControllerConfig cc;
  private Planner planner;
  private final HealthView health = new HealthView(null);
  private final DemandView demand = new DemandView();
  /** Read by HTTP handlers on event loops, written on the lane: volatile snapshots, never shared mutables. */
  private volatile AdminState admin;
  private volatile Map<String, String> notes = Map.of();
  private final Map<String, RegionRun> runs = new LinkedHashMap<>();
  private final Deque<Instant> autoChanges = new ArrayDeque<>();
  private Built last;
  /** Each region's highest planned load of the last 24 h and the demand then, for capacity readiness. */
  private final LoadPeaks peaks = new LoadPeaks();
  /** Kept across evaluations: its cached rankings and the planner's distance rows are reused. */
  private Topology topology;

  private ControllerEngine(MeridianConfig config, AdminState admin, Instant now) {
    this.admin = admin;
    apply(config, now);
  }

  public static ControllerEngine create(MeridianConfig config, AdminState admin, Instant now) {
    return new ControllerEngine(config, admin, now);
  }

  /** A new configuration: regions added start ACTIVE, removed ones are forgotten. */
  public void apply(MeridianConfig newConfig, Instant now) {
    this.config = newConfig;
    this.cc = newConfig.controller();
    this.planner = Planner.of(cc.planner());
    this.health.quorum(io.meridian.checker.HealthQuorum.of(newConfig.healthCheck()));
    if (topology == null || !topology.sameAs(newConfig.regions())) {
      topology = Topology.of(newConfig.regions());
    }
    Map<String, RegionRun> old = new LinkedHashMap<>(runs);
    runs.clear();
    for (RegionConfig r : newConfig.regions()) {
      runs.put(r.id(), old.getOrDefault(r.id(), RegionRun.active(now)));
    }
    health.regions(List.copyOf(runs.keySet()));
    peaks.retain(runs.keySet());
  }

  public MeridianConfig config() {
    return config;
  }

  /**
   * Picks up where the last committed plan left off after a restart: each region's lifecycle and traffic share
   * come from {@code plan}, so a drained region stays drained and a ramp continues from its step, instead of
   * every region starting ACTIVE and a drain being replayed from the beginning. Timers (the next drain or ramp
   * step, a hold-down) restart from {@code now}: the restart costs at most one interval, never a replay.
   */
  public void resume(RoutingPlan plan, Instant now) {
    for (Map.Entry<String, RegionRun> e : runs.entrySet()) {
      RegionState r = plan.region(e.getKey());
      if (r == null || r.lifecycle() == Lifecycle.ACTIVE && r.trafficShare() >= 1) {
        continue;
      }
      e.setValue(new RegionRun(r.lifecycle(), r.trafficShare(), now, null,
          r.lifecycle() == Lifecycle.DRAINING ? r.loadRps() : 0, "resumed from plan v" + plan.version()));
    }
  }

  public void onHealth(HealthReport report) {
    health.accept(report);
  }

  public void onTraffic(TrafficReport report) {
    demand.accept(report);
    health.accept(report);
  }

  public AdminState admin() {
    return admin;
  }

  /** Replaces the operators' state (after a mutation has been persisted). */
  public void setAdmin(AdminState next) {
    this.admin = next;
  }

  public Health health(String region, Instant now) {
    return health.verdict(region, now);
  }

  public long watermark(String region, String source, Instant now) {
    return health.watermark(region, source, now);
  }

  /** Why a region is where it is (e.g. why a drain halted); safe from any thread. */
  public String note(String region) {
    return notes.getOrDefault(region, "");
  }

  /** Per region (config order) the limit of the last evaluation, or null before the first. */
  public double[] lastLimits() {
    return last == null ? null : last.limits.clone();
  }

  /** The last planning result (for explanations), or null before the first evaluation. */
  public Planner.Result lastResult() {
    return last == null ? null : last.result;
  }

  /**
   * The outcome of one evaluation.
   *
   * @param plan    the successor plan, or null when nothing material changed
   * @param admin   operators' state changed by automation (expired overrides, automatic promotion), or null
   * @param events  what happened, for the event stream
   */
  public record Evaluation(RoutingPlan plan, AdminState admin, List<JsonObject> events) {}

  /** Advances lifecycles to {@code now} and plans; returns the successor of {@code current} if it differs. */
  public Evaluation evaluate(RoutingPlan current, Instant now) {
    if (topology != current.topology() && current.topology().sameAs(config.regions())) {
      topology = current.topology(); // share the data planes' ranking cache
    }
    List<JsonObject> events = new ArrayList<>();
    AdminState before = admin;
    AdminState expired = admin.expire(now);
    if (expired != admin) {
      events.add(event(now, "override_expired", null, "an operator override reached its expiry"));
      admin = expired;
    }
    boolean frozen = admin.frozen() != null;
    Map<String, Health> verdicts = new LinkedHashMap<>();
    for (String id : runs.keySet()) {
      verdicts.put(id, health.verdict(id, now));
    }
    Map<String, RegionRun> before2 = new LinkedHashMap<>(runs);
    for (Map.Entry<String, RegionRun> e : runs.entrySet()) {
      String id = e.getKey();
      RegionState cur = current.region(id);
      RegionRun next = step(id, e.getValue(), verdicts.get(id), admin.regions().get(id), frozen, now,
          cur == null ? 0 : cur.loadRps(), events);
      e.setValue(next);
    }
    // A drain step that would push demand past the receivers' headroom is undone: the drain halts at the
    // last safe share and says why, unless the operator forced it.
    TreeMap<Integer, Double> dem = demand.demand(now, cc);
    for (Map.Entry<String, RegionRun> e : runs.entrySet()) {
      RegionRun prev = before2.get(e.getKey());
      RegionRun next = e.getValue();
      AdminState.RegionOverride o = admin.regions().get(e.getKey());
      boolean drainStep = o != null && o.mode() == AdminState.Mode.DRAIN && !o.force()
          && (next.lifecycle() == Lifecycle.DRAINING || next.lifecycle() == Lifecycle.DRAINED)
          && next.share() < prev.share();
      if (!drainStep) {
        continue;
      }
      Built with = build(runs, verdicts, admin, dem);
      Map<String, RegionRun> undone = new LinkedHashMap<>(runs);
      undone.put(e.getKey(), prev);
      Built without = build(undone, verdicts, admin, dem);
      if (with.shortfall > without.shortfall + 0.5) {
        String why = String.format("drain halted at share %.2f: receivers have no headroom for %.1f rps more"
                + " (shortfall would rise from %.1f to %.1f rps); use force to continue", prev.share(),
            with.shortfall - without.shortfall, without.shortfall, with.shortfall);
        if (!why.equals(prev.note())) {
          events.add(event(now, "drain_halted", e.getKey(), why));
        }
        e.setValue(prev.withNote(why));
      }
    }
    homes(verdicts, frozen, now, events);
    Map<String, String> n = new LinkedHashMap<>();
    runs.forEach((id, run) -> n.put(id, run.note()));
    notes = Map.copyOf(n);
    Built built = build(runs, verdicts, admin, dem);
    last = built;
    flows = built.flows;
    double total = 0;
    for (double v : dem.values()) {
      total += v;
    }
    for (RegionState r : built.states) {
      peaks.record(r.id(), now, r.loadRps(), total, dem);
    }
    AdminState changedAdmin = admin != before ? admin : null;
    if (!material(current, built)) {
      return new Evaluation(null, changedAdmin, events);
    }
    String reason = events.isEmpty() ? "demand or health changed: routes rebalanced"
        : String.join("; ", events.stream().map(j -> j.getString("message")).toList());
    RoutingPlan next = current.topology() == topology
        ? current.next(reason, built.states, built.routes, built.homes, built.shortfall)
        : new RoutingPlan(current.version() + 1, now, reason, topology, built.states, built.routes, built.homes,
            built.shortfall); // the region list changed with the configuration
    return new Evaluation(next, changedAdmin, events);
  }

  private RegionRun step(String id, RegionRun run, Health h, AdminState.RegionOverride o, boolean frozen,
      Instant now, double currentLoad, List<JsonObject> events) {
    int steps = cc.rampSteps();
    if (o != null && o.mode() == AdminState.Mode.FAIL) {
      if (run.lifecycle() != Lifecycle.FAILED || !run.note().startsWith(OPERATOR_FAIL)) {
        String why = OPERATOR_FAIL + ": " + o.reason();
        events.add(event(now, "region_failed", id, why));
        return run.to(Lifecycle.FAILED, 0, now, why);
      }
      return run;
    }
    boolean drain = o != null && o.mode() == AdminState.Mode.DRAIN;
    switch (run.lifecycle()) {
      case ACTIVE, RECOVERING -> {
        if (h == Health.FAILED) {
          HealthQuorum.Verdict why = health.explain(id, now);
          events.add(event(now, "region_failed", id, "health: a quorum of vantage points reports " + id
              + " failed; its traffic moves to the nearest regions with headroom"
              + (why == null ? "" : " (" + why.reason() + ")")));
          return run.to(Lifecycle.FAILED, 0, now, "health: failed by quorum");
        }
        if (drain) {
          events.add(event(now, "drain_started", id, "drain of " + id + " started: " + o.reason()));
          return step(id, run.to(Lifecycle.DRAINING, run.share(), now.minus(cc.drainInterval()), "draining")
              .withBaseline(currentLoad), h, o, frozen, now, currentLoad, events);
        }
        if (run.lifecycle() == Lifecycle.RECOVERING && !frozen
            && !now.isBefore(run.stepAt().plus(cc.rampInterval()))) {
          double share = Math.min(1, run.share() + 1.0 / steps);
          if (share >= 1 - 1e-9) {
            events.add(event(now, "region_active", id, id + " fully back after its ramp"));
            return run.to(Lifecycle.ACTIVE, 1, now, "");
          }
          events.add(event(now, "ramp_step", id, String.format("%s ramps to share %.2f", id, share)));
          return run.to(Lifecycle.RECOVERING, share, now, "recovering: slow start");
        }
        return run;
      }
      case DRAINING -> {
        if (h == Health.FAILED) {
          events.add(event(now, "region_failed", id, "health: " + id + " failed while draining"));
          return run.to(Lifecycle.FAILED, 0, now, "health: failed by quorum");
        }
        if (!drain) {
          events.add(event(now, "undrain", id, id + " undrained: ramps back from share "
              + String.format("%.2f", run.share())));
          return run.to(Lifecycle.RECOVERING, Math.max(run.share(), 1.0 / steps), now, "recovering: undrained");
        }
        if (!frozen && !now.isBefore(run.stepAt().plus(cc.drainInterval()))) {
          double share = Math.max(0, run.share() - cc.drainStep());
          if (share <= 1e-9) {
            events.add(event(now, "region_drained", id, id + " drained: no traffic"));
            return run.to(Lifecycle.DRAINED, 0, now, "drained: " + o.reason());
          }
          events.add(event(now, "drain_step", id, String.format("%s drains to share %.2f", id, share)));
          return new RegionRun(Lifecycle.DRAINING, share, now, null, run.baseline(), "draining");
        }
        return run;
      }
      case DRAINED -> {
        if (!drain) {
          if (h == Health.FAILED) {
            return run.to(Lifecycle.FAILED, 0, now, "health: failed by quorum");
          }
          events.add(event(now, "undrain", id, id + " undrained: slow start"));
          return run.to(Lifecycle.RECOVERING, 1.0 / steps, now, "recovering: undrained");
        }
        return run;
      }
      case FAILED -> {
        if (drain) {
          return run.to(Lifecycle.DRAINED, 0, now, "drained: " + o.reason());
        }
        if (!h.serves()) {
          return run.healthySince() == null ? run : run.withHealthySince(null);
        }
        boolean operator = run.note().startsWith(OPERATOR_FAIL);
        RegionRun r = run.healthySince() == null ? run.withHealthySince(now) : run;
        // An operator's restore is the decision to return: no hold-down, but still the ramp.
        boolean held = operator || !now.isBefore(r.healthySince().plus(cc.failbackHoldDown()));
        if (!held || frozen) {
          return r;
        }
        if (!operator && !autoAllowed(now)) {
          String why = "failback of " + id + " deferred: auto_changes_per_minute (" + cc.autoChangesPerMinute()
              + ") reached";
          if (!why.equals(r.note())) {
            events.add(event(now, "rate_limited", id, why));
          }
          return r.withNote(why);
        }
        events.add(event(now, "failback_started", id, operator ? id + " restored by operator: slow start"
            : id + " healthy for " + fmt(cc.failbackHoldDown()) + ": slow start"));
        return run.to(Lifecycle.RECOVERING, 1.0 / steps, now, "recovering: slow start");
      }
      default -> {
        return run;
      }
    }
  }

  private boolean autoAllowed(Instant now) {
    while (!autoChanges.isEmpty() && !autoChanges.peekFirst().isAfter(now.minus(Duration.ofMinutes(1)))) {
      autoChanges.pollFirst();
    }
    if (autoChanges.size() >= cc.autoChangesPerMinute()) {
      return false;
    }
    autoChanges.addLast(now);
    return true;
  }

  /** Automatic home promotion when the policy says so: a failed home's users move to its successor. */
  private void homes(Map<String, Health> verdicts, boolean frozen, Instant now, List<JsonObject> events) {
    if (cc.homeFailover() != ControllerConfig.HomeFailover.AUTO || frozen) {
      return;
    }
    for (Map.Entry<String, String> e : cc.successors().entrySet()) {
      String home = e.getKey();
      String successor = e.getValue();
      if (verdicts.get(home) == Health.FAILED && !admin.promotions().containsKey(home)
          && verdicts.getOrDefault(successor, Health.FAILED).serves()) {
        if (!autoAllowed(now)) {
          events.add(event(now, "rate_limited", home, "automatic promotion of " + successor + " deferred"));
          continue;
        }
        Map<String, String> p = new LinkedHashMap<>(admin.promotions());
        p.put(home, successor);
        Set<String> f = new LinkedHashSet<>(admin.fenced());
        f.add(home);
        long lag = replicationLag(home, successor, now);
        admin = admin.withHomes(p, f).nextRevision(null, null);
        events.add(event(now, "home_promoted", home, "home " + home + " failed: " + successor
            + " promoted, " + home + " fenced; data-loss risk: replication lag " + (lag < 0 ? "unknown" : lag)));
      }
    }
  }

  /** How far {@code successor} is behind {@code home}'s writes, from the checkers' watermarks; -1 unknown. */
  public long replicationLag(String home, String successor, Instant now) {
    long homePos = health.watermark(home, home, now);
    long applied = health.watermark(successor, home, now);
    return homePos < 0 || applied < 0 ? -1 : Math.max(0, homePos - applied);
  }

  /** A plan with its planning result, before it is given a version. */
  static final class Built {
    List<RegionState> states;
    ZoneRoutes routes;
    HomeAssignments homes;
    double shortfall;
    Planner.Result result;
    double[] limits;
    /** Planned requests/s from each client zone to each region, pinned zones included. */
    List<Flow> flows;
  }

  /**
   * Demand of one client zone planned to one region.
   *
   * @param zone    zone index ({@link Zones})
   * @param region  region id
   * @param rps     planned requests/s
   * @param pinned  routed by an operator's pin, not by the planner
   */
  public record Flow(int zone, String region, double rps, boolean pinned) {}

  /** The flows of the last evaluation (immutable; empty before the first); safe from any thread. */
  public List<Flow> flows() {
    return flows;
  }

  private volatile List<Flow> flows = List.of();

  /**
   * The plan operators would end up with if {@code candidate} were their state and every transition had run
   * to its end (drains drained, ramps done): what dry runs show and safety rules judge. With {@code demand}
   * (zone index → rps) it is planned under that demand instead of today's (capacity readiness replays a
   * region's 24 h peak); null means the demand now.
   */
  public Built target(AdminState candidate, Instant now, java.util.SortedMap<Integer, Double> demand) {
    Map<String, Health> verdicts = new LinkedHashMap<>();
    Map<String, RegionRun> target = new LinkedHashMap<>();
    for (Map.Entry<String, RegionRun> e : runs.entrySet()) {
      String id = e.getKey();
      Health h = health.verdict(id, now);
      verdicts.put(id, h);
      AdminState.RegionOverride o = candidate.regions().get(id);
      RegionRun run = e.getValue();
      Lifecycle l;
      if (o != null) {
        l = o.mode() == AdminState.Mode.FAIL ? Lifecycle.FAILED : Lifecycle.DRAINED;
      } else if (!h.serves()) {
        l = Lifecycle.FAILED;
      } else if (run.lifecycle() == Lifecycle.FAILED && !run.note().startsWith(OPERATOR_FAIL)) {
        l = Lifecycle.FAILED; // still in hold-down: automation decides when it returns
      } else {
        l = Lifecycle.ACTIVE;
      }
      target.put(id, new RegionRun(l, l.takesTraffic() ? 1 : 0, now, null, 0, ""));
    }
    return build(target, verdicts, candidate, demand == null ? this.demand.demand(now, cc) : demand);
  }

  /** {@link #target(AdminState, Instant, SortedMap)} under the demand measured and estimated now. */
  public Built target(AdminState candidate, Instant now) {
    return target(candidate, now, null);
  }

  /**
   * Whether a change from {@code before} to {@code after} leaves demand that no region can take within its
   * headroom: the capacity rule of the admin commands ({@code capacity_exceeded}) and the verdict of capacity
   * readiness, decided here once.
   */
  public static boolean overloads(Built before, Built after) {
    return addedShortfall(before, after) > SHORTFALL_SLACK_RPS;
  }

  /** Demand the change from {@code before} to {@code after} leaves unplaced (0 or more). */
  public static double addedShortfall(Built before, Built after) {
    return Math.max(0, after.shortfall - before.shortfall);
  }

  /** Planning noise below which a rise in shortfall is not counted as an overload (rps). */
  static final double SHORTFALL_SLACK_RPS = 0.5;

  /** Each region's highest planned load of the last 24 h and the demand then (read on the lane). */
  LoadPeaks peaks() {
    return peaks;
  }

  /** The configured regions' ids, in config order. */
  List<String> regionIds() {
    return List.copyOf(runs.keySet());
  }

  /**
   * controller.latency_ms as planner costs (km-equivalent); regions a zone has no measurement for keep their
   * great-circle distance. Recomputed only when the configuration or topology changes.
   */
  private Map<Integer, double[]> measuredCosts() {
    if (measured != null && measuredFor == cc && measuredTopology == topology) {
      return measured;
    }
    Map<Integer, double[]> out = new HashMap<>();
    cc.latencyMs().forEach((zoneId, row) -> {
      int z = Zones.parse(zoneId);
      if (z == Zones.UNKNOWN) {
        return;
      }
      double[] cost = new double[topology.size()];
      for (int r = 0; r < cost.length; r++) {
        Double ms = row.get(topology.id(r));
        cost[r] = ms != null ? ms * Planner.KM_PER_RTT_MS : topology.distanceKm(r, z);
      }
      out.put(z, cost);
    });
    measured = Map.copyOf(out);
    measuredFor = cc;
    measuredTopology = topology;
    return measured;
  }

  private Map<Integer, double[]> measured;
  private ControllerConfig measuredFor;
  private Topology measuredTopology;

  /** A built plan as a RoutingPlan following {@code current} (for dry runs and the audit log). */
  public RoutingPlan asPlan(Built b, RoutingPlan current, String reason, Instant now) {
    return new RoutingPlan(current.version() + 1, now, reason, topology, b.states, b.routes, b.homes, b.shortfall);
  }

  private Built build(Map<String, RegionRun> runsNow, Map<String, Health> verdicts, AdminState adm,
      java.util.SortedMap<Integer, Double> dem) {
    List<RegionConfig> rc = config.regions();
    int n = rc.size();
    double[] limits = new double[n];
    List<RegionState> pre = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      RegionConfig c = rc.get(i);
      RegionRun run = runsNow.get(c.id());
      Health h = verdicts.get(c.id());
      RegionState s = new RegionState(c.id(), c.latitude(), c.longitude(), c.residencyGroup(), h,
          run.lifecycle(), c.capacityRps(), 0, run.share());
      pre.add(s);
      if (s.eligible()) {
        double full = c.capacityRps() * cc.headroom() * (h == Health.DEGRADED ? DEGRADED_FACTOR : 1);
        double lim = full * run.share();
        if (run.lifecycle() == Lifecycle.DRAINING && run.baseline() > 0) {
          lim = Math.min(full, run.share() * run.baseline());
        }
        limits[i] = lim;
      }
    }
    // Pinned zones are routed by the operator's weights; their demand is taken off the regions' limits first.
    Map<String, ZoneRoute> pinned = new HashMap<>();
    List<Flow> flows = new ArrayList<>();
    double[] pinnedLoad = new double[n];
    double pinnedShortfall = 0;
    for (AdminState.ZonePin pin : adm.pins().values()) {
      int z = Zones.parse(pin.zone());
      double d = dem.getOrDefault(z, 0.0);
      double total = 0;
      for (Map.Entry<String, Double> w : pin.weights().entrySet()) {
        int idx = topology.indexOf(w.getKey());
        if (idx >= 0 && pre.get(idx).eligible()) {
          total += w.getValue();
        }
      }
      List<ZoneRoute.Choice> choices = new ArrayList<>();
      for (Map.Entry<String, Double> w : pin.weights().entrySet()) {
        choices.add(new ZoneRoute.Choice(w.getKey(), w.getValue()));
        int idx = topology.indexOf(w.getKey());
        if (idx >= 0 && pre.get(idx).eligible() && total > 0) {
          pinnedLoad[idx] += d * w.getValue() / total;
          if (d > 0) {
            flows.add(new Flow(z, w.getKey(), d * w.getValue() / total, true));
          }
        }
      }
      if (total <= 0) {
        pinnedShortfall += 0; // every pinned region is out: the selector falls back to nearest-first
      }
      pinned.put(pin.zone(), new ZoneRoute(pin.zone(), choices));
    }
    int[] zones = new int[dem.size()];
    double[] rps = new double[dem.size()];
    int k = 0;
    for (Map.Entry<Integer, Double> e : dem.entrySet()) {
      if (pinned.containsKey(Zones.id(e.getKey()))) {
        continue;
      }
      zones[k] = e.getKey();
      rps[k++] = e.getValue();
    }
    double[] planLimits = new double[n];
    for (int i = 0; i < n; i++) {
      planLimits[i] = Math.max(0, limits[i] - pinnedLoad[i]);
    }
    Planner.Input input = new Planner.Input(topology, planLimits, java.util.Arrays.copyOf(zones, k),
        java.util.Arrays.copyOf(rps, k), measuredCosts());
    Planner.Result result = planner.plan(input);
    // slow start bounds the recovering region's share of each zone's clients, not only its capacity
    double[] ramp = new double[n];
    boolean ramping = false;
    for (int i = 0; i < n; i++) {
      RegionState s = pre.get(i);
      ramp[i] = s.lifecycle() == Lifecycle.RECOVERING && s.eligible() && s.trafficShare() < 1 ? s.trafficShare() : 1;
      ramping |= ramp[i] < 1;
    }
    if (ramping) {
      result = RampBound.apply(planner, input, result, ramp);
    }
    Built b = new Built();
    b.states = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      // allowedRps: what the proxies hold the region to, pinned zones included (capacity enforced, not only planned)
      b.states.add(pre.get(i).withLoad(result.load(i) + pinnedLoad[i]).withAllowed(limits[i]));
    }
    Map<String, ZoneRoute> routes = new HashMap<>(result.routes(pre).asMap());
    routes.putAll(pinned);
    b.routes = ZoneRoutes.of(routes);
    b.homes = adm.promotions().isEmpty() && adm.fenced().isEmpty() ? HomeAssignments.NONE
        : new HomeAssignments(adm.promotions(), adm.fenced());
    b.shortfall = result.shortfallRps() + pinnedShortfall;
    b.result = result;
    b.limits = limits;
    int[] planned = result.input().zones();
    for (int i = 0; i < planned.length; i++) {
      for (int r = 0; r < n; r++) {
        double f = result.flow(i, r);
        if (f > 1e-9) {
          flows.add(new Flow(planned[i], topology.id(r), f, false));
        }
      }
    }
    b.flows = List.copyOf(flows);
    return b;
  }

  /** Whether a new plan is worth publishing: any state change, loads moving > 10 %, routes moving > 2 %. */
  private static boolean material(RoutingPlan current, Built b) {
    if (current.regions().size() != b.states.size()) {
      return true;
    }
    for (int i = 0; i < b.states.size(); i++) {
      if (!current.region(i).id().equals(b.states.get(i).id())) {
        return true;
      }
    }
    for (int i = 0; i < b.states.size(); i++) {
      RegionState a = current.region(i);
      RegionState c = b.states.get(i);
      if (a.health() != c.health() || a.lifecycle() != c.lifecycle()
          || Math.abs(a.trafficShare() - c.trafficShare()) > 1e-6
          || Double.compare(a.allowedRps(), c.allowedRps()) != 0) { // the proxies enforce it
        return true;
      }
      // planned load is what dry runs, status and utilisation read: republish when it moves by > 10 %
      if (Math.abs(a.loadRps() - c.loadRps()) > Math.max(1, 0.1 * Math.max(a.loadRps(), c.loadRps()))) {
        return true;
      }
    }
    if (!Objects.equals(current.homes(), b.homes) || Math.abs(current.shortfallRps() - b.shortfall) > 1) {
      return true;
    }
    Map<String, ZoneRoute> x = current.zones().asMap();
    Map<String, ZoneRoute> y = b.routes.asMap();
    if (!x.keySet().equals(y.keySet())) {
      return true;
    }
    for (Map.Entry<String, ZoneRoute> e : y.entrySet()) {
      if (!similar(x.get(e.getKey()), e.getValue())) {
        return true;
      }
    }
    return false;
  }

  private static boolean similar(ZoneRoute a, ZoneRoute b) {
    if (a.choices().size() != b.choices().size()) {
      return false;
    }
    double ta = a.choices().stream().mapToDouble(ZoneRoute.Choice::weight).sum();
    double tb = b.choices().stream().mapToDouble(ZoneRoute.Choice::weight).sum();
    for (int i = 0; i < a.choices().size(); i++) {
      ZoneRoute.Choice ca = a.choices().get(i);
      ZoneRoute.Choice cb = b.choices().get(i);
      if (!ca.region().equals(cb.region()) || Math.abs(ca.weight() / ta - cb.weight() / tb) > 0.02) {
        return false;
      }
    }
    return Math.abs(a.shed() - b.shed()) <= 0.02; // the proxies shed this fraction: republish when it moves
  }

  static JsonObject event(Instant at, String type, String region, String message) {
    return new JsonObject().put("at", at.toString()).put("type", type).put("region", region)
        .put("message", message);
  }

  private static String fmt(Duration d) {
    return io.meridian.config.ConfigNode.formatDuration(d);
  }

  /** Regions drained, draining or failed by operators: what max_concurrent_drains counts. */
  public static long operatorOut(AdminState s) {
    return s.regions().size();
  }

}
