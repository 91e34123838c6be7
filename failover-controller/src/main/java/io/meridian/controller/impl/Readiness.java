package io.meridian.controller.impl;

import io.meridian.controller.AdminState;
import io.meridian.core.RegionState;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;

/**
 * Capacity readiness: for each region, "if it failed now, would the other regions absorb its traffic within
 * headroom — and would they at its peak of the last 24 hours?". Each answer is the dry run of {@code fail
 * REGION}: {@link ControllerEngine#target} with the region failed by an operator, judged by the capacity rule
 * the admin commands use ({@link ControllerEngine#overloads}). The same planner, the same limits, the same
 * verdict — only never applied. Computed on the controller's lane after evaluations, never on a request.
 *
 * @param computedAt   when (the controller's clock)
 * @param planVersion  the plan published when it was computed
 * @param regions      one per configured region, config order
 */
record Readiness(Instant computedAt, long planVersion, List<Region> regions) {

  Readiness {
    regions = List.copyOf(regions);
  }

  /**
   * One region's readiness.
   *
   * @param region   id
   * @param serving  whether it carries traffic in the plan operators would end up with (a region already out
   *                 has nothing for the others to absorb: both cases are ready)
   * @param current  under the demand now
   * @param peak     under the demand of its highest planned load within the last 24 h (null before the first
   *                 evaluation)
   * @param lastInGroup  it is the last serving region of its residency group: its failure would leave the group
   *                     none (the residency_group_empty rule refuses draining or failing it by hand); not part of
   *                     {@link #ready()}, which is about capacity
   */
  record Region(String region, boolean serving, Case current, Case peak, boolean lastInGroup) {
    /** Ready in both cases. */
    boolean ready() {
      return current.ready() && (peak == null || peak.ready());
    }
  }

  /**
   * One scenario: the region fails under some demand.
   *
   * @param demandAt          when that demand was planned (now, or the time of the peak)
   * @param loadRps           what the region carries under that demand (what the others must absorb)
   * @param shortfallRps      demand its failure would leave unplaced within the others' headroom
   * @param ready             no overload ({@code shortfallRps} within the planning slack)
   * @param worstRegion       the survivor left with the highest utilisation, or null
   * @param worstUtilisation  its predicted load / capacity
   * @param peakLoadRps       at the peak: what the region carried then (its 24 h high); null for the current case
   */
  record Case(Instant demandAt, double loadRps, double shortfallRps, boolean ready, String worstRegion,
      double worstUtilisation, Double peakLoadRps) {}

  /** Computes every region's readiness: 1 + 2 plans per region under today's demand, 2 per region at its peak. */
  static Readiness compute(ControllerEngine engine, Instant now, long planVersion) {
    AdminState admin = engine.admin();
    ControllerEngine.Built base = engine.target(admin, now);
    List<Region> out = new ArrayList<>();
    List<String> ids = engine.regionIds();
    for (int i = 0; i < ids.size(); i++) {
      String id = ids.get(i);
      AdminState failed = admin.withRegion(id, new AdminState.RegionOverride(AdminState.Mode.FAIL, false,
          "capacity readiness: what if " + id + " failed", "controller", now, null));
      boolean serving = base.states.get(i).lifecycle().takesTraffic() && base.states.get(i).health().serves();
      Case current = scenario(base, engine.target(failed, now), i, now, null);
      LoadPeaks.Peak p = engine.peaks().peak(id, now);
      Case peak = null;
      if (p != null) {
        SortedMap<Integer, Double> d = p.demand();
        peak = scenario(engine.target(admin, now, d), engine.target(failed, now, d), i, p.at(), p.loadRps());
      }
      String group = base.states.get(i).residencyGroup();
      boolean others = false;
      for (RegionState o : base.states) {
        others |= !o.id().equals(id) && o.residencyGroup().equals(group) && o.lifecycle().takesTraffic()
            && o.health().serves();
      }
      out.add(new Region(id, serving, current, peak, serving && !others));
    }
    return new Readiness(now, planVersion, out);
  }

