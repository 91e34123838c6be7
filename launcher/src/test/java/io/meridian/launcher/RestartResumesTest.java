package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.Lifecycle;
import io.meridian.core.RoutingPlan;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One process, embedded state (the default shape): after a region was drained, a restart resumes the last plan —
 * its version and the drained region — instead of starting at version 1 with every region active and replaying
 * the drain (which made the first DNS answers after a restart name the drained region).
 */
class RestartResumesTest {
  static final String US = "198.51.100.0/24";

  @TempDir
  Path dir;

  @Test
  void aDrainedRegionStaysDrainedAndVersionsKeepGrowingAcrossRestarts() throws Exception {
    Vertx vertx = Vertx.vertx();
    Demo.Ports ports = Demo.Ports.ephemeral();
    List<DemoApp> apps = new ArrayList<>();
    for (String region : Demo.REGIONS) {
      DemoApp app = DemoApp.create(vertx, region, List.of());
      app.listen("127.0.0.1", ports.app(region)).await(10, TimeUnit.SECONDS);
      apps.add(app);
    }
    Path file = Demo.writeConfig(dir, ports);
    Files.writeString(file, Files.readString(file).replaceAll("residency_group: \\w+", "residency_group: global")
        .replace("  drain_step: 0.25\n", "  drain_step: 0.5\n").replace("  drain_interval: 2s\n", "  drain_interval: 200ms\n"));
    MeridianConfig config = ConfigLoader.load(file);
    MeridianNode node = MeridianNode.start(vertx, file, config, EnumSet.allOf(MeridianNode.RoleName.class))
        .await(60, TimeUnit.SECONDS);
    try {
      EtcdMultiProcessTest.awaitValue(() -> Cli.digA(ports.dns(), "www.demo.meridian.test", US), "127.0.10.1",
          Duration.ofSeconds(30), null);
      Cli.Result drain = Cli.run(List.of("curl", "-s", "-X", "POST", "-H", "Authorization: Bearer " + Demo.ADMIN_TOKEN,
          "-d", "{\"reason\":\"maintenance\"}", "http://127.0.0.1:" + ports.admin() + "/v1/regions/us-east/drain"));
      assertTrue(drain.out().contains("\"applied\" : true"), drain.out());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (node.bus().currentPlan().region("us-east").lifecycle() != Lifecycle.DRAINED) {
        assertTrue(System.nanoTime() < deadline, "us-east not drained: " + node.bus().currentPlan().region("us-east"));
        Thread.sleep(50);
      }
      Thread.sleep(500); // the plan cache writes on a worker
    } finally {
      node.stop().await(20, TimeUnit.SECONDS);
    }
    RoutingPlan before = node.bus().currentPlan();
    assertTrue(Files.exists(dir.resolve("state/plan.gz")), "the controller's last plan is on disk");

    MeridianNode again = MeridianNode.start(vertx, file, config, EnumSet.allOf(MeridianNode.RoleName.class))
        .await(60, TimeUnit.SECONDS);
    try {
      RoutingPlan first = again.bus().currentPlan();
      assertTrue(first.version() >= before.version(), "version went back: " + first.version() + " < "
          + before.version());
      assertEquals(Lifecycle.DRAINED, first.region("us-east").lifecycle());
      // from the first answer on, and for a while, no US client is sent to the drained region
      for (int i = 0; i < 30; i++) {
        assertNotEquals("127.0.10.1", Cli.digA(ports.dns(), "www.demo.meridian.test", US), "answer " + i);
        Thread.sleep(50);
      }
      assertEquals(Lifecycle.DRAINED, again.bus().currentPlan().region("us-east").lifecycle());
      assertTrue(again.bus().currentPlan().version() >= first.version());
    } finally {
      again.stop().await(20, TimeUnit.SECONDS);
      for (DemoApp a : apps) {
        a.close().await(10, TimeUnit.SECONDS);
      }
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
