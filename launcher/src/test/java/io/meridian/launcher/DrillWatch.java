package io.meridian.launcher;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * What the drill sees of Meridian's control plane while it runs, through the interfaces operators have: every
 * controller's {@code GET /v1/plan} (each plan version with its per-region health, lifecycle, share and planned
 * load), {@code GET /v1/regions} (who leads), the event stream {@code /v1/events} (lifecycle events with the
 * controller's own timestamps) and {@code /v1/observations} (each vantage point's health reports); each DNS and
 * proxy process's {@code /readyz} (the plan version it serves, and whether its plan source is connected); each
 * proxy's {@code /metrics} (retries, spills and sheds by region). Only changes are recorded, each with when the drill
 * saw it.
 */
final class DrillWatch {
  // The drill shares a small machine with everything it runs: it polls no faster than its waits and its report
  // need. When a data plane applied a plan is read from the process's own log (see appliedPlans), not from here.
  static final long PLAN_POLL_MS = 250;
  static final long DATA_PLANE_POLL_MS = 250;
  static final long LEADERSHIP_POLL_MS = 250;
  static final long METRICS_POLL_MS = 500;

  record RegionView(String health, String lifecycle, double share, double loadRps, double allowedRps,
      double capacityRps, boolean eligible) {}

  /** One plan version: {@code createdMicros} is the controller's own time of it, {@code seenMicros} the drill's. */
  record PlanView(long version, long createdMicros, long seenMicros, String reason, Map<String, RegionView> regions) {
    RegionView region(String id) {
      return regions.get(id);
    }
  }

  /** A controller's event; {@code atMicros} is the controller's own timestamp. */
  record Event(long atMicros, long seenMicros, String controller, String type, String region, String message) {}

  /** A controller's answer on leadership; an unreachable controller (killed, restarting) leads nothing. */
  record Leadership(long micros, String controller, boolean reachable, boolean leads, String leaderId) {}

  /** A DNS or proxy process's plan, recorded when its version or its source's connection changes. */
  record DataPlanePlan(long micros, String process, long version, boolean connected) {}

  /** A vantage point's verdict on a region, recorded when it changes; {@code atMicros} is the report's time. */
  record VantageHealth(long atMicros, long seenMicros, String vantagePoint, String region, String health) {}

  /** A counter of a proxy's /metrics, recorded when it changes. */
  record Metric(long micros, String process, String series, double value) {}

  private final Vertx vertx;
  private final HttpClientAgent client;
  private final String token;
  private final List<Long> timers = new ArrayList<>();
  private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
  private final Map<String, Runnable> planFetchers = new ConcurrentHashMap<>();
  private volatile boolean running = true;

  private final TreeMap<Long, PlanView> plans = new TreeMap<>();
  private final List<Event> events = new ArrayList<>();
  private final Set<String> eventKeys = new java.util.HashSet<>();
  private final List<Leadership> leadership = new ArrayList<>();
  private final Map<String, Leadership> lastLeadership = new HashMap<>();
  private final List<DataPlanePlan> dataPlanes = new ArrayList<>();
  private final Map<String, DataPlanePlan> lastDataPlane = new LinkedHashMap<>();
  private final List<VantageHealth> vantage = new ArrayList<>();
  private final Map<String, String> lastVantage = new HashMap<>();
  private final Map<String, Long> lastReportAt = new HashMap<>();
  private final List<Metric> metrics = new ArrayList<>();
  private final Map<String, Double> lastMetric = new HashMap<>();

