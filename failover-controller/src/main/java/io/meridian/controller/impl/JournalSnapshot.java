package io.meridian.controller.impl;

import io.meridian.controller.AdminState;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The operators' state after entry {@code seq}, plus the last audit entries so {@code GET /v1/audit} still
 * answers after the entries themselves were compacted away. Encoded as one UTF-8 JSON object:
 *
 * <pre>{"format": 1, "seq": 3000, "state": {...AdminState.toJson()...}, "audit": [{...}, ...]}</pre>
 *
 * Like {@link JournalEntry} it knows nothing of files.
 *
 * @param seq   the last journal entry the state includes
 * @param state the operators' state after it
 * @param audit the last (at most {@link #AUDIT_KEPT}) audit entries, oldest first
 */
public record JournalSnapshot(long seq, AdminState state, List<JsonObject> audit) {
  /** As many as {@code GET /v1/audit?limit=} can ask for; older entries are gone after compaction. */
  public static final int AUDIT_KEPT = 1000;
  private static final int FORMAT = 1;

  public JournalSnapshot {
    audit = List.copyOf(audit.subList(Math.max(0, audit.size() - AUDIT_KEPT), audit.size()));
  }

  public byte[] encode() {
    return new JsonObject().put("format", FORMAT).put("seq", seq).put("state", state.toJson())
        .put("audit", new JsonArray(new ArrayList<>(audit))).encode().getBytes(StandardCharsets.UTF_8);
  }

  /** @throws IllegalArgumentException when the bytes are not a snapshot of this format */
  public static JournalSnapshot decode(byte[] payload) {
    try {
      JsonObject j = new JsonObject(new String(payload, StandardCharsets.UTF_8));
      if (j.getInteger("format", -1) != FORMAT) {
        throw new IllegalArgumentException("snapshot format " + j.getValue("format") + " (expected: " + FORMAT + ")");
      }
      List<JsonObject> audit = new ArrayList<>();
      j.getJsonArray("audit", new JsonArray()).forEach(a -> audit.add((JsonObject) a));
      return new JournalSnapshot(j.getLong("seq"), AdminState.fromJson(j.getJsonObject("state")), audit);
    } catch (DecodeException | ClassCastException | NullPointerException | java.time.DateTimeException e) {
      throw new IllegalArgumentException("not a snapshot: " + e.getMessage(), e);
    }
  }

  /** Encodes and proves the state reads back equal (as {@link JournalEntry#encodeVerified} does per entry). */
  public byte[] encodeVerified() {
    byte[] bytes = encode();
    JournalSnapshot read = decode(bytes);
    if (read.seq() != seq || !read.state().equals(state) || !read.audit().equals(audit)) {
      throw new IllegalArgumentException("snapshot at seq " + seq + " would not read back as written");
    }
    return bytes;
  }
}
