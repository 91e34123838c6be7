package io.meridian.checker;

import io.meridian.config.HealthCheckConfig;
import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.meridian.core.TrafficReport;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Combines the latest {@link HealthReport} of every vantage point (and the proxies' latest
 * {@link TrafficReport}s) into one {@link Health} per region. This is the rule that stops a single checker from
 * causing a failover:
 *
 * <ul>
 *   <li>The <em>electorate</em> is the vantage points that have a report: across processes, those whose report
 *       key lives in the store under their process's lease. A vantage point whose lease expired (the process
 *       died, or lost the store) or that stopped cleanly is <em>gone</em> ({@link HealthReport#isGone()}) and
 *       leaves the electorate — every controller derives the same electorate from the same keys.
 *   <li>A report past its {@code validUntil} is <em>stale</em>: its vantage point abstains ("unknown", never
 *       "down") but still counts in the majority's denominator, so losing reports cannot lower the bar.
 *   <li>A fresh report that sees <em>every</em> region (of two or more) failed is <em>discounted</em>: that
 *       vantage point is the one cut off. It leaves the denominator. (If every fresh vantage point sees
 *       everything down, none is discounted: there is nothing to tell them apart.)
 *   <li>A region is {@link Health#FAILED} when at least {@code quorum} vantage points say FAILED (0 = a
 *       majority of the non-discounted vantage points); {@link Health#DEGRADED} when that many say FAILED or
 *       DEGRADED; {@link Health#HEALTHY} when any fresh vantage point has a verdict; else
 *       {@link Health#UNKNOWN}.
 *   <li>With fewer than {@code min_vantage_points} in the electorate, probes fail or degrade nothing: the
 *       verdict is {@link Health#UNKNOWN} (which serves), so one surviving checker cannot judge alone.
 *   <li><em>Fail open</em>: when probes would fail every region (of two or more) at once, none is failed by
 *       probes (UNKNOWN, which serves). Failing every region moves no traffic anywhere useful but turns a
 *       checker-side problem (every vantage point on a degraded network, a bad probe path in the config) into a
 *       total outage; Route 53 ("if all records are unhealthy, respond as if all were healthy") and Envoy's panic
 *       threshold do the same. Passive evidence from real traffic still fails a region.
 *   <li>Passive signals: real traffic failing at {@code passive.failed_error_rate} (with at least
 *       {@code passive.min_rps}) makes a region FAILED even if probes pass; {@code degraded_error_rate} or
 *       outlier ejections make a serving region DEGRADED. Traffic reports older than {@code passive.ttl} are
 *       ignored.
 * </ul>
 *
 * Stateless and thread-safe; the caller keeps the latest reports (see {@link LatestReports}).
 *
 * <pre>{@code
 * HealthQuorum quorum = HealthQuorum.of(config.healthCheck());
 * LatestReports latest = LatestReports.subscribe(bus);
 * Map<String, HealthQuorum.Verdict> v = quorum.evaluate(regionIds, latest.health(), latest.traffic(), Instant.now());
 * }</pre>
 */
public final class HealthQuorum {
  private final int quorum;
  private final int minVantagePoints;
  private final HealthCheckConfig.Passive passive;

  private HealthQuorum(int quorum, int minVantagePoints, HealthCheckConfig.Passive passive) {
    if (quorum < 0 || minVantagePoints < 1) {
      throw new IllegalArgumentException("quorum: " + quorum + ", min_vantage_points: " + minVantagePoints
          + " (expected: quorum >= 0 (0 = majority), min_vantage_points >= 1)");
    }
    this.quorum = quorum;
    this.minVantagePoints = minVantagePoints;
    this.passive = passive;
  }

  public static HealthQuorum of(HealthCheckConfig config) {
    return new HealthQuorum(config.quorum(), config.minVantagePoints(), config.passive());
  }

  /** @param quorum vantage points needed to fail a region; 0 = majority */
  public static HealthQuorum of(int quorum, HealthCheckConfig.Passive passive) {
    return new HealthQuorum(quorum, 1, passive);
  }

  /**
   * @param quorum            vantage points needed to fail a region; 0 = majority
   * @param minVantagePoints  probes fail nothing while fewer vantage points than this count
   */
  public static HealthQuorum of(int quorum, int minVantagePoints, HealthCheckConfig.Passive passive) {
    return new HealthQuorum(quorum, minVantagePoints, passive);
  }

  /**
   * The combined view of one region, with the votes behind it (for logs, the audit trail and evidence).
   *
   * @param region      region id
   * @param health      the combined verdict
   * @param failed      fresh, counted vantage points that say FAILED
   * @param degraded    ... that say DEGRADED
   * @param healthy     ... that say HEALTHY
   * @param needed      votes needed for FAILED (the quorum)
   * @param stale       vantage points whose reports expired (they abstain)
   * @param discounted  vantage points that see every region down (ignored)
   * @param watermarks  replication positions the region reports, per source region (max over vantage points)
   * @param failedBy    the vantage points that say FAILED, each with its evidence ("vp-1: 0/1 up; ...")
   * @param reason      one readable sentence
   */
  public record Verdict(String region, Health health, int failed, int degraded, int healthy, int needed,
      List<String> stale, List<String> discounted, Map<String, Long> watermarks, List<String> failedBy,
      String reason) {
    public Verdict {
      stale = List.copyOf(stale);
      discounted = List.copyOf(discounted);
      watermarks = Map.copyOf(watermarks);
      failedBy = List.copyOf(failedBy);
    }
  }

  /**
   * @param regions  every region id of the deployment (missing from all reports = UNKNOWN)
   * @param reports  the latest report of each vantage point (one per vantage point)
   * @param traffic  the latest traffic report of each proxy (may be empty)
   * @param now      the evaluation time
   */
  public Map<String, Verdict> evaluate(Collection<String> regions, Collection<HealthReport> reports,
      Collection<TrafficReport> traffic, Instant now) {
    List<HealthReport> fresh = new ArrayList<>();
    List<String> stale = new ArrayList<>();
    int present = 0;
    for (HealthReport r : reports) {
      if (r.isGone()) {
        continue; // not in the electorate (callers normally drop these already)
      }
      present++;
      if (now.isBefore(r.validUntil())) {
        fresh.add(r);
      } else {
        stale.add(r.vantagePoint());
      }
    }
    List<String> discounted = new ArrayList<>();
    boolean someoneSeesService = fresh.stream().anyMatch(r -> !seesAllDown(r));
    if (someoneSeesService) {
      for (HealthReport r : fresh) {
        if (seesAllDown(r)) {
          discounted.add(r.vantagePoint());
        }
      }
    }
    int electorate = present - discounted.size();
    int needed = quorum > 0 ? quorum : electorate / 2 + 1;
    boolean tooFew = electorate < minVantagePoints;

    Map<String, Verdict> out = new LinkedHashMap<>();
    Map<String, Health> probeVerdicts = new LinkedHashMap<>();
    for (String region : regions) {
      int failed = 0;
      int degraded = 0;
      int healthy = 0;
      Map<String, Long> marks = new LinkedHashMap<>();
      List<String> failedBy = new ArrayList<>();
      for (HealthReport r : fresh) {
        if (discounted.contains(r.vantagePoint())) {
          continue;
        }
        for (HealthReport.RegionReport rr : r.regions()) {
          if (!rr.region().equals(region)) {
            continue;
          }
          switch (rr.health()) {
            case FAILED -> {
              failed++;
              failedBy.add(r.vantagePoint() + ": " + rr.detail());
            }
            case DEGRADED -> degraded++;
            case HEALTHY -> healthy++;
            default -> { }
          }
          rr.watermarks().forEach((k, v) -> marks.merge(k, v, Math::max));
        }
      }
      Health h;
      String reason;
      if (tooFew && failed + degraded > 0) {
        h = Health.UNKNOWN;
        reason = (failed + degraded) + " failed or degraded vote(s), but only " + electorate
            + " vantage point(s) count (min_vantage_points " + minVantagePoints + "): not judged";
      } else if (failed >= needed) {
        h = Health.FAILED;
        reason = failed + " of " + electorate + " vantage point(s) see it failed (quorum " + needed + "): "
            + String.join("; ", failedBy);
      } else if (failed + degraded >= needed) {
        h = Health.DEGRADED;
        reason = (failed + degraded) + " of " + electorate + " vantage point(s) see it failed or degraded";
      } else if (failed + degraded + healthy > 0) {
        h = Health.HEALTHY;
        reason = healthy + " healthy, " + degraded + " degraded, " + failed + " failed vote(s); quorum " + needed;
      } else {
        h = Health.UNKNOWN;
        reason = "no fresh report from a counted vantage point";
      }
      probeVerdicts.put(region, h);
      String passiveReason = passive(region, traffic, now, h);
      if (passiveReason != null) {
        h = passiveReason.startsWith("failing") ? Health.FAILED : Health.DEGRADED;
        reason = reason + "; passive: " + passiveReason;
      }
      if (!discounted.isEmpty()) {
        reason = reason + "; discounted " + discounted + " (sees every region down)";
      }
      out.put(region, new Verdict(region, h, failed, degraded, healthy, needed, stale, discounted, marks, failedBy,
          reason));
    }
    if (regions.size() >= 2 && probeVerdicts.values().stream().allMatch(v -> v == Health.FAILED)) {
      return failOpen(out, traffic, now);
    }
    return out;
  }

  /** Every region failed by probes at once: none is, unless real traffic fails it too (see the class comment). */
  private Map<String, Verdict> failOpen(Map<String, Verdict> failed, Collection<TrafficReport> traffic, Instant now) {
    Map<String, Verdict> out = new LinkedHashMap<>();
    for (Verdict v : failed.values()) {
      Health h = Health.UNKNOWN;
      String reason = "fail open: probes fail every region at once (" + v.reason() + "), which looks like the"
          + " checkers' problem, not every region's; none is failed by probes";
      String passiveReason = passive(v.region(), traffic, now, h);
      if (passiveReason != null && passiveReason.startsWith("failing")) {
        h = Health.FAILED;
        reason = reason + "; passive: " + passiveReason;
      }
      out.put(v.region(), new Verdict(v.region(), h, v.failed(), v.degraded(), v.healthy(), v.needed(), v.stale(),
          v.discounted(), v.watermarks(), v.failedBy(), reason));
    }
    return out;
  }

  /** A reason when traffic reports make {@code current} worse, else null. */
  private String passive(String region, Collection<TrafficReport> traffic, Instant now, Health current) {
    double rps = 0;
    double errRps = 0;
    int ejections = 0;
    for (TrafficReport t : traffic) {
      if (!now.isBefore(t.at().plus(passive.ttl()))) {
        continue;
      }
      double r = t.regionRps().getOrDefault(region, 0.0);
      rps += r;
      errRps += r * t.regionErrors().getOrDefault(region, 0.0);
      ejections += t.ejections().getOrDefault(region, 0);
    }
    if (current == Health.FAILED) {
      return null;
    }
    double rate = rps > 0 ? errRps / rps : 0;
    if (rps >= passive.minRps() && rps > 0 && rate >= passive.failedErrorRate()) {
      return String.format(java.util.Locale.ROOT, "failing %.0f%% of %.1f req/s", rate * 100, rps);
    }
    if (current == Health.DEGRADED) {
      return null;
    }
    if (rps >= passive.minRps() && rps > 0 && rate >= passive.degradedErrorRate()) {
      return String.format(java.util.Locale.ROOT, "errors on %.0f%% of %.1f req/s", rate * 100, rps);
    }
    if (passive.ejectionsDegraded() > 0 && ejections >= passive.ejectionsDegraded()) {
      return ejections + " outlier ejection(s)";
    }
    return null;
  }

  private static boolean seesAllDown(HealthReport r) {
    if (r.regions().size() < 2) {
      return false; // one region down is indistinguishable from being cut off: believe it
    }
    for (HealthReport.RegionReport rr : r.regions()) {
      if (rr.health() != Health.FAILED) {
        return false;
      }
    }
    return true;
  }
}
