package io.meridian.launcher;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * The drill's figures, each next to its goal: a human-readable text and the same as JSON. Built after the drill
 * from what it recorded ({@link DrillLoad}'s requests, {@link DrillDns}'s answers, {@link DrillWatch}'s plans,
 * events, leadership and data-plane plan versions) and the moments it acted ({@link Drill.Phase} marks).
 *
 * <p>Every figure is a {@link Check}: <em>behaviour</em> (no failed request, convergence, no survivor above its
 * capacity, no failover where there must be none) — what {@code MultiProcessDrillTest} asserts — or <em>timing</em>
 * (detection ≤ 1 s, DNS and HTTP off the dead region ≤ 1.5 s), which is reported and never asserted by a test.
 *
 * <p>Observed load is counted from the load driver's own records: the requests each region's app answered (its
 * {@code X-App-Region} header), by the second they were sent. The apps serve nothing else but health probes.
 */
final class DrillReport {
  static final double DETECT_GOAL_S = 1.0;
  static final double OFF_GOAL_S = 1.5;

  /** One figure against its goal; {@code timing} goals are reported, never asserted by tests. */
  record Check(String phase, String what, String measured, String goal, boolean met, boolean timing) {}

  private final List<Check> checks = new ArrayList<>();
  private final StringBuilder text = new StringBuilder();
  private final JsonObject json = new JsonObject();
  private final Drill.Settings s;
  private final List<DrillLoad.Sample> samples;
  private final List<DrillDns.Answer> answers;
  private final List<DrillWatch.PlanView> plans;
  private final List<DrillWatch.Event> events;
  private final List<DrillWatch.DataPlanePlan> dataPlanes;
  private final List<DrillWatch.VantageHealth> vantage;
  private final List<DrillWatch.Leadership> leadership;
  private final List<DrillWatch.Metric> metrics;
  private final Map<String, Object> facts;
  /** When each data plane applied each plan, from its own log (see {@link DrillWatch#appliedPlans}). */
  private final List<DrillWatch.DataPlanePlan> applied;

  private DrillReport(Drill.Settings s, List<DrillLoad.Sample> samples, List<DrillDns.Answer> answers,
      DrillWatch watch, List<DrillWatch.DataPlanePlan> applied, Map<String, Object> facts) {
    this.s = s;
    this.facts = facts;
    this.applied = applied;
    this.samples = samples.stream().sorted(Comparator.comparingLong(DrillLoad.Sample::sentMicros)).toList();
    this.answers = answers.stream().sorted(Comparator.comparingLong(DrillDns.Answer::sentMicros)).toList();
    this.plans = watch == null ? List.of() : watch.plans();
    this.events = watch == null ? List.of() : watch.events();
    this.dataPlanes = watch == null ? List.of() : watch.dataPlanes();
    this.vantage = watch == null ? List.of() : watch.vantage();
    this.leadership = watch == null ? List.of() : watch.leadership();
    this.metrics = watch == null ? List.of() : watch.metrics();
  }

  static DrillReport build(Drill.Settings s, List<Drill.Phase> phases, List<DrillLoad.Sample> samples,
      List<DrillDns.Answer> answers, DrillWatch watch, List<DrillWatch.DataPlanePlan> applied,
      Map<String, Object> facts, String stoppedBy) {
    DrillReport r = new DrillReport(s, samples, answers, watch, applied, facts);
    r.header(phases, facts);
    Map<String, Drill.Phase> byId = new LinkedHashMap<>();
    phases.forEach(p -> byId.put(p.id(), p));
    JsonArray phaseJson = new JsonArray();
    for (Drill.Phase p : phases) {
      JsonObject pj = new JsonObject().put("id", p.id()).put("title", p.title())
          .put("start", Instant.ofEpochSecond(0, p.startMicros() * 1000).toString())
          .put("seconds", round((p.endMicros() - p.startMicros()) / 1e6, 1));
      r.text.append('\n').append(p.id().equals("warmup") ? "warm-up" : "(" + p.id() + ") " + p.title())
          .append(String.format(Locale.ROOT, "  [%.1f s]%n", (p.endMicros() - p.startMicros()) / 1e6));
      switch (p.id()) {
        case "warmup" -> r.warmup(p, pj);
        case "a" -> r.kill(p, pj);
        case "b" -> r.failback(p, pj);
        case "c" -> r.leaderKill(p, pj);
        case "d" -> r.etcdOutage(p, pj);
        case "e" -> r.partition(p, pj);
        case "f" -> r.impairment(p, pj);
        default -> { }
      }
      if (!p.id().equals("warmup")) {
        r.common(p, pj);
      }
      phaseJson.add(pj);
    }
    for (String id : s.netns() ? List.of("a", "b", "c", "d", "e", "f") : List.of("a", "b", "c", "d", "e")) {
      if (!byId.containsKey(id)) {
        r.check(id, "phase ran to its end", "no", "yes", false, false);
      }
    }
    if (!byId.containsKey("f")) {
      r.text.append("\n(f) loss and jitter on the probe paths: ")
          .append(s.netns() ? "did not run" : "not run (needs --netns: network namespaces and root)").append('\n');
    }
    Drill.Phase first = byId.get("a");
    if (first != null) {
      r.capacityOverall(first.startMicros(), phases.get(phases.size() - 1).endMicros());
    }
    r.check("drill", "the drill ran to its end", stoppedBy == null ? "yes" : "stopped: " + stoppedBy, "yes",
        stoppedBy == null, false);
    r.goals();
    r.json.put("phases", phaseJson);
    JsonArray cj = new JsonArray();
    r.checks.forEach(c -> cj.add(new JsonObject().put("phase", c.phase()).put("what", c.what())
        .put("measured", c.measured()).put("goal", c.goal()).put("met", c.met()).put("timing", c.timing())));
    r.json.put("checks", cj);
    return r;
  }

