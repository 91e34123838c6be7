package io.meridian.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigWatcherTest {
  @TempDir
  Path dir;

  static String config(double capacity) {
    return """
        regions:
          - id: us-east
            latitude: 39.0
            longitude: -77.5
            capacity_rps: %s
            upstreams: [http://10.0.0.1:8080]
            health_check: {url: http://10.0.0.1:8080/healthz}
        """.formatted(capacity);
  }

  static void await(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 10s");
      }
      Thread.sleep(20);
    }
  }

  @Test
  void validEditIsAppliedAndInvalidEditIsRejectedKeepingTheRunningConfig() throws Exception {
    Path file = dir.resolve("meridian.yaml");
    Files.writeString(file, config(100));
    Vertx vertx = Vertx.vertx();
    try {
      ConfigWatcher w = ConfigWatcher.watch(vertx, file, ConfigLoader.load(file), Duration.ofMillis(50));
      List<MeridianConfig> seen = new CopyOnWriteArrayList<>();
      w.onChange(seen::add);

      Files.writeString(file, config(250));
      await(() -> seen.size() == 1);
      assertEquals(250, w.current().regions().get(0).capacityRps());

      Files.writeString(file, config(-5));
      await(() -> w.rejectedCount() == 1);
      assertEquals(250, w.current().regions().get(0).capacityRps(), "the running config stays");
      assertEquals(1, seen.size(), "listeners never see an invalid config");
      assertEquals("meridian.yaml:5 regions[0].capacity_rps: must be > 0, got -5.0",
          w.lastProblems().get(0).toString());

      Files.writeString(file, config(300));
      await(() -> seen.size() == 2);
      assertEquals(300, w.current().regions().get(0).capacityRps());
      assertTrue(w.lastProblems().isEmpty());
      w.close();
    } finally {
      vertx.close().await();
    }
  }
}
