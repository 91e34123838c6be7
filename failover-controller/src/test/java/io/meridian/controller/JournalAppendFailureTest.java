package io.meridian.controller;

import static io.meridian.controller.JournalTruncationTest.audit;
import static io.meridian.controller.JournalTruncationTest.pinned;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.controller.impl.EmbeddedStateStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk that fills up or fails mid-append: the half-written entry is cut back before anything else is
 * written, the command is not acknowledged, the journal stays loadable, and later commands succeed once the disk
 * works again. (The incident: a half-written record stayed, the next acknowledged command was appended after it,
 * and the controller then refused to start.)
 */
class JournalAppendFailureTest {

  private static EmbeddedStateStore.Options options(FaultyDisk disk, int snapshotEvery) {
    return EmbeddedStateStore.Options.defaults().withOpener(disk).withSnapshotEvery(snapshotEvery);
  }

  private static AdminState threeEntries(StateStore s) throws IOException {
    AdminState state = AdminState.EMPTY;
    for (int i = 1; i <= 3; i++) {
      state = pinned(state, i);
      s.append(audit(state), state);
    }
    return state;
  }

  @Test
  void aDiskFullAtEveryByteOfAnAppendIsCutBackAndTheNextCommandSucceeds(@TempDir Path tmp) throws Exception {
    int cases = 0;
    for (int room = 0; ; room++) {
      Path dir = tmp.resolve("room-" + room);
      FaultyDisk disk = new FaultyDisk();
      AdminState acked;
      AdminState refused;
      AdminState later;
      try (StateStore s = EmbeddedStateStore.open(dir, options(disk, 1000))) {
        acked = threeEntries(s);
        refused = pinned(acked, 4);
        disk.fill(room);
        try {
          s.append(audit(refused), refused);
          break; // the entry and its commit fit: every shorter room was a failure tested below
        } catch (IOException e) {
          assertTrue(e.getMessage().startsWith("state store unavailable: could not "), e.getMessage());
          assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        }
        assertEquals(acked, s.load(), "room " + room + ": nothing of a refused command is kept");
        disk.heal();
        later = pinned(acked, 5);
        s.append(audit(later), later);
      }
      try (StateStore s = EmbeddedStateStore.open(dir)) {
        assertEquals(later, s.load(), "room " + room);
        assertEquals(List.of(1L, 2L, 3L, 4L), s.audit(10).stream().map(a -> a.getLong("seq")).toList());
      }
      cases++;
    }
    assertTrue(cases > 100, "an entry and its commit are more than 100 bytes: " + cases);
  }

  @Test
  void aCrashWhileTheDiskIsFullLeavesALoadableJournal(@TempDir Path tmp) throws Exception {
    for (int room : new int[] {0, 1, 7, 8, 30, 100}) {
      Path dir = tmp.resolve("room-" + room);
      FaultyDisk disk = new FaultyDisk();
      AdminState acked;
      try (StateStore s = EmbeddedStateStore.open(dir, options(disk, 1000))) {
        acked = threeEntries(s);
        disk.fill(room).failTruncate(true); // the half record cannot even be cut back before the "crash"
        AdminState refused = pinned(acked, 4);
        IOException e = assertThrows(IOException.class, () -> s.append(audit(refused), refused));
        assertTrue(e.getMessage().contains("failed too"), e.getMessage());
      }
      try (StateStore s = EmbeddedStateStore.open(dir)) {
        assertEquals(acked, s.load());
        AdminState next = pinned(acked, 6);
        s.append(audit(next), next);
      }
      try (StateStore s = EmbeddedStateStore.open(dir)) {
        assertEquals(4, s.load().revision());
      }
    }
  }

  @Test
  void aFailingFsyncRefusesUntilItWorksAgainRetryingEachTime(@TempDir Path dir) throws Exception {
    FaultyDisk disk = new FaultyDisk();
    try (StateStore s = EmbeddedStateStore.open(dir, options(disk, 1000))) {
      AdminState acked = threeEntries(s);
      disk.failForce(true);
      AdminState a = pinned(acked, 4);
      IOException first = assertThrows(IOException.class, () -> s.append(audit(a), a));
      assertTrue(first.getMessage().contains("Input/output error (fsync)"), first.getMessage());
      int faults = disk.faults();
      IOException second = assertThrows(IOException.class, () -> s.append(audit(a), a));
      assertTrue(second.getMessage().contains("failed too"), second.getMessage());
      assertTrue(disk.faults() > faults, "the second call tried the disk again");
      assertEquals(acked, s.load());
      disk.heal();
      s.append(audit(a), a);
      assertEquals(a, s.load());
    }
    try (StateStore s = EmbeddedStateStore.open(dir)) {
      assertEquals(4, s.load().revision());
      assertEquals(4, s.audit(10).size());
    }
  }

  @Test
  void aSnapshotThatCannotBeWrittenDoesNotFailTheCommandAndIsRetried(@TempDir Path dir) throws Exception {
    FaultyDisk disk = new FaultyDisk();
    AdminState state = AdminState.EMPTY;
    try (StateStore s = EmbeddedStateStore.open(dir, options(disk, 5))) {
      for (int i = 1; i <= 4; i++) {
        state = pinned(state, i);
        s.append(audit(state), state);
      }
      disk.only(p -> p.toString().startsWith("snapshot-")).fill(0);
      for (int i = 5; i <= 6; i++) {
        state = pinned(state, i);
        s.append(audit(state), state); // acknowledged: the entry is committed before the snapshot is tried
      }
      assertFalse(Files.exists(dir.resolve(String.format("snapshot-%020d.snap", 5))));
      disk.heal();
      state = pinned(state, 7);
      s.append(audit(state), state);
      assertTrue(Files.exists(dir.resolve(String.format("snapshot-%020d.snap", 7))));
      assertFalse(Files.exists(dir.resolve(String.format("journal-%020d.log", 0))), "compacted");
    }
    try (StateStore s = EmbeddedStateStore.open(dir)) {
      assertEquals(state, s.load());
      assertEquals(7, s.audit(10).size());
    }
  }

  @Test
  void aSnapshotWhoseCommitFailsKeepsThePreviousFilesInUse(@TempDir Path dir) throws Exception {
    FaultyDisk disk = new FaultyDisk();
    AdminState state = AdminState.EMPTY;
    try (StateStore s = EmbeddedStateStore.open(dir, options(disk, 5))) {
      for (int i = 1; i <= 4; i++) {
        state = pinned(state, i);
        s.append(audit(state), state);
      }
      // room for entry 5's record (segment) and its commit, then the commit file is full: the snapshot's
      // files are written but the commit naming them is not
      disk.only(p -> p.toString().equals("journal.commit")).fill(40);
      state = pinned(state, 5);
      s.append(audit(state), state);
      disk.heal();
      state = pinned(state, 6);
      s.append(audit(state), state);
    }
    try (StateStore s = EmbeddedStateStore.open(dir)) {
      assertEquals(state, s.load());
      assertEquals(6, s.audit(10).size());
    }
  }
}