  // ---- header

  private void header(List<Drill.Phase> phases, Map<String, Object> facts) {
    text.append("Meridian multi-process failover drill, ").append(Instant.now()).append('\n');
    if (!s.command.isEmpty()) {
      text.append("command: ").append(s.command).append('\n');
    }
    text.append(String.format(Locale.ROOT, "topology: 3 regions (%s; capacity_rps %d each, planned up to %d"
            + " = capacity x headroom 0.8), 2 DNS, 3 proxies (one per region), 3 checkers (vp-1..3), 2 controllers,"
            + " 1 etcd: 11 `meridian run` processes + 3 app JVMs; %s%n", String.join(", ", Drill.REGIONS),
        s.capacityRps, Math.round(s.capacityRps * 0.8), s.netns()
            ? "checkers in their own network namespaces (netlab.sh), regions and etcd on " + Drill.NETLAB_HOST
            : "all on loopback"));
    text.append(String.format(Locale.ROOT, "started as: %s%n", s.meridianScript != null
        ? "the meridian script (its JVM flags per role), MERIDIAN_CLASSPATH = the launcher's test class path"
        : "java " + String.join(" ", s.jvmFlags) + " -cp <test class path> io.meridian.launcher.Main run ..."));
    text.append(String.format(Locale.ROOT, "load: %.0f rps of GETs (%.0f %% of the total capacity) through the 3"
            + " proxies, clients in NA, EU and AS (X-Forwarded-For, 256 /24s each); DNS: ECS queries for the same"
            + " clients to each server every %d ms per continent%n", s.rps,
        100 * s.rps / (3.0 * s.capacityRps), s.dnsPeriodMs));
    text.append(String.format(Locale.ROOT, "settings: detection from the drill's config (%s); lease_ttl %s,"
            + " failback_hold_down %s, ramp 4 steps every %s%n", detectionSettings(), Drill.seconds(s.leaseTtl),
        Drill.seconds(s.failbackHoldDown), Drill.seconds(s.rampInterval)));
    Object startup = facts.get("startup_seconds");
    if (startup != null) {
      text.append(String.format(Locale.ROOT, "start-up: %.1f s until every process was ready and steady%n",
          (Double) startup));
    }
    long skipped = ((Number) facts.getOrDefault("load_skipped_requests", 0L)).longValue();
    if (skipped > 0) {
      text.append("note: the load driver's JVM stalled: ").append(skipped)
          .append(" requests in all were not sent on schedule (each phase says if it was affected)\n");
    }
    json.put("settings", new JsonObject().put("command", s.command).put("netns", s.netns())
        .put("meridian_script", s.meridianScript != null).put("rps", s.rps).put("capacity_rps", s.capacityRps)
        .put("detection", detectionSettings()).put("lease_ttl", s.leaseTtl.toString())
        .put("failback_hold_down", s.failbackHoldDown.toString()).put("ramp_interval", s.rampInterval.toString())
        .put("etcd_outage", s.etcdOutage.toString()).put("partition_hold", s.partitionHold.toString())
        .put("impair", s.netns() ? s.impair.toString() : null).put("dns_period_ms", s.dnsPeriodMs));
    JsonObject f = new JsonObject();
    facts.forEach((k, v) -> f.put(k, v));
    json.put("facts", f);
  }

  static String detectionSettings() {
    try {
      String t = Drill.template();
      int i = t.indexOf("\nhealth_check:\n");
      return t.substring(i + 1).lines().skip(1).takeWhile(l -> l.startsWith("  "))
          .filter(l -> l.matches("  (interval|timeout|rise|fall|report_interval):.*"))
          .map(String::strip).collect(Collectors.joining(", "));
    } catch (java.io.IOException e) {
      return "?";
    }
  }

  // ---- phases

  private void warmup(Drill.Phase p, JsonObject pj) {
    List<DrillLoad.Sample> in = requests(p.startMicros(), p.endMicros());
    long failed = in.stream().filter(DrillLoad.Sample::failed).count();
    line("requests: %d sent, %d failed (not counted: the load starts here)%s", in.size(), failed,
        failed == 0 ? "" : "; " + reasons(in));
    double waited = counted("meridian_proxy_capacity_waits_total{", null, p.startMicros(), p.endMicros());
    if (waited > 0) {
      line("requests that found every region at its allowed rate and waited for a slot (proxy.capacity_wait): %.0f",
          waited);
    }
    pj.put("capacity_waits", waited);
    pj.put("requests", in.size()).put("failed", failed);
  }

