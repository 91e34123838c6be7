package io.meridian.controller.impl;

import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The last {@link JournalSnapshot#AUDIT_KEPT} audit entries, oldest first: what {@code GET /v1/audit} answers from
 * and what every snapshot carries, so the audit survives compaction. Not thread-safe: its store guards it.
 */
final class AuditWindow {
  private final Deque<JsonObject> entries = new ArrayDeque<>();

  void add(JsonObject audit) {
    entries.addLast(audit);
    while (entries.size() > JournalSnapshot.AUDIT_KEPT) {
      entries.removeFirst();
    }
  }

  /** The last {@code limit} entries, oldest first. */
  List<JsonObject> last(int limit) {
    List<JsonObject> all = new ArrayList<>(entries);
    return all.subList(Math.max(0, all.size() - limit), all.size());
  }

  /** All kept entries, for a snapshot. */
  List<JsonObject> all() {
    return new ArrayList<>(entries);
  }
}
