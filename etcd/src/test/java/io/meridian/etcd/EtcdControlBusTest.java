package io.meridian.etcd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.HealthReport;
import io.meridian.core.PlanJson;
import io.meridian.core.RoutingPlan;
import io.meridian.core.TrafficReport;
import io.meridian.etcd.bench.PropagationBench;
import io.meridian.etcd.impl.EtcdBus;
import io.meridian.etcd.testing.EtcdServer;
import io.meridian.etcd.testing.EtcdTestBed;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two buses on one real etcd, as a controller process and a data-plane process would use them. */
class EtcdControlBusTest {
  @TempDir
  Path dir;
  EtcdServer etcd;
  Vertx vertx;
  EtcdClient client;

  EtcdTestBed bed;

  @BeforeEach
  void start() throws Exception {
    bed = EtcdTestBed.start(dir, Duration.ofSeconds(5));
    etcd = bed.etcd();
    vertx = bed.vertx();
    client = bed.client();
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  EtcdControlBus bus(RoutingPlan fallback, int inlineBytes) throws Exception {
    return EtcdBus.open(vertx, EtcdClient.connect(vertx, EtcdOptions.of(List.of(etcd.endpoint()))), "/m/",
        Duration.ofSeconds(2), fallback, inlineBytes).await(10, TimeUnit.SECONDS);
  }

  static RoutingPlan plan(long version, int zones) {
    return PropagationBench.plan(version, zones, 50, new Random(version));
  }

  @Test
  void aLargePlanTravelsInChunksAndArrivesWhole() throws Exception {
    checkPropagation(1024); // force chunks: the 10,000-zone plan is ~150 KiB
  }

  @Test
  void aPlanThatFitsTravelsInsideItsMetaKey() throws Exception {
    checkPropagation(1024 * 1024);
  }

  private void checkPropagation(int inlineBytes) throws Exception {
    RoutingPlan first = plan(1, 1);
    EtcdControlBus controller = bus(first, inlineBytes);
    EtcdControlBus dataPlane = bus(first, inlineBytes);
    List<RoutingPlan> seen = new CopyOnWriteArrayList<>();
    dataPlane.onPlan(seen::add);
    RoutingPlan big = plan(2, 10_000);
    controller.publishPlan(big).await(20, TimeUnit.SECONDS);
    waitFor(() -> dataPlane.currentPlan().version() == 2);
    assertEquals(PlanJson.toJson(big), PlanJson.toJson(dataPlane.currentPlan()), "the plan must arrive whole");
    assertEquals(10_000, dataPlane.currentPlan().zones().size());
    assertEquals(List.of(1L, 2L), seen.stream().map(RoutingPlan::version).toList());
    if (inlineBytes < 2048) {
      assertTrue(controller.lastPlanBytes() > 1024 * 3, "chunked: " + controller.lastPlanBytes());
      assertEquals(1, client.getPrefix("/m/plan/v/2/").await(5, TimeUnit.SECONDS).kvs().size(), "one 512 KiB chunk");
      assertTrue(client.get("/m/plan/current").await(5, TimeUnit.SECONDS).first().valueUtf8().contains("\"chunks\":1"));
    }
    controller.publishPlan(plan(3, 10)).await(20, TimeUnit.SECONDS);
    waitFor(() -> dataPlane.currentPlan().version() == 3);
    // a third process starting now reads the current plan at once
    EtcdControlBus late = bus(first, inlineBytes);
    assertEquals(3, late.currentPlan().version());
  }

  @Test
  void versionsNeverGoBackwards() throws Exception {
    RoutingPlan first = plan(1, 1);
    EtcdControlBus a = bus(first, 768 * 1024);
    EtcdControlBus b = bus(first, 768 * 1024);
    a.publishPlan(plan(5, 10)).await(20, TimeUnit.SECONDS);
    waitFor(() -> b.currentPlan().version() == 5);
    Throwable older = assertThrows(Exception.class, () -> b.publishPlan(plan(4, 10)).await(20, TimeUnit.SECONDS));
    assertTrue(older.getMessage().contains("not newer"), older.getMessage());
    // b has not yet seen a's v6 when it writes its own v6: the guarded write on plan/current's revision refuses it
    EtcdControlBus stale = bus(first, 768 * 1024);
    stale.close(); // stops watching: it will not learn about v6 by itself
    a.publishPlan(plan(6, 10)).await(20, TimeUnit.SECONDS);
    waitFor(() -> b.currentPlan().version() == 6);
    Throwable raced = assertThrows(Exception.class, () -> stale.publishPlan(plan(7, 10)).await(20, TimeUnit.SECONDS));
    assertTrue(raced.getMessage().contains("another controller"), raced.getMessage());
    assertEquals(6, b.currentPlan().version(), "the refused write must not reach anyone");
  }

  @Test
  void aReporterWhoseLeaseExpiresStopsCounting() throws Exception {
    RoutingPlan first = plan(1, 1);
    EtcdControlBus controller = bus(first, 768 * 1024);
    List<HealthReport> reports = new CopyOnWriteArrayList<>();
    controller.onHealth(reports::add);
    EtcdClient checkerClient = EtcdClient.connect(vertx, EtcdOptions.of(List.of(etcd.endpoint())));
    EtcdControlBus checker = EtcdBus.open(vertx, checkerClient, "/m/", Duration.ofSeconds(2), first, 1024)
        .await(10, TimeUnit.SECONDS);
    Instant now = Instant.now();
    checker.publishHealth(new HealthReport("vp-x", 1, now, now.plusSeconds(60), List.of(
        new HealthReport.RegionReport("region-0", Health.FAILED, 0, 1, now, "connection refused", Map.of()))))
        .await(10, TimeUnit.SECONDS);
    waitFor(() -> reports.size() == 1);
    assertEquals(Health.FAILED, reports.get(0).regions().get(0).health());
    // the checker process "dies": no more keep-alives (its client goes away without revoking the lease)
    checkerClient.close();
    waitFor(() -> reports.size() == 2); // the lease (2 s) expires and the key is deleted
    HealthReport gone = reports.get(1);
    assertEquals("vp-x", gone.vantagePoint());
    assertTrue(gone.regions().isEmpty() && !gone.validUntil().isAfter(Instant.now()),
        "the dead vantage point's report must stop counting: " + gone);
    // traffic reports work the same way
    List<TrafficReport> traffic = new CopyOnWriteArrayList<>();
    controller.onTraffic(traffic::add);
    controller.publishTraffic(new TrafficReport("proxy-1", Instant.now(), Map.of("50N8E", 12.5), Map.of(),
        Map.of(), Map.of())).await(10, TimeUnit.SECONDS);
    waitFor(() -> !traffic.isEmpty());
    assertEquals(12.5, traffic.get(0).zoneRps().get("50N8E"));
  }

  @Test
  void twoProcessesHoldTheSameSharedSecretAndRotateItOnceTogether() throws Exception {
    RoutingPlan first = plan(1, 1);
    EtcdControlBus a = bus(first, 1024 * 1024);
    EtcdControlBus b = bus(first, 1024 * 1024);
    List<io.meridian.core.ControlBus.SharedSecret> seenA = new CopyOnWriteArrayList<>();
    List<io.meridian.core.ControlBus.SharedSecret> seenB = new CopyOnWriteArrayList<>();
    // a rotation of 1 s is noticed at the next re-read (every 10 s at the least)
    Duration rotation = Duration.ofSeconds(1);
    assertTrue(a.onSharedSecret("dns-cookie", 16, rotation, seenA::add).isPresent());
    assertTrue(b.onSharedSecret("dns-cookie", 16, rotation, seenB::add).isPresent());
    waitFor(() -> !seenA.isEmpty() && !seenB.isEmpty());
    byte[] made = seenA.get(0).current();
    assertEquals(16, made.length);
    // whoever made it, both were given the same one first (the loser of the race to make it reads the winner's)
    org.junit.jupiter.api.Assertions.assertArrayEquals(made, seenB.get(0).current());
    // rotated once: both hold the new secret, with the one made first as previous (a second rotation in the same
    // round would have pushed it out)
    waitFor(() -> seenA.size() >= 2 && seenB.stream().anyMatch(s -> java.util.Arrays.equals(s.previous(), made)));
    io.meridian.core.ControlBus.SharedSecret rotated = seenA.stream()
        .filter(s -> java.util.Arrays.equals(s.previous(), made)).findFirst().orElseThrow();
    assertTrue(seenB.stream().anyMatch(s -> java.util.Arrays.equals(s.current(), rotated.current())));
    assertTrue(!java.util.Arrays.equals(rotated.current(), made));
    // the store holds exactly what both were given
    io.vertx.core.json.JsonObject stored = new io.vertx.core.json.JsonObject(
        client.get("/m/secrets/dns-cookie").await(5, TimeUnit.SECONDS).kvs().get(0).valueUtf8());
    assertEquals(16 * 2, stored.getString("current").length());
    a.close();
    b.close();
  }

  static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 20 s");
      }
      Thread.sleep(20);
    }
  }
}