  private void kill(Drill.Phase p, JsonObject pj) {
    String dead = Drill.KILLED_REGION;
    long kill = p.marks().get("kill");
    line("kill -9 at %s", Instant.ofEpochSecond(0, kill * 1000));
    // where the time goes: each vantage point, the controller, each data plane
    List<String> vps = new ArrayList<>();
    JsonObject vpj = new JsonObject();
    for (String vp : Drill.CHECKERS) {
      Long at = first(vantage, v -> v.vantagePoint().equals(vp) && v.region().equals(dead)
          && "FAILED".equals(v.health()) && v.atMicros() >= kill, DrillWatch.VantageHealth::atMicros);
      vps.add(vp + " " + rel(at, kill));
      vpj.put(vp, secs(at, kill));
    }
    line("vantage points report it failed:   %s", String.join(", ", vps));
    Long failedEvent = first(events, e -> "region_failed".equals(e.type()) && dead.equals(e.region())
        && e.atMicros() >= kill, DrillWatch.Event::atMicros);
    DrillWatch.PlanView out = plans.stream().filter(pl -> pl.createdMicros() >= kill
        && !pl.region(dead).eligible()).findFirst().orElse(null);
    Long detect = failedEvent != null ? failedEvent : out == null ? null : out.createdMicros();
    line("controller fails it (region_failed): %s%s", rel(detect, kill), out == null ? ""
        : String.format(Locale.ROOT, "; plan v%d made %s", out.version(), rel(out.createdMicros(), kill)));
    pj.put("vantage_points_failed_s", vpj).put("detect_s", secs(detect, kill))
        .put("plan_out", out == null ? null : out.version());
    check("a", "time to detect (kill -> controller's region_failed)", rel(detect, kill), "<= 1 s",
        detect != null && (detect - kill) / 1e6 <= DETECT_GOAL_S, true);

    // data planes on the plan without the region
    Map<String, Long> adopted = new LinkedHashMap<>();
    if (out != null) {
      for (String dp : dataPlaneNames()) {
        adopted.put(dp, adoption(dp, out.version(), kill));
      }
    }
    line("data planes apply that plan:       %s (%s)", adopted.entrySet().stream()
        .map(e -> e.getKey() + " " + rel(e.getValue(), kill)).collect(Collectors.joining(", ")), applied.isEmpty()
        ? "seen in their /readyz, polled every " + DrillWatch.DATA_PLANE_POLL_MS + " ms" : "the time in their logs");
    JsonObject aj = new JsonObject();
    adopted.forEach((k, v) -> aj.put(k, secs(v, kill)));
    pj.put("data_planes_on_plan_s", aj);

    // DNS: the last answer from each server that still named the region
    List<String> perServer = new ArrayList<>();
    Long dnsOff = kill;
    boolean everNamed = false;
    JsonObject dj = new JsonObject();
    for (int server = 0; server < Drill.DNS_SERVERS.size(); server++) {
      int sv = server;
      Long last = last(answers, a -> a.server() == sv && dead.equals(a.region()) && a.micros() >= kill
          && a.micros() < p.endMicros(), DrillDns.Answer::micros);
      perServer.add(Drill.DNS_SERVERS.get(server) + " " + (last == null ? "none after the kill" : rel(last, kill)));
      dj.put(Drill.DNS_SERVERS.get(server), secs(last, kill));
      if (last != null) {
        everNamed = true;
        dnsOff = Math.max(dnsOff, last);
      }
    }
    line("last DNS answer naming %s:     %s", dead, String.join(", ", perServer));
    pj.put("dns_last_named_s", dj).put("dns_off_s", secs(dnsOff, kill));
    check("a", "DNS off " + dead + " (kill -> last answer from either server naming it)",
        everNamed ? rel(dnsOff, kill) : "+0.00 s (none after the kill)", "<= 1.5 s",
        (dnsOff - kill) / 1e6 <= OFF_GOAL_S, true);
    long end = p.endMicros();
    long quiet = 2_000_000;
    long bothAnswered = Drill.DNS_SERVERS.size() == answers.stream().filter(a -> a.micros() >= end - quiet
        && a.micros() < end && !a.failed()).map(DrillDns.Answer::server).distinct().count() ? 1 : 0;
    boolean dnsConverged = dnsOff < end - quiet && bothAnswered == 1;
    check("a", "eventually no DNS answer (either server) names " + dead, dnsConverged
        ? "none in the phase's last " + quiet / 1_000_000 + " s (both servers answering)"
        : "still named at " + rel(dnsOff, kill), "none", dnsConverged, false);

    // HTTP: when the last proxy served the plan without the region; retries from the region as a cross-check
    Long httpOff = adopted.entrySet().stream().filter(e -> e.getKey().startsWith("proxy-"))
        .map(Map.Entry::getValue).reduce(kill, (x, y) -> x == null || y == null ? null : Math.max(x, y));
    Long lastRetry = last(metrics, m -> m.series().startsWith("meridian_proxy_retries_total{")
        && m.series().contains("region=\"" + dead + "\"") && m.micros() >= kill && m.micros() < p.endMicros(),
        DrillWatch.Metric::micros);
    double retries = counted("meridian_proxy_retries_total{", dead, kill, end);
    line("proxies off %s (last proxy on the plan): %s; requests retried away from it: %.0f, the last"
        + " counted by %s (metrics read every %d ms)", dead, rel(httpOff, kill), retries, rel(lastRetry, kill),
        DrillWatch.METRICS_POLL_MS);
    pj.put("http_off_s", secs(httpOff, kill)).put("retried_away", retries).put("last_retry_seen_s",
        secs(lastRetry, kill));
    check("a", "HTTP off " + dead + " (kill -> last proxy on the plan without it)", rel(httpOff, kill), "<= 1.5 s",
        httpOff != null && (httpOff - kill) / 1e6 <= OFF_GOAL_S, true);
    boolean noRetryAfter = httpOff != null && (lastRetry == null
        || lastRetry <= httpOff + 2 * DrillWatch.METRICS_POLL_MS * 1000);
    check("a", "no proxied request tried " + dead + " once every proxy had the plan", noRetryAfter
        ? "none" : "a retry counted " + rel(lastRetry, kill), "none", noRetryAfter, false);

    // survivors against their capacity
    for (String r : Drill.REGIONS) {
      if (!r.equals(dead)) {
        survivorLoad(p, r, pj);
      }
    }
  }

