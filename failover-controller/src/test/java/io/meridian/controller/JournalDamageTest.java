package io.meridian.controller;

import static io.meridian.controller.JournalTruncationTest.SNAPSHOT_EVERY;
import static io.meridian.controller.JournalTruncationTest.audit;
import static io.meridian.controller.JournalTruncationTest.pinned;
import static io.meridian.controller.JournalTruncationTest.recordStarts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.controller.impl.EmbeddedStateStore;
import io.meridian.controller.impl.JournalDamagedException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damage before the committed end, or a file the commit names that is gone, stops the controller with the file,
 * the byte, the seq and the way out; an operator may accept the loss explicitly.
 */
class JournalDamageTest {
  private static final String SEGMENT = String.format("journal-%020d.log", SNAPSHOT_EVERY);
  private static final String SNAPSHOT = String.format("snapshot-%020d.snap", SNAPSHOT_EVERY);

  @Test
  void aFlippedByteInAnAcknowledgedEntryRefusesToStart(@TempDir Path dir) throws Exception {
    JournalTruncationTest.writeThirteenCommittedAndOneUncommitted(dir);
    long second = recordStarts(Files.readAllBytes(dir.resolve(SEGMENT))).get(1); // seq 12
    try (RandomAccessFile f = new RandomAccessFile(dir.resolve(SEGMENT).toFile(), "rw")) {
      f.seek(second + 20);
      int b = f.read();
      f.seek(second + 20);
      f.write(b ^ 0x10);
    }
    JournalDamagedException e = assertThrows(JournalDamagedException.class, () -> EmbeddedStateStore.open(dir));
    assertEquals(second, e.offset());
    assertEquals(12, e.expectedSeq());
    assertTrue(e.getMessage().contains(SEGMENT + ": the record at byte " + second + " (seq 12 expected) is damaged"
        + " (checksum"), e.getMessage());
    assertTrue(e.getMessage().contains("acknowledged entries seq 12..13 cannot be read"), e.getMessage());
  }

  @Test
  void aMissingSnapshotTheCommitNamesRefusesToStart(@TempDir Path dir) throws Exception {
    JournalTruncationTest.writeThirteenCommittedAndOneUncommitted(dir);
    Files.delete(dir.resolve(SNAPSHOT));
    JournalDamagedException e = assertThrows(JournalDamagedException.class, () -> EmbeddedStateStore.open(dir));
    assertTrue(e.getMessage().contains(SNAPSHOT + " is missing, but " + dir.resolve("journal.commit")
        + " records it"), e.getMessage());
    assertTrue(e.getMessage().contains("Way out: stop the controller and restore " + dir + " from a backup; or"
        + " move it away (mv " + dir + " " + dir + ".damaged)"), e.getMessage());
  }

  @Test
  void aMissingCommitFileRefusesToStartRatherThanGuess(@TempDir Path dir) throws Exception {
    JournalTruncationTest.writeThirteenCommittedAndOneUncommitted(dir);
    Files.delete(dir.resolve("journal.commit"));
    JournalDamagedException e = assertThrows(JournalDamagedException.class, () -> EmbeddedStateStore.open(dir));
    assertTrue(e.getMessage().contains("journal.commit is missing"), e.getMessage());
  }

  @Test
  void aTornCommitSlotFallsBackToTheOtherAndKeepsDurableEntries(@TempDir Path dir) throws Exception {
    List<AdminState> states = JournalTruncationTest.writeThirteenCommittedAndOneUncommitted(dir);
    // both slots hold commits; damage the newer one (entry 13's) as a crash mid-write of it would
    byte[] commit = Files.readAllBytes(dir.resolve("journal.commit"));
    int newer = ByteBuffer.wrap(commit, 4, 8).getLong() > ByteBuffer.wrap(commit, 4100, 8)
        .getLong() ? 0 : 4096;
    try (FileChannel ch = FileChannel.open(dir.resolve("journal.commit"), StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {0, 0, 0}), newer + 10);
    }
    try (StateStore s = EmbeddedStateStore.open(dir)) {
      assertEquals(states.get(14), s.load(), "entries 13 and 14 were durable; the older commit ends before them");
    }
  }

  @Test
  void anOperatorCanAcceptTheLossExplicitlyOnce(@TempDir Path dir) throws Exception {
    List<AdminState> states = JournalTruncationTest.writeThirteenCommittedAndOneUncommitted(dir);
    long second = recordStarts(Files.readAllBytes(dir.resolve(SEGMENT))).get(1);
    try (FileChannel ch = FileChannel.open(dir.resolve(SEGMENT), StandardOpenOption.WRITE)) {
      ch.truncate(second + 5); // entries 12 and 13 (acknowledged) and 14 are gone
    }
    assertThrows(JournalDamagedException.class, () -> EmbeddedStateStore.open(dir));
    Files.createFile(dir.resolve(EmbeddedStateStore.ACCEPT_DATA_LOSS));
    try (StateStore s = EmbeddedStateStore.open(dir)) {
      assertEquals(states.get(11), s.load());
      AdminState next = pinned(states.get(11), 50);
      s.append(audit(next), next);
    }
    assertFalse(Files.exists(dir.resolve(EmbeddedStateStore.ACCEPT_DATA_LOSS)), "used once, then removed");
    try (StateStore s = EmbeddedStateStore.open(dir)) {
      assertEquals(12, s.load().revision());
    }
  }

  @Test
  void aSecondStoreOnTheSameDirectoryIsRefused(@TempDir Path dir) throws Exception {
    try (StateStore s = StateStore.embedded(dir)) {
      var e = assertThrows(IOException.class, () -> StateStore.embedded(dir));
      assertTrue(e.getMessage().contains("journal.lock is locked"), e.getMessage());
    }
  }
}
