package io.meridian.controller.impl;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The second durable witness of what was acknowledged, kept in {@code journal.commit}. A prefix of an
 * append-only file always looks like a plausible crash, so the journal alone cannot tell a torn last write
 * (never acknowledged) from lost acknowledged entries; this record can. It is written and fsync'd after the
 * entry's own fsync and before the answer, so an acknowledged entry always lies before a committed end.
 *
 * <p>The file has two fixed slots, 4 KiB apart so that they never share a filesystem block; commits alternate
 * between them and each carries its own CRC32C. A crash while writing one slot leaves the other, older commit
 * intact, and the higher valid generation wins on start-up.
 *
 * @param generation  increases by one per commit written
 * @param snapshotSeq the snapshot the current segment follows ({@code snapshot-<seq>.snap}; 0 = none) and the
 *                    name of that segment ({@code journal-<seq>.log})
 * @param lastSeq     the last acknowledged entry's seq
 * @param endOffset   the segment's length up to and including that entry's record
 */
record JournalCommit(long generation, long snapshotSeq, long lastSeq, long endOffset) {
  static final int SLOT_STRIDE = 4096;
  private static final int MAGIC = 0x4d4a4331; // "MJC1": format 1
  private static final int SLOT_BYTES = 4 + 4 * 8 + 4;

  JournalCommit next(long newSnapshotSeq, long newLastSeq, long newEndOffset) {
    return new JournalCommit(generation + 1, newSnapshotSeq, newLastSeq, newEndOffset);
  }

  /** Writes this commit into {@code slot} (0 or 1) and forces it to stable storage. */
  void writeTo(FileChannel ch, int slot) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(SLOT_BYTES);
    b.putInt(MAGIC).putLong(generation).putLong(snapshotSeq).putLong(lastSeq).putLong(endOffset);
    b.putInt(crc(b.array(), SLOT_BYTES - 4)).flip();
    long pos = (long) slot * SLOT_STRIDE;
    while (b.hasRemaining()) {
      pos += ch.write(b, pos);
    }
    ch.force(true);
  }

  /** The two slots as read; an invalid or never-written slot is null. */
  record Slots(JournalCommit first, JournalCommit second) {
    /** The newest valid commit, or null when neither slot holds one. */
    JournalCommit best() {
      return bestSlot() == 1 ? second : first;
    }

    /** The slot {@link #best()} is in (0 or 1). */
    int bestSlot() {
      return first == null || second != null && second.generation() > first.generation() ? 1 : 0;
    }
  }

  static Slots read(byte[] file) {
    return new Slots(slot(file, 0), slot(file, SLOT_STRIDE));
  }

  private static JournalCommit slot(byte[] file, int at) {
    if (file.length < at + SLOT_BYTES) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(file, at, SLOT_BYTES);
    if (b.getInt() != MAGIC) {
      return null;
    }
    JournalCommit c = new JournalCommit(b.getLong(), b.getLong(), b.getLong(), b.getLong());
    int crc = b.getInt();
    if (crc != crc(Arrays.copyOfRange(file, at, at + SLOT_BYTES - 4), SLOT_BYTES - 4)) {
      return null;
    }
    boolean sane = c.generation() > 0 && c.snapshotSeq() >= 0 && c.lastSeq() >= c.snapshotSeq()
        && c.endOffset() >= 0;
    return sane ? c : null;
  }

  private static int crc(byte[] b, int len) {
    CRC32C c = new CRC32C();
    c.update(b, 0, len);
    return (int) c.getValue();
  }

  @Override
  public String toString() {
    return "commit #" + generation + " (segment journal-" + snapshotSeq + ", last seq " + lastSeq + " ending at byte "
        + endOffset + ")";
  }
}
