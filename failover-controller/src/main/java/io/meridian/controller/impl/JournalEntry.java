package io.meridian.controller.impl;

import io.meridian.controller.AdminState;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * One journal entry: its sequence number, the audit entry as {@code GET /v1/audit} shows it (who, role, when,
 * action, target, reason, force, idempotency key, plan versions; never whole plans) and the {@link StateDelta}
 * it made. Encoded as one UTF-8 JSON object:
 *
 * <pre>{"seq": 17, "audit": {"seq": 42, "who": "olga", ...}, "delta": {"revision": 42, "pins": {...}}}</pre>
 *
 * <p>{@code seq} numbers entries of the journal (1, 2, 3, ... with no gaps, across snapshots); the audit's own
 * {@code seq} is the state's revision. The format knows nothing of files, so an etcd-backed store can keep the
 * same bytes under one key per entry.
 */
public record JournalEntry(long seq, JsonObject audit, StateDelta delta) {

  public JournalEntry {
    audit = audit.copy();
  }

  public byte[] encode() {
    return new JsonObject().put("seq", seq).put("audit", audit).put("delta", delta.toJson()).encode()
        .getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The entry in {@code payload}.
   *
   * @throws IllegalArgumentException when it is not one: invalid UTF-8 or JSON, or a field missing or mistyped
   */
  public static JournalEntry decode(byte[] payload) {
    try {
      JsonObject j = new JsonObject(strictUtf8(payload));
      Object seq = j.getValue("seq");
      JsonObject audit = j.getJsonObject("audit");
      JsonObject delta = j.getJsonObject("delta");
      if (!(seq instanceof Number n) || audit == null || delta == null) {
        throw new IllegalArgumentException("entry lacks seq, audit or delta: " + abbreviate(j.encode()));
      }
      return new JournalEntry(n.longValue(), audit, StateDelta.fromJson(delta));
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalArgumentException("entry is not valid JSON of the journal's form: " + e.getMessage(), e);
    }
  }

  /**
   * Encodes this entry and proves the bytes read back as written before anyone relies on them: decoded, the
   * entry has the same seq and audit, and its delta turns {@code before} into exactly {@code after}. A pin
   * weight of 1e309 once became the string "Infinity" on disk and every later start failed; this check turns
   * such a value into a refusal of the one command instead.
   *
   * @throws IllegalArgumentException naming what does not round-trip, with what was meant and what would be read
   */
  public byte[] encodeVerified(AdminState before, AdminState after) {
    byte[] bytes = encode();
    JournalEntry read;
    AdminState replayed;
    try {
      read = decode(bytes);
      replayed = read.delta().applyTo(before);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("journal entry " + seq + " would not read back: " + e.getMessage(), e);
    }
    if (read.seq() != seq) {
      throw mismatch("seq", seq, read.seq());
    }
    if (!read.audit().equals(audit)) {
      throw mismatch("audit", audit.encode(), read.audit().encode());
    }
    if (replayed.revision() != after.revision()) {
      throw mismatch("revision", after.revision(), replayed.revision());
    }
    check("regions", after.regions(), replayed.regions());
    check("promotions", after.promotions(), replayed.promotions());
    check("fenced", after.fenced(), replayed.fenced());
    check("pins", after.pins(), replayed.pins());
    check("frozen", after.frozen(), replayed.frozen());
    check("idempotency", after.idempotency(), replayed.idempotency());
    return bytes;
  }

  private void check(String what, Object meant, Object read) {
    if (Objects.equals(meant, read)) {
      return;
    }
    if (meant instanceof Map<?, ?> m && read instanceof Map<?, ?> r) { // name the key, not the whole section
      for (Object k : new TreeSet<Object>(m.keySet())) {
        if (!Objects.equals(m.get(k), r.get(k))) {
          throw mismatch(what + "." + k, m.get(k), r.get(k));
        }
      }
    }
    throw mismatch(what, meant, read);
  }

  private IllegalArgumentException mismatch(String what, Object meant, Object read) {
    return new IllegalArgumentException("journal entry " + seq + " would not read back: " + what + " "
        + abbreviate(String.valueOf(meant)) + " would be read as " + abbreviate(String.valueOf(read))
        + " (expected: values JSON can carry exactly: finite numbers, valid Unicode text)");
  }

  private static String strictUtf8(byte[] b) {
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("entry is not valid UTF-8: " + e.getMessage(), e);
    }
  }

  static String abbreviate(String s) {
    return s.length() <= 300 ? s : s.substring(0, 300) + "... (" + s.length() + " chars)";
  }
}
