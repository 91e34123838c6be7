package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A journal in the old format ({@code audit.jsonl}: one line per entry holding the audit entry, both plans and
 * the whole state) is read once: its last intact line's state becomes the first snapshot, so users keep their
 * state, and the old file is kept as {@code audit.jsonl.migrated}.
 */
class StateStoreMigrationTest {

  @Test
  void theLastLinesStateBecomesTheFirstSnapshotAndTheTornLineIsIgnored(@TempDir Path dir) throws Exception {
    AdminState s = AdminState.EMPTY;
    StringBuilder old = new StringBuilder();
    for (int i = 0; i < 5; i++) {
      s = s.withPin(i + "N0E", new AdminState.ZonePin(i + "N0E", Map.of("eu-west", 2.5), "pin " + i, "olga",
          Instant.parse("2030-01-01T00:00:00Z"))).nextRevision("k-" + i, new JsonObject().put("revision", i + 1));
      JsonObject audit = new JsonObject().put("seq", s.revision()).put("who", "olga").put("action", "pin")
          .put("plan_before", new JsonObject().put("version", 10 + i).put("zones", "big"))
          .put("plan_after", new JsonObject().put("version", 11 + i).put("zones", "big"));
      old.append(new JsonObject().put("audit", audit).put("state", s.toJson()).encode()).append('\n');
    }
    old.append("{\"audit\":{\"seq\":6},\"state\":{\"revis"); // torn: never acknowledged
    Files.writeString(dir.resolve("audit.jsonl"), old, StandardCharsets.UTF_8);

    AdminState migrated;
    try (StateStore store = StateStore.embedded(dir)) {
      migrated = store.load();
      assertEquals(s, migrated);
      List<JsonObject> audit = store.audit(10);
      assertEquals(5, audit.size());
      assertEquals(14, audit.get(4).getLong("plan_version_before"), "plans are reduced to their versions");
      assertFalse(audit.get(4).containsKey("plan_before"));
      assertFalse(Files.exists(dir.resolve("audit.jsonl")));
      assertTrue(Files.exists(dir.resolve("audit.jsonl.migrated")), "the old file is kept, not deleted");
      store.append(new JsonObject().put("seq", 6), migrated.withFrozen(null).nextRevision(null, null));
    }
    try (StateStore store = StateStore.embedded(dir)) {
      assertEquals(6, store.load().revision());
      assertEquals(s.pins(), store.load().pins());
      assertEquals(6, store.audit(10).size());
    }
  }

  @Test
  void aCorruptLineInTheMiddleRefusesToStartRatherThanLoseState(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("audit.jsonl"), "not json\n{\"audit\":{},\"state\":{\"revision\":3}}\n");
    IOException e = assertThrows(IOException.class, () -> StateStore.embedded(dir));
    assertTrue(e.getMessage().contains("entry at byte 0 is corrupt"), e.getMessage());
    assertTrue(Files.exists(dir.resolve("audit.jsonl")), "nothing renamed on failure");
  }

  @Test
  void anInterruptedMigrationIsDoneAgain(@TempDir Path dir) throws Exception {
    AdminState s = AdminState.EMPTY.withFrozen(new AdminState.Freeze("incident", "ada",
        Instant.parse("2025-01-01T00:00:00Z"), null)).nextRevision(null, null);
    Files.writeString(dir.resolve("audit.jsonl"), new JsonObject().put("audit", new JsonObject().put("seq", 1))
        .put("state", s.toJson()).encode() + "\n");
    // a crash after the snapshot was written but before the commit: the snapshot is a leftover
    Files.writeString(dir.resolve(String.format("snapshot-%020d.snap", 1)), "half");
    try (StateStore store = StateStore.embedded(dir)) {
      assertEquals(s, store.load());
    }
  }
}
