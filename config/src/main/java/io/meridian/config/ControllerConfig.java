package io.meridian.config;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The failover controller.
 *
 * @param adminListen          HTTP address of the admin API (also /healthz, /readyz, /metrics)
 * @param headroom             no region is planned above this fraction of its capacity (0..1]
 * @param failbackHoldDown     a recovered region stays out this long before traffic returns
 * @param evaluateInterval     how often the controller re-plans even without new input
 * @param rampSteps            a recovering (or undrained) region returns in this many equal steps (slow start)
 * @param rampInterval         time between two ramp steps
 * @param drainStep            fraction of a draining region's share removed per step
 * @param drainInterval        time between two drain steps
 * @param maxConcurrentDrains  safety rule: regions draining or drained by operators at the same time
 * @param autoChangesPerMinute safety rule: automatic failbacks and promotions allowed per minute (failing a
 *                             dead region is never rate-limited: sending traffic to it is worse)
 * @param planner              min-cost (optimal total distance) or waterfall (nearest first, spill when full)
 * @param demandEstimates      zone id (e.g. 50N8E) → requests/s: a zone's demand until the proxies have measured
 *                             enough of it, and what its demand decays back to when they no longer do
 * @param demandWindow         measured traffic reports older than this no longer count as demand; also the span
 *                             over which a zone's requests are counted against {@code demandMinRequests}
 * @param demandMinRequests    requests the live proxies must have observed for a zone within {@code demandWindow}
 *                             before its measured rate may replace (and go below) its estimate
 * @param demandHalfLife       without enough measurement a zone's demand decays from its last value back towards
 *                             its estimate (0 when it has none) with this half-life
 * @param homeFailover         auto: promote a failed home's successor; manual: only on operator command
 * @param successors           home region → region promoted when it fails (same residency group)
 * @param latencyMs            measured round-trip times, zone id → region id → ms; the planner prefers them to
 *                             great-circle distance where present
 * @param advertisedAdminUrl   where the other controllers reach this one's admin API when it leads (they forward
 *                             mutating calls there), or null: derived from {@code adminListen} (a wildcard host
 *                             becomes this machine's host name; https when admin.tls is set)
 */
public record ControllerConfig(ListenAddress adminListen, double headroom, Duration failbackHoldDown,
    Duration evaluateInterval, int rampSteps, Duration rampInterval, double drainStep, Duration drainInterval,
    int maxConcurrentDrains, int autoChangesPerMinute, Planner planner, Map<String, Double> demandEstimates,
    Duration demandWindow, HomeFailover homeFailover, Map<String, String> successors,
    Map<String, Map<String, Double>> latencyMs, int demandMinRequests, Duration demandHalfLife,
    String advertisedAdminUrl) {

  /** Planning algorithm. */
  public enum Planner { MIN_COST, WATERFALL }

  /** Whether home-region promotion happens on health or only on an operator's command. */
  public enum HomeFailover { AUTO, MANUAL }

  /**
   * A client zone id exactly as {@code io.meridian.core.geo.Zones.id} writes it: the cell's south-west corner,
   * latitude -90..89 and longitude -180..179, without leading zeros. The bottom row is {@code 90S…} and the cell
   * west of the antimeridian {@code …180W}; {@code 90N} and {@code 180E} name no cell. {@code 0S} and {@code 0W}
   * are refused: they would be second names of the 0N and 0E cells, and one map could then hold a zone twice.
   */
  private static final Pattern ZONE = Pattern.compile(
      "(?:0N|[1-9][NS]|[1-8][0-9][NS]|90S)(?:0E|[1-9][EW]|[1-9][0-9][EW]|1[0-7][0-9][EW]|180W)");
  private static final String ZONE_RULE = "a 1° cell id like 50N8E, its south-west corner (latitude 0N, 1-89 N"
      + " or S, or 90S; longitude 0E, 1-179 E or W, or 180W)";

  /** Whether {@code id} is a client zone id this key accepts (every id {@code Zones.id} makes, nothing else). */
  public static boolean isZoneId(String id) {
    return id != null && ZONE.matcher(id).matches();
  }

  public ControllerConfig {
    demandEstimates = Map.copyOf(demandEstimates);
    successors = Map.copyOf(successors);
    latencyMs = Map.copyOf(latencyMs);
  }

  /** The original four keys; everything else at its default. */
  public ControllerConfig(ListenAddress adminListen, double headroom, Duration failbackHoldDown,
      Duration evaluateInterval) {
    this(adminListen, headroom, failbackHoldDown, evaluateInterval, 4, Duration.ofSeconds(10), 0.25,
        Duration.ofSeconds(10), 1, 6, Planner.MIN_COST, Map.of(), Duration.ofSeconds(30), HomeFailover.MANUAL,
        Map.of(), Map.of(), 100, Duration.ofMinutes(1), null);
  }

  public static ControllerConfig defaults() {
    return new ControllerConfig(ListenAddress.parse("127.0.0.1:9090"), 0.8, Duration.ofSeconds(30),
        Duration.ofSeconds(1));
  }

  static ControllerConfig parse(ConfigNode n) {
    n.rejectUnknownKeys(Set.of("admin_listen", "headroom", "failback_hold_down", "evaluate_interval",
        "ramp_steps", "ramp_interval", "drain_step", "drain_interval", "max_concurrent_drains",
        "auto_changes_per_minute", "planner", "demand_estimates", "demand_window", "home_failover", "successors", "latency_ms",
        "demand_min_requests", "demand_half_life", "advertised_admin_url"));
    ControllerConfig d = defaults();
    ListenAddress admin = n.listen("admin_listen", "127.0.0.1:9090");
    double headroom = n.number("headroom", d.headroom(), 0.01, 1.0);
    Duration holdDown = n.duration("failback_hold_down", d.failbackHoldDown(), Duration.ZERO);
    Duration every = n.duration("evaluate_interval", d.evaluateInterval(), Duration.ofMillis(50));
    int rampSteps = n.integer("ramp_steps", d.rampSteps(), 1, 100);
    Duration rampInterval = n.duration("ramp_interval", d.rampInterval(), Duration.ZERO);
    double drainStep = n.number("drain_step", d.drainStep(), 0.01, 1.0);
    Duration drainInterval = n.duration("drain_interval", d.drainInterval(), Duration.ZERO);
    int maxDrains = n.integer("max_concurrent_drains", d.maxConcurrentDrains(), 1, 1000);
    int autoPerMinute = n.integer("auto_changes_per_minute", d.autoChangesPerMinute(), 1, 10_000);
    Planner planner = n.enumValue("planner", Planner.class, d.planner());
    Map<String, Double> estimates = new LinkedHashMap<>();
    n.child("demand_estimates").entries().forEach((zone, v) -> {
      if (!ZONE.matcher(zone).matches()) {
        v.problem("zone must be " + ZONE_RULE + ", got '" + zone + "'");
        return;
      }
      String text = v.asString(null);
      try {
        double rps = Double.parseDouble(text);
        if (rps < 0 || Double.isNaN(rps) || Double.isInfinite(rps)) {
          v.problem("must be >= 0 requests/s, got " + text);
        } else {
          estimates.put(zone, rps);
        }
      } catch (NumberFormatException | NullPointerException e) {
        v.problem("must be a number of requests/s, got '" + text + "'");
      }
    });
    Duration window = n.duration("demand_window", d.demandWindow(), Duration.ofSeconds(1));
    int minRequests = n.integer("demand_min_requests", d.demandMinRequests(), 1, 1_000_000_000);
    Duration halfLife = n.duration("demand_half_life", d.demandHalfLife(), Duration.ofSeconds(1));
    HomeFailover homeFailover = n.enumValue("home_failover", HomeFailover.class, d.homeFailover());
    Map<String, String> successors = new LinkedHashMap<>();
    n.child("successors").entries().forEach((home, v) -> {
      String s = v.asString(null);
      if (s == null || !RegionConfig.ID.matcher(s).matches()) {
        v.problem("must be a region id (lowercase letters, digits and '-'), got '" + s + "'");
      } else {
        successors.put(home, s);
      }
    });
    Map<String, Map<String, Double>> latency = new LinkedHashMap<>();
    n.child("latency_ms").entries().forEach((zone, row) -> {
      if (!ZONE.matcher(zone).matches()) {
        row.problem("zone must be " + ZONE_RULE + ", got '" + zone + "'");
        return;
      }
      Map<String, Double> ms = new LinkedHashMap<>();
      row.entries().forEach((region, v) -> {
        String text = v.asString(null);
        try {
          double rtt = Double.parseDouble(text);
          if (rtt < 0 || Double.isNaN(rtt) || Double.isInfinite(rtt)) {
            v.problem("must be >= 0 ms, got " + text);
          } else {
            ms.put(region, rtt);
          }
        } catch (NumberFormatException | NullPointerException e) {
          v.problem("must be a round-trip time in ms, got '" + text + "'");
        }
      });
      latency.put(zone, Map.copyOf(ms));
    });
    return new ControllerConfig(admin, headroom, holdDown, every, rampSteps, rampInterval, drainStep,
        drainInterval, maxDrains, autoPerMinute, planner, estimates, window, homeFailover, successors, latency,
        minRequests, halfLife, advertisedUrl(n));
  }

  /** An absolute http(s) URL with a host, no path beyond "/", or absent. */
  private static String advertisedUrl(ConfigNode n) {
    ConfigNode v = n.child("advertised_admin_url");
    String s = v.asString(null);
    if (s == null) {
      return null;
    }
    try {
      java.net.URI u = new java.net.URI(s);
      boolean ok = ("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && u.getHost() != null
          && (u.getPath() == null || u.getPath().isEmpty() || u.getPath().equals("/")) && u.getQuery() == null;
      if (ok) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
      }
    } catch (java.net.URISyntaxException e) {
      // reported below
    }
    v.problem("must be an http or https URL with a host and no path, like https://ctl-a.internal:9090, got '"
        + s + "'");
    return null;
  }
}
