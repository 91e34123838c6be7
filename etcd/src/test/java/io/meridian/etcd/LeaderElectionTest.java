package io.meridian.etcd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.RoutingPlan;
import io.meridian.etcd.EtcdClient.Cmp;
import io.meridian.etcd.EtcdClient.Op;
import io.meridian.etcd.bench.PropagationBench;
import io.meridian.etcd.testing.EtcdTestBed;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Candidates on one real etcd, each with its own client as separate controller processes would have. */
class LeaderElectionTest {
  static final String PREFIX = "/m/controller/";
  // Not etcd's minimum 2 s: a leader steps down when a keep-alive is not acknowledged within 2/3 of the TTL, and on
  // a loaded 2-core machine etcd's fsyncs have delayed one by more than 2 s (with a 5 s TTL, a spurious step-down in
  // one of four runs). Correct behaviour, but not what these tests are about; none of them waits out the TTL.
  static final Duration TTL = Duration.ofSeconds(10);

  @TempDir
  Path dir;
  EtcdTestBed bed;
  final List<EtcdClient> clients = new ArrayList<>();
  final List<LeaderElection> elections = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    bed = EtcdTestBed.start(dir, Duration.ofSeconds(5));
  }

  @AfterEach
  void stop() throws Exception {
    for (LeaderElection e : elections) {
      e.resign().await(10, TimeUnit.SECONDS);
    }
    clients.forEach(EtcdClient::close);
    bed.close();
  }

  EtcdClient client() {
    EtcdClient c = EtcdClient.connect(bed.vertx(), EtcdOptions.of(List.of(bed.etcd().endpoint())));
    clients.add(c);
    return c;
  }

  LeaderElection candidate(String id, ElectionRecorder events) {
    LeaderElection e = LeaderElection.create(bed.vertx(), client(), PREFIX, id, TTL, "http://" + id + ":9090")
        .listen(events);
    elections.add(e);
    return e;
  }

  @Test
  void twoCandidatesStartedAtOnceElectExactlyOne() throws Exception {
    ElectionRecorder ea = new ElectionRecorder();
    ElectionRecorder eb = new ElectionRecorder();
    LeaderElection a = candidate("a", ea);
    LeaderElection b = candidate("b", eb);
    Future.all(a.start(), b.start()).await(20, TimeUnit.SECONDS);
    waitFor(() -> a.leader().isPresent() && b.leader().isPresent());

    assertTrue(a.isLeader() ^ b.isLeader(), "exactly one leads: a " + ea + ", b " + eb);
    LeaderElection winner = a.isLeader() ? a : b;
    ElectionRecorder we = a.isLeader() ? ea : eb;
    ElectionRecorder le = a.isLeader() ? eb : ea;
    assertEquals(a.leader(), b.leader(), "both see the same leader");
    LeaderInfo info = a.leader().orElseThrow();
    assertEquals(winner.candidateId(), info.id());
    assertEquals("http://" + winner.candidateId() + ":9090", info.url());
    assertEquals(we.term, info.term());
    assertEquals(List.of("elected", "leader=" + winner.candidateId()), we.events);
    assertEquals(List.of("leader=" + winner.candidateId()), le.events);
    KeyValue key = bed.client().get(PREFIX + "leader").await(5, TimeUnit.SECONDS).first();
    assertEquals(info.term(), key.createRevision(), "the term is the key's create revision");
    assertTrue(key.lease() != 0, "the leader key lives under the winner's lease");
  }

  @Test
  void aRevokedLeaderIsDeposedAndTheFollowerTakesOver() throws Exception {
    ElectionRecorder ea = new ElectionRecorder();
    ElectionRecorder eb = new ElectionRecorder();
    LeaderElection a = candidate("a", ea);
    a.start().await(20, TimeUnit.SECONDS);
    LeaderElection b = candidate("b", eb);
    b.start().await(20, TimeUnit.SECONDS);
    assertTrue(a.isLeader());
    long termA = ea.term;

    // What etcd does to a paused or partitioned leader's lease when its TTL runs out, done at once.
    long leaseA = bed.client().get(PREFIX + "leader").await(5, TimeUnit.SECONDS).first().lease();
    bed.client().revokeLease(leaseA).await(5, TimeUnit.SECONDS);
    waitFor(() -> b.isLeader() && ea.saw("leader=b"));

    assertTrue(eb.term > termA, "a new term: " + eb.term + " after " + termA);
    assertFalse(a.isLeader());
    assertEquals(List.of("elected", "leader=a", "deposed", "leader=none", "leader=b"), ea.events);
    assertEquals(List.of("leader=a", "leader=none", "elected", "leader=b"), eb.events);
    assertEquals(b.leader(), a.leader());
  }

  @Test
  void aDeposedLeadersFencedWritesAreRefusedAsNotLeader() throws Exception {
    ElectionRecorder ea = new ElectionRecorder();
    LeaderElection a = candidate("a", ea);
    a.start().await(20, TimeUnit.SECONDS);
    LeaderElection b = candidate("b", new ElectionRecorder());
    b.start().await(20, TimeUnit.SECONDS);
    EtcdClient ca = client();
    EtcdControlBus busA = EtcdControlBus.open(bed.vertx(), ca, "/m/", TTL, plan(1)).await(10, TimeUnit.SECONDS);
    busA.guardPlanWrites(a.fence());
    busA.publishPlan(plan(2)).await(10, TimeUnit.SECONDS); // the leader writes

    // The fence as a's code holds it while it believes it leads: taken before it can learn anything.
    List<Cmp> believed = a.fence().get();
    long leaseA = bed.client().get(PREFIX + "leader").await(5, TimeUnit.SECONDS).first().lease();
    bed.client().revokeLease(leaseA).await(5, TimeUnit.SECONDS);
    waitFor(b::isLeader);

    EtcdClient.TxnResult raw = ca.txn(believed, List.of(Op.put("/m/x", "late".getBytes(StandardCharsets.UTF_8), 0)),
        List.of()).await(5, TimeUnit.SECONDS);
    assertFalse(raw.succeeded(), "etcd refuses the deposed leader's write");
    assertTrue(bed.client().get("/m/x").await(5, TimeUnit.SECONDS).kvs().isEmpty());

    Throwable planRefusal = failure(busA.publishPlan(plan(3)));
    assertInstanceOf(NotLeaderException.class, planRefusal, planRefusal.toString());
    assertEquals("b", ((NotLeaderException) planRefusal).leader().orElseThrow().id());
    assertEquals(2, metaVersion(), "the deposed leader's plan did not land");

    // b's writes go through with b's fence; a conflict on b's own compares is not a leadership problem
    EtcdClient.TxnResult conflict = bed.client().txn(concat(b.fence().get(), Cmp.modRevision("/m/x", Cmp.Result.EQUAL,
        12345)), List.of(Op.put("/m/x", new byte[] {1}, 0)), List.of()).await(5, TimeUnit.SECONDS);
    assertFalse(conflict.succeeded());
    b.fence().verify().await(5, TimeUnit.SECONDS); // succeeds: the fence held, the refusal was a conflict
  }

  @Test
  void aCandidateThatNeverLedCannotWrite() throws Exception {
    LeaderElection a = candidate("a", new ElectionRecorder());
    a.start().await(20, TimeUnit.SECONDS);
    LeaderElection b = candidate("b", new ElectionRecorder());
    b.start().await(20, TimeUnit.SECONDS);
    EtcdControlBus busB = EtcdControlBus.open(bed.vertx(), client(), "/m/", TTL, plan(1)).await(10, TimeUnit.SECONDS);
    busB.guardPlanWrites(b.fence());

    Throwable refusal = failure(busB.publishPlan(plan(2)));
    assertInstanceOf(NotLeaderException.class, refusal, refusal.toString());
    assertEquals("a", ((NotLeaderException) refusal).leader().orElseThrow().id());
    assertTrue(bed.client().get("/m/plan/current").await(5, TimeUnit.SECONDS).kvs().isEmpty());
  }

  @Test
  void aLeaderThatResignsHandsOverAtOnce() throws Exception {
    ElectionRecorder ea = new ElectionRecorder();
    ElectionRecorder eb = new ElectionRecorder();
    LeaderElection a = candidate("a", ea);
    a.start().await(20, TimeUnit.SECONDS);
    LeaderElection b = candidate("b", eb);
    b.start().await(20, TimeUnit.SECONDS);

    a.resign().await(10, TimeUnit.SECONDS);
    waitFor(b::isLeader);

    assertEquals(List.of("elected", "leader=a", "deposed"), ea.events, "a resigned candidate reports nothing more");
    assertEquals(List.of("leader=a", "leader=none", "elected", "leader=b"), eb.events);
  }

  static RoutingPlan plan(long version) {
    return PropagationBench.plan(version, 1, 3, new Random(version));
  }

  long metaVersion() throws Exception {
    KeyValue meta = bed.client().get("/m/plan/current").await(5, TimeUnit.SECONDS).first();
    return new io.vertx.core.json.JsonObject(meta.valueUtf8()).getLong("version");
  }

  static List<Cmp> concat(List<Cmp> a, Cmp b) {
    List<Cmp> out = new ArrayList<>(a);
    out.add(b);
    return out;
  }

  static Throwable failure(Future<?> f) throws Exception {
    try {
      f.await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      if (f.failed()) {
        return f.cause();
      }
      throw e;
    }
    throw new AssertionError("expected a refusal, the write succeeded");
  }

  /** Waits for a state the test then asserts on; the bound only stops a broken build from hanging. */
  static void waitFor(BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("condition not reached within 30 s");
      }
      Thread.sleep(20);
    }
  }
}