  private void survivorLoad(Drill.Phase p, String region, JsonObject pj) {
    int[] observed = peakPerSecond(region, p.startMicros(), p.endMicros());
    double planned = plansInForce(p.startMicros(), p.endMicros()).stream()
        .mapToDouble(pl -> pl.region(region).loadRps()).max().orElse(Double.NaN);
    double capacity = s.capacityRps;
    line("%-8s peak load: observed %d rps (in the second from %s), planned %.0f rps; allowed %.0f, capacity %.0f",
        region, observed[0], observed[1] < 0 ? "-" : Instant.ofEpochSecond(observed[1]).toString(), planned,
        capacity * 0.8, capacity);
    pj.put("peak_" + region, new JsonObject().put("observed_rps", observed[0]).put("planned_rps", planned)
        .put("capacity_rps", capacity));
    check("a", region + " (survivor) peak observed load vs capacity", observed[0] + " rps", "<= " + s.capacityRps
        + " rps", observed[0] <= capacity, false);
    check("a", region + " (survivor) peak planned load vs capacity", String.format(Locale.ROOT, "%.0f rps", planned),
        "<= " + s.capacityRps + " rps", !(planned > capacity), false);
  }

  private void failback(Drill.Phase p, JsonObject pj) {
    String region = Drill.KILLED_REGION;
    long restart = p.marks().get("restart");
    Long healthy = first(plans, pl -> pl.createdMicros() >= restart && "HEALTHY".equals(pl.region(region).health()),
        DrillWatch.PlanView::createdMicros);
    line("app restarted at %s; answers %s; healthy in a plan %s (hold-down %s, then %d ramp steps every %s)",
        Instant.ofEpochSecond(0, restart * 1000), rel(p.marks().get("app_up"), restart), rel(healthy, restart),
        Drill.seconds(s.failbackHoldDown), 4, Drill.seconds(s.rampInterval));
    // each plan that changed the region's lifecycle or share is a step of the ramp
    List<DrillWatch.PlanView> steps = new ArrayList<>();
    DrillWatch.RegionView prev = null;
    for (DrillWatch.PlanView pl : plansInForce(restart, p.endMicros())) {
      DrillWatch.RegionView r = pl.region(region);
      if (pl.createdMicros() >= restart && (prev == null || !r.lifecycle().equals(prev.lifecycle())
          || Math.abs(r.share() - prev.share()) > 1e-9)) {
        steps.add(pl);
      }
      prev = r;
    }
    JsonArray sj = new JsonArray();
    line("  %-9s %-7s %-11s %6s %9s %8s %13s %12s", "step at", "plan", "lifecycle", "share", "allowed", "planned",
        "observed avg", "observed max");
    for (int i = 0; i < steps.size(); i++) {
      DrillWatch.PlanView pl = steps.get(i);
      long from = pl.createdMicros();
      long to = i + 1 < steps.size() ? steps.get(i + 1).createdMicros() : p.endMicros();
      DrillWatch.RegionView r = pl.region(region);
      long served = requests(from, to).stream().filter(x -> region.equals(x.region())).count();
      double avg = to > from ? served / ((to - from) / 1e6) : 0;
      int[] peak = peakPerSecond(region, from, to);
      line("  %-9s v%-6d %-11s %6.2f %9.0f %8.0f %9.1f rps %8d rps", rel(from, restart), pl.version(), r.lifecycle(),
          r.share(), r.allowedRps(), r.loadRps(), avg, peak[0]);
      sj.add(new JsonObject().put("at_s", secs(from, restart)).put("plan", pl.version())
          .put("lifecycle", r.lifecycle()).put("share", r.share()).put("allowed_rps", r.allowedRps())
          .put("planned_rps", r.loadRps()).put("observed_avg_rps", round(avg, 1)).put("observed_max_rps", peak[0]));
    }
    pj.put("healthy_s", secs(healthy, restart)).put("ramp", sj);
    DrillWatch.PlanView last = plansInForce(p.endMicros(), p.endMicros()).stream().reduce((a, b) -> b).orElse(null);
    boolean back = last != null && "ACTIVE".equals(last.region(region).lifecycle())
        && last.region(region).share() >= 0.999;
    long servedAtEnd = requests(p.endMicros() - 2_000_000, p.endMicros()).stream()
        .filter(x -> region.equals(x.region())).count();
    check("b", "failback: " + region + " active at full share and serving again", back
        ? "ACTIVE, share 1, " + servedAtEnd + " requests in the last 2 s" : "not back", "yes",
        back && servedAtEnd > 0, false);
    check("b", "failback ramp in steps (slow start)", steps.size() + " plan steps", ">= 2",
        steps.size() >= 2, false);
  }

