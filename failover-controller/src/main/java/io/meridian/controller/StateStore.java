package io.meridian.controller;

import io.meridian.controller.impl.EmbeddedStateStore;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Where operators' decisions and the audit trail live. Every accepted mutation is one {@link #append}: the audit
 * entry and what changed in {@link AdminState} are written together and are durable when the call returns, so
 * nothing acknowledged to an operator is lost, even on kill -9 or power loss. Calls block (disk or network):
 * the controller makes them from its worker lane, never from an event loop.
 *
 * <p>The embedded implementation keeps a snapshot and an fsync'd journal of entries (audit entry + state delta,
 * {@code impl.JournalEntry}) on local disk, with a commit record that tells a torn last write from lost data; a
 * later implementation keeps the same entries in etcd.
 */
public interface StateStore extends AutoCloseable {

  /** The journal in {@code dir} (created if missing). */
  static StateStore embedded(Path dir) throws IOException {
    return EmbeddedStateStore.open(dir);
  }

  /** The state after the last durable append, or {@link AdminState#EMPTY}. */
  AdminState load();

  /**
   * Appends an audit entry and the state it produced, durably; returns when both are on stable storage. What is
   * stored is the difference between the state after the last successful append (or {@link #load()}) and
   * {@code after}, so a change whose own append failed is carried by the next one that succeeds.
   *
   * @throws IOException              nothing could be made durable; nothing of this call was kept (the admin API
   *                                  answers 503 {@link Refusal#STATE_STORE_UNAVAILABLE}); the next call retries
   * @throws IllegalArgumentException the entry would not read back exactly (e.g. a number JSON cannot carry);
   *                                  nothing was written
   */
  void append(JsonObject auditEntry, AdminState after) throws IOException;

  /** The last {@code limit} audit entries (at most the last 1,000 are kept), oldest first. */
  List<JsonObject> audit(int limit);

  @Override
  void close();
}