  private static Case scenario(ControllerEngine.Built before, ControllerEngine.Built after,
      int failed, Instant demandAt, Double peakLoad) {
    String worst = null;
    double worstU = 0;
    for (int j = 0; j < after.states.size(); j++) {
      RegionState r = after.states.get(j);
      if (j == failed || r.capacityRps() <= 0) {
        continue;
      }
      double u = r.loadRps() / r.capacityRps();
      if (worst == null || u > worstU) {
        worst = r.id();
        worstU = u;
      }
    }
    return new Case(demandAt, before.states.get(failed).loadRps(), ControllerEngine.addedShortfall(before, after),
        !ControllerEngine.overloads(before, after), worst, worstU, peakLoad);
  }

  Region region(String id) {
    for (Region r : regions) {
      if (r.region().equals(id)) {
        return r;
      }
    }
    return null;
  }

  /** What {@code GET /v1/regions} shows per region as {@code readiness}. */
  static JsonObject json(Region r, Readiness of) {
    return new JsonObject().put("ready", r.ready()).put("serving", r.serving())
        .put("last_in_residency_group", r.lastInGroup())
        .put("current", json(r.current())).put("peak_24h", r.peak() == null ? null : json(r.peak()))
        .put("computed_at", of.computedAt().toString()).put("plan_version", of.planVersion());
  }

  private static JsonObject json(Case c) {
    return new JsonObject().put("ready", c.ready()).put("load_rps", c.loadRps())
        .put("shortfall_rps", c.shortfallRps()).put("worst_region", c.worstRegion())
        .put("worst_utilisation", c.worstUtilisation()).put("demand_at", c.demandAt().toString())
        .put("peak_load_rps", c.peakLoadRps());
  }

  /** The whole computation, for the observations stream. */
  JsonObject toJson() {
    JsonArray rs = new JsonArray();
    for (Region r : regions) {
      rs.add(json(r, this).put("region", r.region()));
    }
    return new JsonObject().put("computed_at", computedAt.toString()).put("plan_version", planVersion)
        .put("regions", rs);
  }

  /**
   * The regions whose verdict differs from {@code before} (all of them when there was none): what the
   * {@code readiness_changed} event reports.
   */
  List<Region> changedFrom(Readiness before) {
    List<Region> out = new ArrayList<>();
    for (Region r : regions) {
      Region b = before == null ? null : before.region(r.region());
      if (b == null ? !r.ready() : b.current().ready() != r.current().ready() || peakReady(b) != peakReady(r)) {
        out.add(r);
      }
    }
    return out;
  }

  private static boolean peakReady(Region r) {
    return r.peak() == null || r.peak().ready();
  }

  /** One line for the event and the log: the verdict with its numbers. */
  static String describe(Region r) {
    if (r.ready()) {
      return r.region() + " is ready: if it failed, the other regions would absorb its traffic within headroom"
          + (r.peak() == null ? "" : String.format(" (now %.0f rps, at its 24 h peak %.0f rps)",
          r.current().loadRps(), r.peak().loadRps()));
    }
    StringBuilder b = new StringBuilder(r.region()).append(" is not ready:");
    if (!r.current().ready()) {
      b.append(String.format(" if it failed now, %.1f of its %.1f rps would find no region within headroom"
          + " (worst survivor %s at %.0f%%);", r.current().shortfallRps(), r.current().loadRps(),
          r.current().worstRegion(), 100 * r.current().worstUtilisation()));
    }
    if (r.peak() != null && !r.peak().ready()) {
      b.append(String.format(" at its 24 h peak (%s) %.1f of %.1f rps would find none (worst survivor %s at"
          + " %.0f%%);", r.peak().demandAt(), r.peak().shortfallRps(), r.peak().loadRps(), r.peak().worstRegion(),
          100 * r.peak().worstUtilisation()));
    }
    return b.substring(0, b.length() - 1);
  }
}
