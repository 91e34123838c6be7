package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import io.meridian.config.ConfigWatcher;
import io.meridian.core.ops.OpsEndpoints;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What an operator sees of a live reload: the reload counters, the rejected flag and the problems in /readyz. */
class ConfigStatusTest {
  @TempDir
  Path dir;

  static String config(String capacity) {
    return "regions:\n  - id: us-east\n    latitude: 39.0\n    longitude: -77.5\n    capacity_rps: " + capacity
        + "\n    upstreams: [http://10.0.0.1:8080]\n    health_check: {url: http://10.0.0.1:8080/healthz}\n";
  }

  static String metrics(OpsEndpoints ops) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.builder().setIncludeCreatedTimestamps(false).build().write(out, ops.registry().scrape());
    return out.toString(StandardCharsets.UTF_8);
  }

  static void await(java.util.function.BooleanSupplier c) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!c.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 10 s");
      }
      Thread.sleep(20);
    }
  }

  @Test
  void aRejectedEditIsVisibleInMetricsAndReadyzUntilTheFileIsFixed() throws Exception {
    Path file = dir.resolve("meridian.yaml");
    Files.writeString(file, config("100"));
    Vertx vertx = Vertx.vertx();
    try {
      ConfigWatcher w = ConfigWatcher.watch(vertx, file, ConfigLoader.load(file), Duration.ofMillis(50));
      OpsEndpoints ops = OpsEndpoints.create(vertx, "proxy");
      ConfigStatus.register(ops, w);
      assertTrue(metrics(ops).contains("meridian_config_rejected 0.0"), metrics(ops));

      Files.writeString(file, config("lots"));
      await(() -> w.rejectedCount() == 1);
      String m = metrics(ops);
      assertTrue(m.contains("meridian_config_reloads_total{result=\"rejected\"} 1.0"), m);
      assertTrue(m.contains("meridian_config_rejected 1.0"), m);
      JsonObject ready = ConfigStatus.describe(w);
      assertEquals("meridian.yaml:5 regions[0].capacity_rps: must be a number, got 'lots'",
          ready.getJsonArray("problems").getString(0), ready.encode());
      assertTrue(ready.getString("warning").contains("keeps running the previous config"));

      Files.writeString(file, config("200")); // the rollback: the file is fixed (or the old one restored)
      await(() -> w.appliedCount() == 1);
      m = metrics(ops);
      assertTrue(m.contains("meridian_config_reloads_total{result=\"applied\"} 1.0"), m);
      assertTrue(m.contains("meridian_config_rejected 0.0"), m);
      assertTrue(!ConfigStatus.describe(w).containsKey("warning"));
      w.close();
    } finally {
      vertx.close().await();
    }
  }
}