  private void leaderKill(Drill.Phase p, JsonObject pj) {
    long kill = p.marks().get("kill");
    String newLeader = (String) p.notes().get("new_leader");
    Long elected = first(events, e -> "leader_elected".equals(e.type()) && e.atMicros() >= kill
        && e.controller().equals(newLeader), DrillWatch.Event::atMicros);
    Long polled = first(leadership, l -> l.controller().equals(newLeader) && l.leads() && l.micros() >= kill,
        DrillWatch.Leadership::micros);
    line("killed %s (the leader); %s leads: its leader_elected event %s, its /v1/regions says so %s (lease_ttl %s)",
        p.notes().get("killed_leader"), newLeader, rel(elected, kill), rel(polled, kill),
        Drill.seconds(s.leaseTtl));
    line("the old leader restarted and follows %s; a pin sent to it reached every data plane %s after it was sent,"
        + " the unpin %s", rel(p.marks().get("old_leader_follows"), kill), pinReached(p, "pin"),
        pinReached(p, "unpin"));
    pj.put("takeover_s", secs(elected != null ? elected : polled, kill)).put("takeover_seen_s", secs(polled, kill));
    check("c", "a new leader took over", newLeader + " " + rel(elected != null ? elected : polled, kill), "yes",
        polled != null, false);
    check("c", "plans keep flowing after the takeover (pin/unpin reached every DNS and proxy process)",
        p.marks().containsKey("pin_unpin_everywhere") ? "yes" : "no", "yes",
        p.marks().containsKey("pin_unpin_everywhere"), false);
  }

  private void etcdOutage(Drill.Phase p, JsonObject pj) {
    long stop = p.marks().get("etcd_stop");
    long start = p.marks().get("etcd_start");
    List<String> disconnected = new ArrayList<>();
    List<String> reconnected = new ArrayList<>();
    for (String dp : dataPlaneNames()) {
      Long off = first(dataPlanes, d -> d.process().equals(dp) && !d.connected() && d.micros() >= stop,
          DrillWatch.DataPlanePlan::micros);
      Long on = first(dataPlanes, d -> d.process().equals(dp) && d.connected() && d.micros() >= start,
          DrillWatch.DataPlanePlan::micros);
      disconnected.add(dp + " " + rel(off, stop));
      reconnected.add(dp + " " + rel(on, start));
    }
    line("etcd stopped (SIGKILL) for %.1f s; the data planes report their plan source down: %s",
        (start - stop) / 1e6, String.join(", ", disconnected));
    line("etcd back: data planes reconnected %s", String.join(", ", reconnected));
    line("leader again %s after etcd was back; a pin reached every data plane %s after it was sent",
        rel(p.marks().get("leader_again"), start), pinReached(p, "pin"));
    // while etcd was down: both DNS servers answered every second, the proxies served
    List<String> perServer = new ArrayList<>();
    boolean dnsEverySecond = true;
    for (int server = 0; server < Drill.DNS_SERVERS.size(); server++) {
      int sv = server;
      List<DrillDns.Answer> in = answers.stream().filter(a -> a.server() == sv && a.sentMicros() >= stop
          && a.sentMicros() < start).toList();
      long failed = in.stream().filter(DrillDns.Answer::failed).count();
      long seconds = (start - stop) / 1_000_000;
      long silent = 0;
      for (long sec = 0; sec < seconds; sec++) {
        long from = stop + sec * 1_000_000;
        long to = from + 1_000_000;
        if (in.stream().noneMatch(a -> !a.failed() && a.sentMicros() >= from && a.sentMicros() < to)) {
          silent++;
        }
      }
      dnsEverySecond &= silent == 0 && failed == 0 && !in.isEmpty();
      perServer.add(String.format(Locale.ROOT, "%s %d answered, %d failed, %d silent seconds",
          Drill.DNS_SERVERS.get(server), in.size() - failed, failed, silent));
    }
    List<DrillLoad.Sample> during = requests(stop, start);
    long failed = during.stream().filter(DrillLoad.Sample::failed).count();
    line("while etcd was down: DNS %s; proxies %d requests, %d failed", String.join("; ", perServer),
        during.size(), failed);
    pj.put("outage_s", round((start - stop) / 1e6, 1)).put("requests_during_outage", during.size())
        .put("failed_during_outage", failed);
    check("d", "both DNS servers answered every second etcd was down", String.join("; ", perServer), "yes",
        dnsEverySecond, false);
    check("d", "the proxies served while etcd was down", during.size() - failed + " of " + during.size(),
        "all", !during.isEmpty() && failed == 0, false);
    check("d", "plans flow again after etcd is back (pin reached every data plane)",
        p.marks().containsKey("pin_unpin_everywhere") ? "yes" : "no", "yes",
        p.marks().containsKey("pin_unpin_everywhere"), false);
  }

