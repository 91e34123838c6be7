package io.meridian.controller.impl;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The journal lacks data that was acknowledged: it ends before, or is damaged before, the end the commit file
 * witnessed, or a snapshot the commit file names is missing. The controller refuses to start rather than run
 * on state that silently dropped operators' decisions; the message names the file, the byte offset, the entry
 * expected there and the way out.
 */
public final class JournalDamagedException extends IOException {
  private final Path file;
  private final long offset;
  private final long expectedSeq;

  JournalDamagedException(Path file, long offset, long expectedSeq, String message) {
    super(message);
    this.file = file;
    this.offset = offset;
    this.expectedSeq = expectedSeq;
  }

  public Path file() {
    return file;
  }

  public long offset() {
    return offset;
  }

  public long expectedSeq() {
    return expectedSeq;
  }
}
