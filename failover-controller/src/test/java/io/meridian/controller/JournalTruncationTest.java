package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.controller.impl.EmbeddedStateStore;
import io.meridian.controller.impl.JournalDamagedException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The segment cut at every byte of its last entries is classified right: before the committed end acknowledged
 * data is missing (refuse to start, naming file, byte, seq and the way out); after it, a cut inside the
 * durable-but-uncommitted last record is a torn write (truncated, state as committed), and the whole record is
 * kept.
 */
class JournalTruncationTest {
  static final int SNAPSHOT_EVERY = 10;

  /** What opening a segment cut to {@code length} must do. */
  enum Outcome { REFUSE, TORN_TAIL_REPAIRED, ALL_KEPT }

  record Row(long length, Outcome outcome, long seq, long recordStart) {}

  @Test
  void everyTruncationOfTheLastEntriesIsClassified(@TempDir Path tmp) throws Exception {
    Path dir = tmp.resolve("state");
    List<AdminState> states = writeThirteenCommittedAndOneUncommitted(dir);
    Path seg = dir.resolve(String.format("journal-%020d.log", SNAPSHOT_EVERY));
    byte[] full = Files.readAllBytes(seg);
    List<Long> starts = recordStarts(full); // records of seq 11..14
    assertEquals(4, starts.size(), "entries 11..14 follow the snapshot at 10");
    long committedEnd = starts.get(3);

    List<Row> table = new ArrayList<>();
    for (long len = 0; len <= full.length; len++) {
      int r = 0;
      while (r + 1 < starts.size() && starts.get(r + 1) <= len) {
        r++;
      }
      long seq = SNAPSHOT_EVERY + 1 + r;
      table.add(len < committedEnd ? new Row(len, Outcome.REFUSE, seq, starts.get(r))
          : len < full.length ? new Row(len, Outcome.TORN_TAIL_REPAIRED, 13, committedEnd)
          : new Row(len, Outcome.ALL_KEPT, 14, full.length));
    }

    List<String> wrong = new ArrayList<>();
    for (Row row : table) {
      Path copy = tmp.resolve("case-" + row.length());
      copyDir(dir, copy);
      try (FileChannel ch = FileChannel.open(copy.resolve(seg.getFileName()), StandardOpenOption.WRITE)) {
        ch.truncate(row.length());
      }
      String problem = check(row, copy, seg.getFileName().toString(), states, committedEnd);
      if (problem != null) {
        wrong.add("length " + row.length() + " (" + row.outcome() + "): " + problem);
      }
      deleteDir(copy);
    }
    assertTrue(wrong.isEmpty(), wrong.size() + " of " + table.size() + " rows misclassified, e.g. "
        + wrong.subList(0, Math.min(5, wrong.size())));
    for (Outcome o : Outcome.values()) {
      long n = table.stream().filter(r -> r.outcome() == o).count();
      System.out.println("JournalTruncationTest: " + n + " cut lengths " + o);
      assertTrue(n > 0, "the table has rows for " + o);
    }
  }

  private static String check(Row row, Path dir, String segName, List<AdminState> states, long committedEnd)
      throws IOException {
    if (row.outcome() == Outcome.REFUSE) {
      JournalDamagedException e;
      try {
        EmbeddedStateStore.open(dir).close();
        return "opened";
      } catch (JournalDamagedException x) {
        e = x;
      }
      String m = e.getMessage();
      boolean ok = e.expectedSeq() == row.seq() && e.offset() == row.recordStart() && m.contains(segName)
          && m.contains("ends at byte " + row.length()) && m.contains("seq " + row.seq())
          && m.contains("acknowledged entries seq " + row.seq() + "..13 are missing")
          && m.contains("Way out") && m.contains(EmbeddedStateStore.ACCEPT_DATA_LOSS);
      return ok ? null : "seq " + e.expectedSeq() + " at " + e.offset() + ": " + m;
    }
    try (StateStore s = EmbeddedStateStore.open(dir)) {
      AdminState expected = states.get((int) row.seq());
      if (!s.load().equals(expected)) {
        return "state at revision " + s.load().revision() + " (expected " + row.seq() + ")";
      }
      long size = Files.size(dir.resolve(segName));
      if (row.outcome() == Outcome.TORN_TAIL_REPAIRED && size != committedEnd) {
        return "segment is " + size + " bytes after repair (expected " + committedEnd + ")";
      }
      AdminState next = pinned(expected, 99);
      s.append(audit(next), next); // writable after the repair
    }
    try (StateStore s = EmbeddedStateStore.open(dir)) {
      return s.load().revision() == row.seq() + 1 ? null : "the append after repair is lost";
    }
  }

  /**
   * Entries 1..13 acknowledged (a snapshot at 10), then entry 14 written and fsync'd but its commit lost (the
   * commit file is full): durable, never acknowledged. Returns the state after each revision.
   */
  static List<AdminState> writeThirteenCommittedAndOneUncommitted(Path dir) throws IOException {
    FaultyDisk disk = new FaultyDisk();
    List<AdminState> states = new ArrayList<>(List.of(AdminState.EMPTY));
    try (StateStore s = EmbeddedStateStore.open(dir, EmbeddedStateStore.Options.defaults()
        .withSnapshotEvery(SNAPSHOT_EVERY).withOpener(disk))) {
      for (int i = 1; i <= 14; i++) {
        AdminState next = pinned(states.get(i - 1), i);
        if (i == 14) {
          disk.only(p -> p.toString().equals("journal.commit")).fill(0);
          assertThrows(IOException.class, () -> s.append(audit(next), next));
        } else {
          s.append(audit(next), next);
        }
        states.add(next);
      }
    }
    return states;
  }

  static AdminState pinned(AdminState s, int i) {
    String zone = (i % 7) + "N" + (i % 5) + "E";
    return s.withPin(zone, new AdminState.ZonePin(zone, Map.of("eu-west", 1.0 + i), "entry " + i + " ✓", "olga",
        null)).nextRevision("key-" + i, new JsonObject().put("revision", s.revision() + 1).put("target", zone));
  }

  static JsonObject audit(AdminState next) {
    return new JsonObject().put("seq", next.revision()).put("who", "olga").put("action", "pin");
  }

  /** Record boundaries, read from the frames' length fields (4 bytes length, 4 bytes CRC, payload). */
  static List<Long> recordStarts(byte[] segment) {
    List<Long> starts = new ArrayList<>();
    int at = 0;
    while (at < segment.length) {
      starts.add((long) at);
      at += 8 + ByteBuffer.wrap(segment, at, 4).getInt();
    }
    return starts;
  }

  static void copyDir(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path p : files.toList()) {
        Files.copy(p, to.resolve(p.getFileName()));
      }
    }
  }

  static void deleteDir(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.toList()) {
        Files.delete(p);
      }
    }
    Files.delete(dir);
  }
}