  private void partition(Drill.Phase p, JsonObject pj) {
    String vp = (String) p.notes().get("checker");
    String region = (String) p.notes().get("region");
    long cut = p.marks().get("cut");
    long heal = p.marks().get("heal");
    line("%s cut off from %s (%s); it reports %s failed %s; healed after %.1f s", vp, region, s.netns()
            ? "netlab.sh partition: TCP between its namespace and the region's port silently dropped"
            : "its probes pass a forwarder that now accepts and never answers", region,
        rel(p.marks().get("seen_failed_by_" + vp), cut), (heal - cut) / 1e6);
    noFailover(p, "e", cut, p.endMicros(), pj);
    List<String> changed = new ArrayList<>();
    for (DrillWatch.PlanView pl : plansInForce(cut, p.endMicros())) {
      DrillWatch.RegionView r = pl.region(region);
      if (!"HEALTHY".equals(r.health()) || !"ACTIVE".equals(r.lifecycle()) || r.share() < 0.999) {
        changed.add("v" + pl.version() + " " + r.health() + "/" + r.lifecycle() + "/" + r.share());
      }
    }
    check("e", "no plan changed " + region + " (HEALTHY, ACTIVE, share 1 throughout)",
        changed.isEmpty() ? "unchanged" : String.join(", ", changed), "unchanged", changed.isEmpty(), false);
  }

  private void impairment(Drill.Phase p, JsonObject pj) {
    long from = p.marks().get("impair");
    long heal = p.marks().get("heal");
    line("%d %% loss and %d ± %d ms delay (per packet and direction, netlab.sh) on every checker's probe paths for"
        + " %.0f s", s.impairLossPercent, s.impairDelayMs, s.impairJitterMs, (heal - from) / 1e6);
    @SuppressWarnings("unchecked")
    Map<String, Map<String, long[]>> before = (Map<String, Map<String, long[]>>) p.notes().get("probes_before");
    @SuppressWarnings("unchecked")
    Map<String, Map<String, long[]>> after = (Map<String, Map<String, long[]>>) p.notes().get("probes_after");
    JsonObject probes = new JsonObject();
    for (String vp : Drill.CHECKERS) {
      List<String> parts = new ArrayList<>();
      JsonObject vj = new JsonObject();
      for (String r : Drill.REGIONS) {
        long[] b = before.getOrDefault(vp, Map.of()).getOrDefault(r, new long[2]);
        long[] a = after.getOrDefault(vp, Map.of()).getOrDefault(r, new long[2]);
        long ok = a[0] - b[0];
        long bad = a[1] - b[1];
        parts.add(String.format(Locale.ROOT, "%s %d/%d failed", r, bad, ok + bad));
        vj.put(r, new JsonObject().put("probes", ok + bad).put("failed", bad));
      }
      long failedVerdicts = vantage.stream().filter(v -> v.vantagePoint().equals(vp) && "FAILED".equals(v.health())
          && v.atMicros() >= from && v.atMicros() <= heal).count();
      parts.add(failedVerdicts + " failed verdicts");
      vj.put("failed_verdicts", failedVerdicts);
      probes.put(vp, vj);
      line("  %s probes: %s", vp, String.join(", ", parts));
    }
    List<?> stats = (List<?>) p.notes().get("netlab_stats");
    for (Object o : stats) {
      // "mdrill-vp1: netq running\nqueue=... seen=17387 ... dropped=874 ...\nhold_ms_p50=199 ... hold_ms_max=400"
      String st = String.valueOf(o);
      line("  netq %s: %s of %s packets dropped, held p50 %s ms, p99 %s ms, max %s ms", st.split(":")[0],
          field(st, "dropped"), field(st, "seen"), field(st, "hold_ms_p50"), field(st, "hold_ms_p99"),
          field(st, "hold_ms_max"));
    }
    pj.put("probes", probes).put("netlab_stats", new JsonArray(stats));
    noFailover(p, "f", from, p.endMicros(), pj);
  }

