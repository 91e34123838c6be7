package io.meridian.controller;

import io.meridian.config.ControllerConfig;
import io.meridian.controller.impl.MinCostPlanner;
import io.meridian.controller.impl.WaterfallPlanner;
import io.meridian.core.RegionState;
import io.meridian.core.Topology;
import io.meridian.core.ZoneRoute;
import io.meridian.core.ZoneRoutes;
import io.meridian.core.geo.Zones;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns demand per client zone into weights over regions so that every zone is served as near as possible and
 * no region is planned above its limit (capacity × headroom × its traffic share). Demand that fits nowhere is
 * reported as shortfall, never pushed onto a full region.
 *
 * <pre>{@code
 * Planner planner = Planner.minCost();
 * Planner.Result r = planner.plan(new Planner.Input(topology, limits, zones, demand));
 * ZoneRoutes routes = r.routes(regions);
 * }</pre>
 *
 * <p>Implementations are deterministic (same input, same output) and may cache distances per topology, so a
 * planner instance is used by one thread at a time.
 */
public interface Planner {

  /** Minimum total client-to-region distance subject to the limits: a min-cost flow. */
  static Planner minCost() {
    return MinCostPlanner.create();
  }

  /** Nearest first, spilling to the next nearest when a region is full; zones taken in index order. */
  static Planner waterfall() {
    return WaterfallPlanner.create();
  }

  static Planner of(ControllerConfig.Planner kind) {
    return kind == ControllerConfig.Planner.WATERFALL ? waterfall() : minCost();
  }

  Result plan(Input input);

  /**
   * Converts a measured round-trip time to the planner's unit: light in fibre covers about 200 km per ms one
   * way, so 1 ms of RTT is worth about 100 km of great-circle distance.
   */
  double KM_PER_RTT_MS = 100;

  /**
   * @param topology   regions and geometry
   * @param limitRps   per region (topology order): the most it may be planned to carry; 0 when it takes no traffic
   * @param zones      client zone indexes with demand ({@link Zones}), distinct
   * @param demandRps  demand per entry of {@code zones}
   * @param measured   zone index → cost per region in km-equivalent (from a measured latency matrix, see
   *                   {@link #KM_PER_RTT_MS}); zones not in it use great-circle distance
   */
  record Input(Topology topology, double[] limitRps, int[] zones, double[] demandRps,
      Map<Integer, double[]> measured) {

    public Input(Topology topology, double[] limitRps, int[] zones, double[] demandRps) {
      this(topology, limitRps, zones, demandRps, Map.of());
    }

    public Input {
      if (limitRps.length != topology.size()) {
        throw new IllegalArgumentException("limitRps: " + limitRps.length + " entries (expected: "
            + topology.size() + ")");
      }
      if (zones.length != demandRps.length) {
        throw new IllegalArgumentException("demandRps: " + demandRps.length + " entries (expected: "
            + zones.length + ", one per zone)");
      }
    }

    public double totalDemand() {
      double t = 0;
      for (double d : demandRps) {
        t += d;
      }
      return t;
    }
  }

  /**
   * A computed assignment: {@code flows[i][r]} is the demand of {@code input.zones()[i]} sent to region r.
   */
  final class Result {
    private final Input input;
    private final double[][] flows;
    private final double[] loads;
    private final double shortfall;
    private final double[][] distances;

    public Result(Input input, double[][] flows, double[][] distances) {
      this.input = input;
      this.flows = flows;
      this.distances = distances;
      int n = input.topology().size();
      this.loads = new double[n];
      double shed = 0;
      for (int i = 0; i < flows.length; i++) {
        double served = 0;
        for (int r = 0; r < n; r++) {
          loads[r] += flows[i][r];
          served += flows[i][r];
        }
        shed += Math.max(0, input.demandRps()[i] - served);
      }
      this.shortfall = shed;
    }

    public Input input() {
      return input;
    }

    /**
     * The same input with other flows (e.g. bounded per zone by a slow-start ramp): loads, shortfall, cost and
     * routes follow from them.
     */
    public Result withFlows(double[][] otherFlows) {
      if (otherFlows.length != flows.length) {
        throw new IllegalArgumentException("flows: " + otherFlows.length + " zones (expected: " + flows.length + ")");
      }
      return new Result(input, otherFlows, distances);
    }

