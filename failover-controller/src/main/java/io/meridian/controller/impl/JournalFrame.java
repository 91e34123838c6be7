package io.meridian.controller.impl;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * How a journal record (and a snapshot) is laid out on disk: a 4-byte big-endian payload length, a 4-byte
 * CRC32C of the length and the payload together, then the payload. A record whose length field was damaged
 * fails its checksum like one whose payload was; a frame cut short by a crash is told apart from a damaged one
 * only to word the message: either way it is not a record.
 */
final class JournalFrame {
  static final int HEADER_BYTES = 8;
  /** Far above any record (the admin API takes bodies up to 64 KB) yet stops a damaged length from asking for GBs. */
  static final int MAX_PAYLOAD = 256 << 20;

  private JournalFrame() {}

  /** What lies at an offset: a whole record, a frame the data ends inside of, or bytes that are not a record. */
  sealed interface Read permits Whole, Short, Damaged {}

  /** A record with a valid checksum; {@code end} is the offset just past it. */
  record Whole(byte[] payload, int end) implements Read {}

  /** The data ends inside the frame that starts here: {@code needed} bytes would complete it. */
  record Short(long needed) implements Read {}

  /** Not a record: the reason names the length or the checksum. */
  record Damaged(String reason) implements Read {}

  static ByteBuffer frame(byte[] payload) {
    if (payload.length > MAX_PAYLOAD) {
      throw new IllegalArgumentException("record of " + payload.length + " bytes (expected: at most " + MAX_PAYLOAD
          + ")");
    }
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + payload.length);
    b.putInt(payload.length).putInt(crc(payload.length, payload, 0, payload.length)).put(payload).flip();
    return b;
  }

  /** Reads the frame starting at {@code offset} of {@code bytes} (which end at {@code bytes.length}). */
  static Read read(byte[] bytes, int offset) {
    int available = bytes.length - offset;
    if (available < HEADER_BYTES) {
      return new Short(HEADER_BYTES - available);
    }
    ByteBuffer h = ByteBuffer.wrap(bytes, offset, HEADER_BYTES);
    int length = h.getInt();
    int crc = h.getInt();
    if (length <= 0 || length > MAX_PAYLOAD) {
      // zeros here are typical of a crash: the file grew but the data never reached the disk
      return new Damaged("length field " + length + " (expected: 1 to " + MAX_PAYLOAD + ")");
    }
    if (available - HEADER_BYTES < length) {
      return new Short((long) length - (available - HEADER_BYTES));
    }
    int actual = crc(length, bytes, offset + HEADER_BYTES, length);
    if (actual != crc) {
      return new Damaged(String.format("checksum %08x of %d bytes (expected: %08x as recorded)", actual, length,
          crc));
    }
    int start = offset + HEADER_BYTES;
    return new Whole(Arrays.copyOfRange(bytes, start, start + length), start + length);
  }

  private static int crc(int length, byte[] b, int off, int len) {
    CRC32C c = new CRC32C();
    c.update(ByteBuffer.allocate(4).putInt(0, length));
    c.update(b, off, len);
    return (int) c.getValue();
  }
}