  /** The value of {@code name=VALUE} in netlab.sh's stats output, or "?". */
  private static String field(String text, String name) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b" + name + "=(\\S+)").matcher(text);
    return m.find() ? m.group(1) : "?";
  }

  /** No region left ACTIVE in any plan of the window, and no region_failed event. */
  private void noFailover(Drill.Phase p, String phase, long from, long to, JsonObject pj) {
    List<String> changes = new ArrayList<>();
    for (DrillWatch.PlanView pl : plansInForce(from, to)) {
      pl.regions().forEach((id, r) -> {
        if (!"ACTIVE".equals(r.lifecycle())) {
          changes.add("v" + pl.version() + " " + id + " " + r.lifecycle());
        }
      });
    }
    long failedEvents = events.stream().filter(e -> "region_failed".equals(e.type()) && e.atMicros() >= from
        && e.atMicros() <= to).count();
    long degraded = plansInForce(from, to).stream().filter(pl -> pl.regions().values().stream()
        .anyMatch(r -> !"HEALTHY".equals(r.health()))).count();
    line("plans in the window: %d; a region not ACTIVE in %s; region_failed events: %d; plans with a region not"
        + " HEALTHY: %d", plansInForce(from, to).size(), changes.isEmpty() ? "none" : String.join(", ", changes),
        failedEvents, degraded);
    pj.put("failovers", changes.size() + failedEvents);
    check(phase, "no failover", changes.isEmpty() && failedEvents == 0 ? "none"
        : changes + ", " + failedEvents + " region_failed events", "none", changes.isEmpty() && failedEvents == 0,
        false);
  }

  /** What every phase reports: requests and their failures, DNS queries and theirs. */
  private void common(Drill.Phase p, JsonObject pj) {
    List<DrillLoad.Sample> in = requests(p.startMicros(), p.endMicros());
    long failed = in.stream().filter(DrillLoad.Sample::failed).count();
    List<DrillDns.Answer> q = answers.stream().filter(a -> a.sentMicros() >= p.startMicros()
        && a.sentMicros() < p.endMicros()).toList();
    long dnsFailed = q.stream().filter(DrillDns.Answer::failed).count();
    Map<String, Long> byRegion = in.stream().filter(x -> x.region() != null)
        .collect(Collectors.groupingBy(DrillLoad.Sample::region, TreeMap::new, Collectors.counting()));
    line("requests: %d sent, %d failed%s; served by %s; p99 latency %.1f ms, max %.1f ms", in.size(), failed,
        failed == 0 ? "" : " (" + reasons(in) + ")", byRegion, percentile(in, 0.99), percentile(in, 1.0));
    line("DNS queries: %d, %d failed%s", q.size(), dnsFailed, dnsFailed == 0 ? ""
        : " (" + q.stream().filter(DrillDns.Answer::failed).map(DrillDns.Answer::failure).distinct().limit(3)
        .collect(Collectors.joining("; ")) + ")");
    pj.put("requests", in.size()).put("failed", failed).put("dns_queries", q.size()).put("dns_failed", dnsFailed)
        .put("p99_ms", round(percentile(in, 0.99), 1)).put("max_ms", round(percentile(in, 1.0), 1));
    Object skipped = facts.get("load_skipped_requests_" + p.id());
    if (skipped != null) {
      line("note: the load driver's JVM stalled: %s requests of this phase were not sent on schedule", skipped);
    }
    check(p.id(), "failed idempotent requests", failed + " of " + in.size(), "0", failed == 0, false);
    check(p.id(), "unanswered or failed DNS queries", dnsFailed + " of " + q.size(), "0", dnsFailed == 0, false);
  }

  /** From the first phase on: no region's observed load above its capacity in any second. */
  private void capacityOverall(long from, long to) {
    List<String> parts = new ArrayList<>();
    boolean ok = true;
    for (String r : Drill.REGIONS) {
      int[] peak = peakPerSecond(r, from, to);
      parts.add(r + " " + peak[0]);
      ok &= peak[0] <= s.capacityRps;
    }
    text.append('\n');
    line("peak observed load per region over phases a-%s (requests its app answered in one second): %s rps;"
        + " capacity %d rps each", s.netns() ? "f" : "e", String.join(", ", parts), s.capacityRps);
    check("drill", "no region above its capacity in any second", String.join(", ", parts) + " rps",
        "<= " + s.capacityRps + " rps", ok, false);
  }

  private void goals() {
    text.append("\nGoals (timing goals are reported; tests assert only behaviour):\n");
    for (Check c : checks) {
      text.append(String.format(Locale.ROOT, "  %-5s %-4s %-80s %s (goal %s)%n", c.phase(), c.met() ? "met"
          : "MISS", c.what() + (c.timing() ? " [timing]" : ""), c.measured(), c.goal()));
    }
  }

  // ---- helpers

  private void check(String phase, String what, String measured, String goal, boolean met, boolean timing) {
    checks.add(new Check(phase, what, measured, goal, met, timing));
  }

  private void line(String format, Object... args) {
    text.append("  ").append(String.format(Locale.ROOT, format, args)).append('\n');
  }

  private List<DrillLoad.Sample> requests(long from, long to) {
    return samples.stream().filter(x -> x.sentMicros() >= from && x.sentMicros() < to).toList();
  }

  /** The plans in force at some time in [from, to]: the one in force at {@code from} and those made after. */
  private List<DrillWatch.PlanView> plansInForce(long from, long to) {
    List<DrillWatch.PlanView> out = new ArrayList<>();
    DrillWatch.PlanView atStart = null;
    for (DrillWatch.PlanView pl : plans) {
      if (pl.createdMicros() <= from) {
        atStart = pl;
      } else if (pl.createdMicros() <= to) {
        out.add(pl);
      }
    }
    if (atStart != null) {
      out.add(0, atStart);
    }
    return out;
  }

  /** {peak count, its epoch second (-1: none)} of requests answered by {@code region}, per second sent. */
  private int[] peakPerSecond(String region, long from, long to) {
    TreeMap<Long, Integer> perSecond = new TreeMap<>();
    for (DrillLoad.Sample x : requests(from, to)) {
      if (region.equals(x.region())) {
        perSecond.merge(x.sentMicros() / 1_000_000, 1, Integer::sum);
      }
    }
    int[] peak = {0, -1};
    perSecond.forEach((sec, n) -> {
      if (n > peak[0]) {
        peak[0] = n;
        peak[1] = sec.intValue();
      }
    });
    return peak;
  }

  /**
   * A proxy counter ({@code series}: its name and "{") for {@code region} (null: every region), summed over
   * proxies, counted between the two times.
   */
  private double counted(String series, String region, long from, long to) {
    Map<String, Double> atStart = new LinkedHashMap<>();
    Map<String, Double> atEnd = new LinkedHashMap<>();
    for (DrillWatch.Metric m : metrics) {
      if (!m.series().startsWith(series) || region != null && !m.series().contains("region=\"" + region + "\"")) {
        continue;
      }
      String k = m.process() + m.series();
      if (m.micros() < from) {
        atStart.put(k, m.value());
      }
      if (m.micros() <= to) {
        atEnd.put(k, m.value());
      }
    }
    double sum = 0;
    for (Map.Entry<String, Double> e : atEnd.entrySet()) {
      sum += e.getValue() - atStart.getOrDefault(e.getKey(), 0.0);
    }
    return sum;
  }

  /** From the command sent until the last data plane applied its plan (by their logs where they have them). */
  private String pinReached(Drill.Phase p, String action) {
    Long sent = p.marks().get("pin_" + action + "_sent");
    Object version = p.notes().get("pin_" + action + "_version");
    if (sent == null || version == null) {
      return "-";
    }
    Long last = sent;
    for (String dp : dataPlaneNames()) {
      Long at = adoption(dp, ((Number) version).longValue(), sent);
      last = at == null || last == null ? null : Math.max(last, at);
    }
    return rel(last, sent);
  }

  /**
   * When data plane {@code process} first served plan {@code version} or later, after {@code after}: the time in its
   * own log when there is one, else when the drill's /readyz poll saw it.
   */
  private Long adoption(String process, long version, long after) {
    Long logged = first(applied, d -> d.process().equals(process) && d.version() >= version && d.micros() >= after,
        DrillWatch.DataPlanePlan::micros);
    return logged != null ? logged : first(dataPlanes, d -> d.process().equals(process) && d.version() >= version
        && d.micros() >= after, DrillWatch.DataPlanePlan::micros);
  }

  private static List<String> dataPlaneNames() {
    List<String> out = new ArrayList<>(Drill.DNS_SERVERS);
    Drill.REGIONS.forEach(r -> out.add("proxy-" + r));
    return out;
  }

  private static String reasons(List<DrillLoad.Sample> in) {
    return in.stream().filter(DrillLoad.Sample::failed).collect(Collectors.groupingBy(DrillLoad.Sample::failure,
        TreeMap::new, Collectors.counting())).toString();
  }

  private static double percentile(List<DrillLoad.Sample> in, double q) {
    if (in.isEmpty()) {
      return 0;
    }
    int[] lat = in.stream().mapToInt(DrillLoad.Sample::latencyMicros).sorted().toArray();
    return lat[(int) Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)] / 1000.0;
  }

  private static <T> Long first(List<T> list, Predicate<T> p, java.util.function.ToLongFunction<T> time) {
    return list.stream().filter(p).mapToLong(time).min().stream().boxed().findFirst().orElse(null);
  }

  private static <T> Long last(List<T> list, Predicate<T> p, java.util.function.ToLongFunction<T> time) {
    return list.stream().filter(p).mapToLong(time).max().stream().boxed().findFirst().orElse(null);
  }

  private static String rel(Long micros, Long base) {
    return micros == null || base == null ? "-" : String.format(Locale.ROOT, "%+.2f s", (micros - base) / 1e6);
  }

  private static Double secs(Long micros, long base) {
    return micros == null ? null : round((micros - base) / 1e6, 3);
  }

  private static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }

  // ---- results

  List<Check> checks() {
    return List.copyOf(checks);
  }

  /** The behaviour checks that failed (what a test asserts). */
  List<Check> failedBehaviour() {
    return checks.stream().filter(c -> !c.timing() && !c.met()).toList();
  }

  boolean allGoalsMet() {
    return checks.stream().allMatch(Check::met);
  }

  String text() {
    return text.toString();
  }

  JsonObject json() {
    return json;
  }
}
