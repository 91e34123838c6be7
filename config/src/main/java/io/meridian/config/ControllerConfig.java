package io.meridian.config;

import java.time.Duration;
import java.util.Set;

/**
 * The failover controller.
 *
 * @param adminListen        HTTP address of the admin API (also /healthz, /readyz, /metrics)
 * @param headroom           no region is planned above this fraction of its capacity (0..1]
 * @param failbackHoldDown   a recovered region stays out this long before traffic returns
 * @param evaluateInterval   how often the controller re-plans even without new input
 */
public record ControllerConfig(ListenAddress adminListen, double headroom, Duration failbackHoldDown,
    Duration evaluateInterval) {

  public static ControllerConfig defaults() {
    return new ControllerConfig(ListenAddress.parse("127.0.0.1:9090"), 0.8, Duration.ofSeconds(30),
        Duration.ofSeconds(1));
  }

  static ControllerConfig parse(ConfigNode n) {
    n.rejectUnknownKeys(Set.of("admin_listen", "headroom", "failback_hold_down", "evaluate_interval"));
    ControllerConfig d = defaults();
    ListenAddress admin = n.listen("admin_listen", "127.0.0.1:9090");
    double headroom = n.number("headroom", d.headroom(), 0.01, 1.0);
    Duration holdDown = n.duration("failback_hold_down", d.failbackHoldDown(), Duration.ZERO);
    Duration every = n.duration("evaluate_interval", d.evaluateInterval(), Duration.ofMillis(50));
    return new ControllerConfig(admin, headroom, holdDown, every);
  }
}
