package io.meridian.config;

import java.time.Duration;
import java.util.Set;

/**
 * The health-checker role. With the defaults a dead region is declared failed within
 * fall × interval + timeout + report_interval = 2 × 500 ms + 400 ms + 250 ms = 1.65 s.
 *
 * @param interval        time between probes of one target
 * @param timeout         a probe that takes longer fails
 * @param rise            consecutive successes to become healthy
 * @param fall            consecutive failures to become unhealthy
 * @param reportInterval  how often the checker publishes its report
 * @param vantagePoint    name of this checker instance in reports
 * @param opsListen       HTTP address for /healthz, /readyz, /metrics
 */
public record HealthCheckConfig(Duration interval, Duration timeout, int rise, int fall, Duration reportInterval,
    String vantagePoint, ListenAddress opsListen) {

  /**
   * Probing faster than this loads the targets more than it speeds detection: detection is dominated by
   * fall × interval + timeout, and a 100 ms probe already puts ~10 requests/s per checker on every target.
   */
  public static final Duration MIN_INTERVAL = Duration.ofMillis(100);

  public static HealthCheckConfig defaults() {
    return new HealthCheckConfig(Duration.ofMillis(500), Duration.ofMillis(400), 2, 2, Duration.ofMillis(250),
        "local", ListenAddress.parse("127.0.0.1:9190"));
  }

  static HealthCheckConfig parse(ConfigNode n) {
    n.rejectUnknownKeys(Set.of("interval", "timeout", "rise", "fall", "report_interval", "vantage_point",
        "ops_listen"));
    HealthCheckConfig d = defaults();
    Duration interval = n.duration("interval", d.interval(), MIN_INTERVAL);
    Duration timeout = n.duration("timeout", d.timeout(), Duration.ofMillis(10));
    if (timeout.compareTo(interval) > 0) {
      n.problem("timeout", "must not exceed interval (" + ConfigNode.formatDuration(interval) + "), got "
          + ConfigNode.formatDuration(timeout));
    }
    int rise = n.integer("rise", d.rise(), 1, 100);
    int fall = n.integer("fall", d.fall(), 1, 100);
    Duration report = n.duration("report_interval", d.reportInterval(), Duration.ofMillis(50));
    String vp = n.string("vantage_point", d.vantagePoint(), RegionConfig.ID, "lowercase letters, digits and '-'");
    ListenAddress ops = n.listen("ops_listen", "127.0.0.1:9190");
    return new HealthCheckConfig(interval, timeout, rise, fall, report, vp, ops);
  }
}
