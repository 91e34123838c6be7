package io.meridian.controller.impl;

import io.meridian.controller.AdminState;
import io.meridian.controller.StateStore;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An append-only journal, {@code audit.jsonl}: one JSON line per accepted mutation holding the audit entry and
 * the full operators' state after it. Appending one line and forcing it to disk is atomic enough by
 * construction: a crash mid-write leaves at most a torn last line, which was never acknowledged (the fsync had
 * not returned) and is skipped on load. The state is small (overrides, pins, promotions), so carrying it whole
 * in every line keeps recovery trivial: the last intact line is the state.
 */
public final class EmbeddedStateStore implements StateStore {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedStateStore.class);
  private static final int KEPT_IN_MEMORY = 1000;

  private final Path file;
  private final FileChannel channel;
  private final Deque<JsonObject> recent = new ArrayDeque<>();
  private AdminState state = AdminState.EMPTY;

  private EmbeddedStateStore(Path dir) throws IOException {
    Files.createDirectories(dir);
    this.file = dir.resolve("audit.jsonl");
    boolean created = !Files.exists(file);
    long validLength = created ? 0 : replay();
    this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    if (channel.size() > validLength) {
      LOG.warn("{}: dropping a torn last entry ({} bytes) left by a crash before it was acknowledged", file,
          channel.size() - validLength);
      channel.truncate(validLength);
      channel.force(true);
    }
    channel.position(validLength);
    if (created) {
      fsyncDirectory(dir); // the new file's directory entry must survive a crash too
    }
  }

  public static EmbeddedStateStore open(Path dir) throws IOException {
    return new EmbeddedStateStore(dir);
  }

  /** Reads every intact line; returns the byte length of the intact prefix. */
  private long replay() throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    int start = 0;
    long valid = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] != '\n') {
        continue;
      }
      String line = new String(bytes, start, i - start, StandardCharsets.UTF_8);
      start = i + 1;
      try {
        JsonObject entry = new JsonObject(line);
        state = AdminState.fromJson(entry.getJsonObject("state"));
        remember(entry.getJsonObject("audit"));
        valid = i + 1;
      } catch (RuntimeException e) { // DecodeException, bad field
        throw new IOException(file + ": entry at byte " + valid + " is corrupt (" + e.getMessage()
            + "); refusing to start on a damaged journal");
      }
    }
    return valid; // bytes after the last newline: a torn write
  }

  private void remember(JsonObject audit) {
    recent.addLast(audit);
    while (recent.size() > KEPT_IN_MEMORY) {
      recent.removeFirst();
    }
  }

  private static void fsyncDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      LOG.debug("directory fsync not supported here: {}", e.toString());
    }
  }

  @Override
  public synchronized AdminState load() {
    return state;
  }

  @Override
  public synchronized void append(JsonObject auditEntry, AdminState after) throws IOException {
    JsonObject line = new JsonObject().put("audit", auditEntry).put("state", after.toJson());
    ByteBuffer buf = ByteBuffer.wrap((line.encode() + "\n").getBytes(StandardCharsets.UTF_8));
    while (buf.hasRemaining()) {
      channel.write(buf);
    }
    channel.force(true); // data and the new length on stable storage before we acknowledge
    state = after;
    remember(auditEntry);
  }

  @Override
  public synchronized List<JsonObject> audit(int limit) {
    List<JsonObject> all = new ArrayList<>(recent);
    return all.subList(Math.max(0, all.size() - limit), all.size());
  }

  @Override
  public synchronized void close() {
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
