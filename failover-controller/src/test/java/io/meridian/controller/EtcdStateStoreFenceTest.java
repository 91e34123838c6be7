package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.controller.impl.EtcdStateStore;
import io.meridian.etcd.LeaderElection;
import io.meridian.etcd.NotLeaderException;
import io.meridian.etcd.testing.EtcdTestBed;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal's writes under a leader's fence, in a real etcd: a deposed leader's append is refused as
 * {@link NotLeaderException} (the controller then forwards the command) and nothing lands; a conflict between two
 * writers under a fence that still holds stays an {@link IOException}.
 */
class EtcdStateStoreFenceTest {
  static final Duration TIMEOUT = Duration.ofSeconds(2);
  static final String PREFIX = "/m/controller/";

  @TempDir
  Path dir;
  EtcdTestBed bed;

  @BeforeEach
  void start() throws Exception {
    bed = EtcdTestBed.start(dir, TIMEOUT);
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  LeaderElection candidate(String id) throws Exception {
    LeaderElection e = LeaderElection.create(bed.vertx(), bed.client(), PREFIX, id, Duration.ofSeconds(10),
        "http://" + id + ":9090");
    e.start().await(20, TimeUnit.SECONDS);
    return e;
  }

  static AdminState freeze(AdminState s, String reason) {
    return s.withFrozen(new AdminState.Freeze(reason, "olga", java.time.Instant.EPOCH, null)).nextRevision(null,
        null);
  }

  static JsonObject entry(AdminState after) {
    return new JsonObject().put("seq", after.revision()).put("who", "olga").put("action", "freeze");
  }

  static void waitFor(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "condition not met within 30 s");
      Thread.sleep(20);
    }
  }

  @Test
  void aDeposedLeadersAppendIsRefusedAsNotLeaderAndTheNewLeaderContinuesTheJournal() throws Exception {
    LeaderElection a = candidate("a");
    LeaderElection b = candidate("b");
    assertTrue(a.isLeader());
    EtcdStateStore storeA = EtcdStateStore.open(bed.client(), "/m/", TIMEOUT);
    storeA.guardWrites(a.fence());
    AdminState s1 = freeze(AdminState.EMPTY, "first");
    storeA.append(entry(s1), s1);

    // what etcd does to a paused leader's lease when its TTL runs out, done at once
    long lease = bed.client().get(PREFIX + "leader").await(5, TimeUnit.SECONDS).first().lease();
    bed.client().revokeLease(lease).await(5, TimeUnit.SECONDS);
    waitFor(b::isLeader);

    AdminState s2 = freeze(s1, "late");
    NotLeaderException refused = assertThrows(NotLeaderException.class, () -> storeA.append(entry(s2), s2));
    assertEquals("b", refused.leader().orElseThrow().id(), refused.getMessage());
    assertTrue(bed.client().get("/m/state/journal/" + String.format("%020d", 2)).await(5, TimeUnit.SECONDS)
        .kvs().isEmpty(), "the deposed leader's entry did not land");

    // the new leader reloads, holds the first leader's acknowledged entry, and writes the next one
    EtcdStateStore storeB = EtcdStateStore.open(bed.client(), "/m/", TIMEOUT);
    storeB.guardWrites(b.fence());
    assertEquals("first", storeB.load().frozen().reason());
    AdminState b2 = freeze(storeB.load(), "by b");
    storeB.append(entry(b2), b2);
    assertEquals("by b", EtcdStateStore.open(bed.client(), "/m/", TIMEOUT).load().frozen().reason());

    // two writers under b's fence (which holds): the loser's refusal is a conflict, not a leadership change
    EtcdStateStore stale = storeBAt(b2, b);
    EtcdStateStore current = storeBAt(b2, b);
    AdminState b3 = freeze(b2, "b3");
    current.append(entry(b3), b3);
    IOException conflict = assertThrows(IOException.class, () -> stale.append(entry(b3), b3));
    assertFalse(conflict instanceof EtcdStateStore.Damaged, conflict.toString());
  }

  EtcdStateStore storeBAt(AdminState expected, LeaderElection fence) throws IOException {
    EtcdStateStore s = EtcdStateStore.open(bed.client(), "/m/", TIMEOUT);
    assertEquals(expected.revision(), s.load().revision());
    s.guardWrites(fence.fence());
    return s;
  }
}
