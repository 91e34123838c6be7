package io.meridian.etcd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.etcd.EtcdClient.Cmp;
import io.meridian.etcd.EtcdClient.Op;
import io.meridian.etcd.testing.EtcdServer;
import io.meridian.etcd.testing.EtcdTestBed;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gRPC client against a real etcd: KV, transactions, leases, and a watch that survives restarts. */
class EtcdClientRealEtcdTest {
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

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void putGetPrefixAndDelete() throws Exception {
    long r1 = await(client.put("/t/a", b("1"), 0));
    long r2 = await(client.put("/t/b", b("2"), 0));
    await(client.put("/u/c", b("3"), 0));
    assertTrue(r2 > r1);
    assertEquals("1", await(client.get("/t/a")).first().valueUtf8());
    assertNull(await(client.get("/t/zz")).first());
    EtcdClient.Range range = await(client.getPrefix("/t/"));
    assertEquals(List.of("/t/a", "/t/b"), range.kvs().stream().map(KeyValue::key).toList());
    assertTrue(range.revision() >= r2);
    assertEquals(2L, await(client.deletePrefix("/t/")));
    assertTrue(await(client.getPrefix("/t/")).kvs().isEmpty());
  }

  @Test
  void transactionGuardsOnRevision() throws Exception {
    EtcdClient.TxnResult created = await(client.txn(List.of(Cmp.absent("/t/leader")),
        List.of(Op.put("/t/leader", b("me"), 0)), List.of()));
    assertTrue(created.succeeded());
    EtcdClient.TxnResult again = await(client.txn(List.of(Cmp.absent("/t/leader")),
        List.of(Op.put("/t/leader", b("other"), 0)), List.of()));
    assertFalse(again.succeeded(), "a second create must fail: the key exists");
    long rev = await(client.get("/t/leader")).first().createRevision();
    assertTrue(await(client.txn(List.of(Cmp.createRevision("/t/leader", Cmp.Result.EQUAL, rev)),
        List.of(Op.put("/t/data", b("fenced write"), 0)), List.of())).succeeded());
    assertFalse(await(client.txn(List.of(Cmp.createRevision("/t/leader", Cmp.Result.EQUAL, rev + 100)),
        List.of(Op.put("/t/data", b("stale leader"), 0)), List.of())).succeeded());
    assertEquals("fenced write", await(client.get("/t/data")).first().valueUtf8());
  }

  @Test
  void keysUnderAnUnrefreshedLeaseExpire() throws Exception {
    long lease = await(client.grantLease(1));
    await(client.put("/t/report", b("x"), lease));
    assertEquals(lease, await(client.get("/t/report")).first().lease());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (await(client.get("/t/report")).first() != null && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertNull(await(client.get("/t/report")).first(), "the key must go with its lease");
  }

  @Test
  void keptAliveLeaseOutlivesItsTtl() throws Exception {
    long lease = await(client.grantLease(1));
    await(client.put("/t/alive", b("x"), lease));
    EtcdClient.Subscription keeper = client.keepAlive(lease, 1, () -> { });
    Thread.sleep(3000);
    assertTrue(await(client.get("/t/alive")).first() != null, "a refreshed lease must not expire");
    keeper.cancel();
  }

  @Test
  void watchDeliversInOrderAndResumesAcrossAnEtcdRestart() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    AtomicInteger resyncs = new AtomicInteger();
    EtcdClient.Subscription w = client.watch("/w/", 0, EtcdClient.listener(
        events -> events.forEach(e -> seen.add(e.delete() ? "-" + e.kv().key() : e.kv().valueUtf8())),
        () -> {
          resyncs.incrementAndGet();
          return client.getPrefix("/w/").map(EtcdClient.Range::revision);
        }));
    Thread.sleep(300);
    for (int i = 0; i < 5; i++) {
      await(client.put("/w/k", b("v" + i), 0));
    }
    waitFor(() -> seen.size() == 5);
    assertEquals(List.of("v0", "v1", "v2", "v3", "v4"), seen);
    etcd.restart(); // the stream breaks; writes made by someone else while it is down must still arrive
    EtcdClient other = EtcdClient.connect(vertx, EtcdOptions.of(List.of(etcd.endpoint())));
    await(other.put("/w/k", b("v5"), 0));
    await(other.put("/w/k", b("v6"), 0));
    other.close();
    waitFor(() -> seen.size() == 7);
    assertEquals(List.of("v0", "v1", "v2", "v3", "v4", "v5", "v6"), seen);
    assertEquals(0, resyncs.get());
    w.cancel();
  }

  @Test
  void aWatchBehindCompactionResyncsInsteadOfSkipping() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    AtomicInteger resyncs = new AtomicInteger();
    long from = await(client.put("/c/k", b("old"), 0));
    for (int i = 0; i < 5; i++) {
      await(client.put("/c/k", b("n" + i), 0));
    }
    long compactAt = await(client.put("/c/k", b("latest"), 0));
    await(((io.meridian.etcd.impl.GrpcEtcdClient) client).compact(compactAt));
    EtcdClient.Subscription w = client.watch("/c/", from, EtcdClient.listener(
        events -> events.forEach(e -> seen.add(e.kv().valueUtf8())),
        () -> {
          resyncs.incrementAndGet();
          return client.getPrefix("/c/").map(r -> {
            r.kvs().forEach(kv -> seen.add("read:" + kv.valueUtf8()));
            return r.revision();
          });
        }));
    waitFor(() -> resyncs.get() == 1 && seen.contains("read:latest"));
    await(client.put("/c/k", b("after"), 0));
    waitFor(() -> seen.contains("after"));
    assertEquals(List.of("read:latest", "after"), seen);
    w.cancel();
  }

  @Test
  void aPausedEtcdIsNoticedAndTheWatchResumesWhenItAnswersAgain() throws Exception {
    List<Boolean> connection = new CopyOnWriteArrayList<>();
    List<String> seen = new CopyOnWriteArrayList<>();
    EtcdClient.Subscription w = client.watch("/p/", 0, new EtcdClient.WatchListener() {
      @Override
      public void onEvents(List<EtcdClient.Event> events, long revision) {
        events.forEach(e -> seen.add(e.kv().valueUtf8()));
      }

      @Override
      public Future<Long> resync() {
        return client.getPrefix("/p/").map(EtcdClient.Range::revision);
      }

      @Override
      public void onConnection(boolean up) {
        connection.add(up);
      }
    });
    waitFor(() -> connection.equals(List.of(true)));
    etcd.pause();
    try {
      waitFor(() -> connection.equals(List.of(true, false)));
    } finally {
      etcd.resume();
    }
    waitFor(() -> connection.equals(List.of(true, false, true)));
    await(client.put("/p/k", b("back"), 0));
    waitFor(() -> seen.contains("back"));
    w.cancel();
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
