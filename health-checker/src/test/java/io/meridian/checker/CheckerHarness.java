package io.meridian.checker;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.ops.OpsEndpoints;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/** Builds a config from YAML text, a bus that records every report, and the role under test. */
final class CheckerHarness {
  final MeridianConfig config;
  final ControlBus bus;
  final OpsEndpoints ops;
  final HealthCheckerRole role;
  final List<HealthReport> reports = new CopyOnWriteArrayList<>();

  CheckerHarness(Vertx vertx, String yaml) throws Exception {
    this(vertx, load(yaml), null);
  }

  CheckerHarness(Vertx vertx, MeridianConfig config, ControlBus sharedBus) {
    this.config = config;
    this.bus = sharedBus != null ? sharedBus : ControlBus.inProcess(RoutingPlan.initial(config));
    this.bus.onHealth(reports::add);
    this.ops = OpsEndpoints.create(vertx, "checker");
    this.role = HealthCheckerRole.create(new RoleContext(vertx, config, bus, null, ops));
  }

  static MeridianConfig load(String yaml) throws Exception {
    return ConfigLoader.parse("test.yaml", yaml, Path.of("."), Path.of("test.yaml"));
  }

  /** A region block probing {@code url}. */
  static String region(String id, double lat, double lon, String url) {
    return "  - id: " + id + "\n    latitude: " + lat + "\n    longitude: " + lon + "\n    capacity_rps: 100\n"
        + "    upstreams: [http://127.0.0.1:1]\n    health_check:\n      url: " + url + "\n";
  }

  /** The health of {@code region} in {@code r}, or null. */
  static Health healthOf(HealthReport r, String region) {
    return r.regions().stream().filter(x -> x.region().equals(region)).map(HealthReport.RegionReport::health)
        .findFirst().orElse(null);
  }

  /** The number of reports so far: pass to {@link #await(int, Predicate, Duration)} to see only later ones. */
  int mark() {
    return reports.size();
  }

  /** Polls (bounded) until a report satisfies {@code p}; returns it or fails. */
  HealthReport await(Predicate<HealthReport> p, Duration within) throws InterruptedException {
    return await(0, p, within);
  }

  /** Polls (bounded) until a report published after {@code mark} satisfies {@code p}; returns it or fails. */
  HealthReport await(int mark, Predicate<HealthReport> p, Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    int seen = mark;
    while (System.nanoTime() < deadline) {
      List<HealthReport> snapshot = List.copyOf(reports);
      for (int i = seen; i < snapshot.size(); i++) {
        if (p.test(snapshot.get(i))) {
          return snapshot.get(i);
        }
      }
      seen = snapshot.size();
      Thread.sleep(10);
    }
    HealthReport last = reports.isEmpty() ? null : reports.get(reports.size() - 1);
    throw new AssertionError("no matching report within " + within + "; last: " + last);
  }
}