    /** Planned requests/s per region (topology order). */
    public double[] loads() {
      return loads.clone();
    }

    public double load(int region) {
      return loads[region];
    }

    /** Demand placed nowhere: the proxies shed it. */
    public double shortfallRps() {
      return shortfall;
    }

    /** Σ rps × km: what the min-cost planner minimises. */
    public double costKmRps() {
      double c = 0;
      for (int i = 0; i < flows.length; i++) {
        for (int r = 0; r < loads.length; r++) {
          c += flows[i][r] * distances[i][r];
        }
      }
      return c;
    }

    /** Demand of zone entry {@code i} sent to region r. */
    public double flow(int i, int region) {
      return flows[i][region];
    }

    /**
     * The per-zone routes for the plan: a zone gets a weighted route unless all of it goes to the region the
     * selector would pick anyway (its nearest region taking traffic, at full share). A zone whose demand was not
     * all placed carries the unplaced fraction as its {@link ZoneRoute#shed()}.
     */
    public ZoneRoutes routes(List<RegionState> regions) {
      Topology t = input.topology();
      Map<String, ZoneRoute> out = new HashMap<>();
      for (int i = 0; i < flows.length; i++) {
        int zone = input.zones()[i];
        int natural = -1;
        for (int r : t.ranking(zone)) {
          if (regions.get(r).eligible()) {
            natural = r;
            break;
          }
        }
        List<ZoneRoute.Choice> choices = new ArrayList<>(2);
        double served = 0;
        for (int r : t.ranking(zone)) {
          if (flows[i][r] > 1e-9) {
            choices.add(new ZoneRoute.Choice(t.id(r), round(flows[i][r])));
            served += flows[i][r];
          }
        }
        // what the plan could not place, as the fraction of this zone's requests the proxies refuse
        double demand = input.demandRps()[i];
        double shed = demand <= 1e-9 ? 0 : Math.min(1, Math.max(0, (demand - served) / demand));
        shed = shed < 1e-4 ? 0 : round(shed);
        if (served <= 1e-9) {
          if (shed > 0) {
            // nothing placed: all of it is shed, nearest-first for whatever the proxies let through
            out.put(Zones.id(zone), new ZoneRoute(Zones.id(zone), List.of(), 1));
          }
          continue;
        }
        boolean plain = choices.size() == 1 && natural >= 0 && choices.get(0).region().equals(t.id(natural))
            && regions.get(natural).trafficShare() >= 1 && shed == 0;
        if (!plain) {
          out.put(Zones.id(zone), new ZoneRoute(Zones.id(zone), choices, shed));
        }
      }
      return ZoneRoutes.of(out);
    }

    private static double round(double w) {
      return Math.round(w * 1000) / 1000.0;
    }

    /** Why zone entry {@code i} goes where it goes: every region nearest first, with the numbers. */
    public List<String> explain(int zone) {
      int i = -1;
      for (int k = 0; k < input.zones().length; k++) {
        if (input.zones()[k] == zone) {
          i = k;
        }
      }
      List<String> out = new ArrayList<>();
      Topology t = input.topology();
      if (i < 0) {
        out.add("zone " + Zones.id(zone) + " has no measured or estimated demand: served nearest eligible first");
        return out;
      }
      out.add(String.format("zone %s: demand %.1f rps", Zones.id(zone), input.demandRps()[i]));
      for (int r : t.ranking(zone)) {
        double lim = input.limitRps()[r];
        String state = lim <= 0 ? "takes no traffic (limit 0)"
            : loads[r] >= lim - 1e-6 ? String.format("full: planned %.1f of limit %.1f rps", loads[r], lim)
            : String.format("spare %.1f rps (planned %.1f of limit %.1f)", lim - loads[r], loads[r], lim);
        out.add(String.format("  %-16s %7.0f km  gets %8.1f rps  %s", t.id(r), distances[i][r], flows[i][r],
            state));
      }
      double served = 0;
      for (int r = 0; r < loads.length; r++) {
        served += flows[i][r];
      }
      if (input.demandRps()[i] - served > 1e-6) {
        out.add(String.format("  shortfall %.1f rps: no region within reach has spare capacity",
            input.demandRps()[i] - served));
      }
      return out;
    }
  }
}
