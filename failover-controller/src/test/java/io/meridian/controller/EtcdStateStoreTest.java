package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.controller.impl.EtcdStateStore;
import io.meridian.controller.impl.EtcdStateStoreAccess;
import io.meridian.etcd.EtcdClient;
import io.meridian.etcd.EtcdOptions;
import io.meridian.etcd.testing.EtcdServer;
import io.meridian.etcd.testing.EtcdTestBed;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Operators' state and the audit journal in a real etcd: the same entries as on disk, one key each. */
class EtcdStateStoreTest {
  static final Duration TIMEOUT = Duration.ofSeconds(2);

  @TempDir
  Path dir;
  EtcdServer etcd;
  Vertx vertx;
  EtcdClient client;

  EtcdTestBed bed;

  @BeforeEach
  void start() throws Exception {
    bed = EtcdTestBed.start(dir, TIMEOUT);
    etcd = bed.etcd();
    vertx = bed.vertx();
    client = bed.client();
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  static AdminState pinned(AdminState s, int i) {
    AdminState next = s.withPin("50N" + i + "E", new AdminState.ZonePin("50N" + i + "E", Map.of("eu-west", 1.0 + i),
        "reason " + i + " ünïcödé", "olga", Instant.parse("2030-01-01T00:00:00Z")));
    return next.nextRevision("key-" + i, new JsonObject().put("revision", next.revision() + 1).put("i", i));
  }

  static JsonObject audit(AdminState after) {
    return new JsonObject().put("seq", after.revision()).put("who", "olga").put("action", "pin");
  }

  @Test
  void appendsSurviveReopeningAndSnapshotsCompactTheJournal() throws Exception {
    EtcdStateStore store = EtcdStateStoreAccess.open(client, "/m/", TIMEOUT, 5);
    AdminState s = AdminState.EMPTY;
    for (int i = 0; i < 12; i++) {
      s = pinned(s, i);
      store.append(audit(s), s);
    }
    EtcdStateStore reopened = EtcdStateStoreAccess.open(client, "/m/", TIMEOUT, 5);
    assertEquals(s.toJson(), reopened.load().toJson());
    assertEquals(12, reopened.audit(1000).size());
    assertEquals(s.revision(), reopened.audit(1).get(0).getLong("seq"));
    int keys = client.getPrefix("/m/state/journal/").await(5, TimeUnit.SECONDS).kvs().size();
    assertTrue(keys < 5, "entries covered by the snapshot are deleted: " + keys + " left");
    assertTrue(client.get("/m/state/snapshot").await(5, TimeUnit.SECONDS).first() != null);
    // idempotency answers survive too
    assertEquals(11, reopened.load().idempotency().get("key-11").getInteger("i"));
  }

  @Test
  void aSecondControllerCannotWriteTheSameEntry() throws Exception {
    EtcdStateStore a = EtcdStateStore.open(client, "/m/", TIMEOUT);
    EtcdStateStore b = EtcdStateStore.open(client, "/m/", TIMEOUT);
    AdminState s1 = pinned(AdminState.EMPTY, 1);
    a.append(audit(s1), s1);
    AdminState other = pinned(AdminState.EMPTY, 2);
    IOException e = assertThrows(IOException.class, () -> b.append(audit(other), other));
    assertTrue(e.getMessage().contains("another controller"), e.getMessage());
    assertEquals(s1.toJson(), EtcdStateStore.open(client, "/m/", TIMEOUT).load().toJson(), "b's write must not land");
  }

  @Test
  void withEtcdDownNothingIsAcknowledgedAndWritesResumeWhenItIsBack() throws Exception {
    EtcdStateStore store = EtcdStateStore.open(client, "/m/", TIMEOUT);
    AdminState s1 = pinned(AdminState.EMPTY, 1);
    store.append(audit(s1), s1);
    etcd.stop(true);
    AdminState s2 = pinned(s1, 2);
    assertThrows(IOException.class, () -> store.append(audit(s2), s2));
    assertEquals(s1.toJson(), store.load().toJson(), "a refused append changes nothing");
    etcd.restart();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try {
        store.append(audit(s2), s2);
        break;
      } catch (IOException notYet) {
        assertTrue(System.nanoTime() < deadline, notYet.getMessage());
        Thread.sleep(200);
      }
    }
    assertEquals(s2.toJson(), EtcdStateStore.open(client, "/m/", TIMEOUT).load().toJson());
  }

  @Test
  void aMissingEntryStopsTheStartWithTheWayOut() throws Exception {
    EtcdStateStore store = EtcdStateStore.open(client, "/m/", TIMEOUT);
    AdminState s = AdminState.EMPTY;
    for (int i = 0; i < 3; i++) {
      s = pinned(s, i);
      store.append(audit(s), s);
    }
    client.deletePrefix("/m/state/journal/00000000000000000002").await(5, TimeUnit.SECONDS);
    EtcdStateStore.Damaged d = assertThrows(EtcdStateStore.Damaged.class,
        () -> EtcdStateStore.open(client, "/m/", TIMEOUT));
    assertTrue(d.getMessage().contains("entry 2 is missing") && d.getMessage().contains("Way out"), d.getMessage());
  }

  @Test
  void aValueThatWouldNotReadBackIsRefusedBeforeAnythingIsWritten() throws Exception {
    EtcdStateStore store = EtcdStateStore.open(client, "/m/", TIMEOUT);
    AdminState bad = AdminState.EMPTY.withPin("1N1E", new AdminState.ZonePin("1N1E", Map.of("eu-west",
        Double.POSITIVE_INFINITY), "r", "olga", null)).nextRevision(null, null);
    assertThrows(IllegalArgumentException.class, () -> store.append(audit(bad), bad));
    assertTrue(client.getPrefix("/m/state/").await(5, TimeUnit.SECONDS).kvs().isEmpty());
  }
}
