package io.meridian.launcher;

import io.meridian.config.ConfigProblem;
import io.meridian.config.ConfigWatcher;
import io.meridian.core.ops.OpsEndpoints;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Live reload as operators see it, on every role's ops listener: {@code meridian_config_reloads_total{result}}
 * (applied, rejected) and {@code meridian_config_rejected} (1 while the file on disk is a rejected edit and the
 * process runs the previous config), plus a {@code config} entry in /readyz's body with the rejected edit's
 * problems (file, line, key, value, expectation). A rejected edit never makes the role unready: keeping the
 * running config is the safe outcome, but someone must fix the file before the next restart, which would refuse it.
 */
final class ConfigStatus {
  private ConfigStatus() {}

  static void register(OpsEndpoints ops, ConfigWatcher watcher) {
    CounterWithCallback.builder().name("meridian_config_reloads_total")
        .help("configuration reloads since start, by result (applied, rejected)")
        .labelNames("result")
        .callback(cb -> {
          cb.call(watcher.appliedCount(), "applied");
          cb.call(watcher.rejectedCount(), "rejected");
        }).register(ops.registry());
    GaugeWithCallback.builder().name("meridian_config_rejected")
        .help("1 while the configuration file on disk was rejected and the previous config keeps running")
        .callback(cb -> cb.call(watcher.lastProblems().isEmpty() ? 0 : 1)).register(ops.registry());
    ops.info("config", () -> describe(watcher));
  }

  static JsonObject describe(ConfigWatcher watcher) {
    JsonObject j = new JsonObject().put("applied_reloads", watcher.appliedCount())
        .put("rejected_reloads", watcher.rejectedCount());
    if (!watcher.lastProblems().isEmpty()) {
      JsonArray problems = new JsonArray();
      for (ConfigProblem p : watcher.lastProblems()) {
        problems.add(p.toString());
      }
      j.put("problems", problems).put("warning", "the configuration file was edited and rejected; this process"
          + " keeps running the previous config, and a restart would refuse the file until it is fixed");
    }
    return j;
  }
}