  DrillWatch(Vertx vertx, String token) {
    this.vertx = vertx;
    this.token = token;
    this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true), new PoolOptions()
        .setHttp1MaxSize(8));
  }

  // ---- what to watch

  void controller(String name, int adminPort) {
    poll(name + " plan", adminPort, "/v1/plan", PLAN_POLL_MS, body -> onPlan(new JsonObject(body)));
    planFetchers.put(name, () -> fetch(adminPort, "/v1/plan", body -> onPlan(new JsonObject(body))));
    poll(name + " regions", adminPort, "/v1/regions", LEADERSHIP_POLL_MS, body -> onRegions(name,
        new JsonObject(body)), () -> onUnreachable(name));
    stream(name, adminPort, "/v1/events", j -> onEvent(name, j));
    stream(name, adminPort, "/v1/observations", this::onObservation);
  }

  void dataPlane(String name, int opsPort) {
    poll(name + " readyz", opsPort, "/readyz", DATA_PLANE_POLL_MS, body -> onReadyz(name, new JsonObject(body)));
  }

  void proxyMetrics(String name, int opsPort) {
    poll(name + " metrics", opsPort, "/metrics", METRICS_POLL_MS, body -> onMetrics(name, body));
  }

  // ---- polling and event streams

  private void poll(String key, int port, String path, long periodMs, Consumer<String> onBody) {
    poll(key, port, path, periodMs, onBody, () -> { });
  }

  private void poll(String key, int port, String path, long periodMs, Consumer<String> onBody, Runnable onFailure) {
    synchronized (timers) {
      timers.add(vertx.setPeriodic(periodMs, id -> {
        if (!running || !inFlight.add(key)) {
          return; // the previous call has not answered yet
        }
        client.request(options(port, path).setIdleTimeout(2000).setConnectTimeout(1000))
            .compose(req -> req.send().compose(resp -> resp.body()))
            .onComplete(ar -> {
              inFlight.remove(key);
              if (ar.succeeded()) {
                try {
                  onBody.accept(ar.result().toString());
                } catch (RuntimeException notJsonYet) {
                  // a process still starting answers with something else: the next poll reads it
                }
              } else {
                onFailure.run();
              }
            });
      }));
    }
  }

  /** One GET now (a plan announced on the event stream is read at once rather than at the next poll). */
  private void fetch(int port, String path, Consumer<String> onBody) {
    client.request(options(port, path).setIdleTimeout(2000).setConnectTimeout(1000))
        .compose(req -> req.send().compose(resp -> resp.body()))
        .onSuccess(b -> {
          try {
            onBody.accept(b.toString());
          } catch (RuntimeException notJson) {
            // the next poll reads it
          }
        });
  }

  private RequestOptions options(int port, String path) {
    return new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port).setURI(path)
        .putHeader("Authorization", "Bearer " + token);
  }

  /** Server-sent events, reconnected whenever the stream ends (a controller killed or restarted). */
  private void stream(String name, int port, String path, Consumer<JsonObject> onEvent) {
    if (!running) {
      return;
    }
    StringBuilder pending = new StringBuilder();
    client.request(options(port, path).setConnectTimeout(1000))
        .compose(req -> req.send())
        .onSuccess(resp -> {
          if (resp.statusCode() != 200) {
            resp.end().onComplete(v -> vertx.setTimer(500, t -> stream(name, port, path, onEvent)));
            return;
          }
          resp.handler((Buffer b) -> {
            pending.append(b.toString());
            int nl;
            while ((nl = pending.indexOf("\n")) >= 0) {
              String line = pending.substring(0, nl);
              pending.delete(0, nl + 1);
              if (line.startsWith("data: ")) {
                try {
                  onEvent.accept(new JsonObject(line.substring(6)));
                } catch (RuntimeException malformed) {
                  // not an event of ours
                }
              }
            }
          });
          resp.exceptionHandler(e -> { });
          resp.endHandler(v -> vertx.setTimer(500, t -> stream(name, port, path, onEvent)));
        })
        .onFailure(e -> vertx.setTimer(500, t -> stream(name, port, path, onEvent)));
  }

  // ---- what the answers say

  private void onPlan(JsonObject j) {
    long version = j.getLong("version");
    synchronized (plans) {
      if (plans.containsKey(version)) {
        return;
      }
      Map<String, RegionView> regions = new LinkedHashMap<>();
      for (Object o : j.getJsonArray("regions")) {
        JsonObject r = (JsonObject) o;
        regions.put(r.getString("id"), new RegionView(r.getString("health"), r.getString("lifecycle"),
            r.getDouble("traffic_share", 0.0), r.getDouble("load_rps", 0.0),
            r.getValue("allowed_rps") == null ? Double.NaN : r.getDouble("allowed_rps"),
            r.getDouble("capacity_rps", 0.0), r.getBoolean("eligible", false)));
      }
      plans.put(version, new PlanView(version, DrillClock.micros(j.getString("created_at")), DrillClock.now(),
          j.getString("reason", ""), regions));
    }
  }

  private void onRegions(String name, JsonObject j) {
    JsonObject c = j.getJsonObject("controller");
    if (c == null) {
      return;
    }
    JsonObject l = c.getJsonObject("leader");
    record(new Leadership(DrillClock.now(), name, true, c.getBoolean("leads", false),
        l == null ? "" : l.getString("id", "")));
  }

  private void onUnreachable(String name) {
    record(new Leadership(DrillClock.now(), name, false, false, ""));
  }

  private void record(Leadership now) {
    synchronized (leadership) {
      Leadership last = lastLeadership.get(name(now));
      if (last == null || last.reachable() != now.reachable() || last.leads() != now.leads()
          || !last.leaderId().equals(now.leaderId())) {
        leadership.add(now);
        lastLeadership.put(name(now), now);
      }
    }
  }

  private static String name(Leadership l) {
    return l.controller();
  }

  private void onEvent(String controller, JsonObject j) {
    String at = j.getString("at");
    if (at == null) {
      return;
    }
    Event e = new Event(DrillClock.micros(at), DrillClock.now(), controller, j.getString("type"),
        j.getString("region"), j.getString("message", ""));
    if ("plan_published".equals(e.type())) {
      Runnable fetch = planFetchers.get(controller);
      if (fetch != null) {
        fetch.run();
      }
    }
    synchronized (events) {
      // both controllers may carry the same event (plans, leadership): keep the first copy
      if (eventKeys.add(e.type() + "|" + e.region() + "|" + at + "|" + e.message())) {
        events.add(e);
      }
    }
  }

  private void onObservation(JsonObject j) {
    if (!"health".equals(j.getString("type")) || j.getJsonObject("report") == null) {
      return;
    }
    JsonObject report = j.getJsonObject("report");
    String vp = report.getString("vantage_point");
    long at = DrillClock.micros(report.getString("at"));
    synchronized (vantage) {
      // both controllers relay every report: take each vantage point's reports once, in order
      if (at <= lastReportAt.getOrDefault(vp, Long.MIN_VALUE)) {
        return;
      }
      lastReportAt.put(vp, at);
      for (Object o : report.getJsonArray("regions", new JsonArray())) {
        JsonObject r = (JsonObject) o;
        String key = vp + "|" + r.getString("region");
        String health = r.getString("health");
        if (!health.equals(lastVantage.get(key))) {
          lastVantage.put(key, health);
          vantage.add(new VantageHealth(at, DrillClock.now(), vp, r.getString("region"), health));
        }
      }
    }
  }

  private void onReadyz(String name, JsonObject j) {
    for (Object o : j.getJsonArray("checks", new JsonArray())) {
      JsonObject c = (JsonObject) o;
      if ("plan".equals(c.getString("id")) && c.getJsonObject("data") != null
          && c.getJsonObject("data").containsKey("version")) {
        JsonObject d = c.getJsonObject("data");
        DataPlanePlan now = new DataPlanePlan(DrillClock.now(), name, d.getLong("version"),
            d.getBoolean("connected", false));
        synchronized (dataPlanes) {
          DataPlanePlan last = lastDataPlane.get(name);
          if (last == null || last.version() != now.version() || last.connected() != now.connected()) {
            dataPlanes.add(now);
            lastDataPlane.put(name, now);
          }
        }
      }
    }
  }

  private void onMetrics(String name, String text) {
    long now = DrillClock.now();
    synchronized (metrics) {
      for (String line : text.split("\n")) {
        if (line.startsWith("meridian_proxy_retries_total{") || line.startsWith("meridian_proxy_shed_total{")
            || line.startsWith("meridian_proxy_capacity_spills_total{")
            || line.startsWith("meridian_proxy_capacity_waits_total{")
            || line.startsWith("meridian_proxy_region_limit_rps{") || line.startsWith("meridian_proxy_region_share{")) {
          int sp = line.lastIndexOf(' ');
          String series = line.substring(0, sp);
          double v = Double.parseDouble(line.substring(sp + 1));
          Double last = lastMetric.put(name + "|" + series, v);
          if (last == null || last != v) {
            metrics.add(new Metric(now, name, series, v));
          }
        }
      }
    }
  }

  // ---- reads for the drill's waits and its report

  List<PlanView> plans() {
    synchronized (plans) {
      return new ArrayList<>(plans.values());
    }
  }

  PlanView latestPlan() {
    synchronized (plans) {
      return plans.isEmpty() ? null : plans.lastEntry().getValue();
    }
  }

  List<Event> events() {
    synchronized (events) {
      return new ArrayList<>(events);
    }
  }

  List<Leadership> leadership() {
    synchronized (leadership) {
      return new ArrayList<>(leadership);
    }
  }

  /** The controller that says it leads in its latest answer, or null. */
  String leader() {
    synchronized (leadership) {
      return lastLeadership.values().stream().filter(Leadership::leads).map(Leadership::controller)
          .findFirst().orElse(null);
    }
  }

  /** Whether {@code controller}'s latest answer names a leader other than itself. */
  boolean follows(String controller) {
    synchronized (leadership) {
      Leadership l = lastLeadership.get(controller);
      return l != null && !l.leads() && !l.leaderId().isEmpty();
    }
  }

  /**
   * When each DNS and proxy process applied each plan, by its own clock: the "applied plan vN from etcd" lines of
   * its log (the etcd bus writes one per plan it applies), as records with {@code connected} true.
   */
  static List<DataPlanePlan> appliedPlans(String process, String log) {
    List<DataPlanePlan> out = new ArrayList<>();
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("(?m)^(\\S+Z) .* applied plan v(\\d+) from etcd").matcher(log);
    while (m.find()) {
      try {
        out.add(new DataPlanePlan(DrillClock.micros(m.group(1)), process, Long.parseLong(m.group(2)), true));
      } catch (RuntimeException notATimestamp) {
        // a line of another format
      }
    }
    return out;
  }

  List<DataPlanePlan> dataPlanes() {
    synchronized (dataPlanes) {
      return new ArrayList<>(dataPlanes);
    }
  }

  /** The latest plan each DNS and proxy process reported. */
  Map<String, DataPlanePlan> dataPlaneNow() {
    synchronized (dataPlanes) {
      return new LinkedHashMap<>(lastDataPlane);
    }
  }

  List<VantageHealth> vantage() {
    synchronized (vantage) {
      return new ArrayList<>(vantage);
    }
  }

  /** A vantage point's latest verdict on a region, or null. */
  String vantageHealth(String vantagePoint, String region) {
    synchronized (vantage) {
      return lastVantage.get(vantagePoint + "|" + region);
    }
  }

  List<Metric> metrics() {
    synchronized (metrics) {
      return new ArrayList<>(metrics);
    }
  }

  void stop() throws Exception {
    running = false;
    synchronized (timers) {
      timers.forEach(vertx::cancelTimer);
    }
    client.close().await(10, TimeUnit.SECONDS);
  }
}
