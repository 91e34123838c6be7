package io.meridian.controller;

import io.meridian.controller.impl.EmbeddedStateStore;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Where operators' decisions and the audit trail live. Every accepted mutation is one {@link #append}: the audit
 * entry and the resulting {@link AdminState} are written together and are durable when the call returns, so
 * nothing acknowledged to an operator is lost, even on kill -9 or power loss. Calls block (disk or network):
 * the controller makes them from its worker lane, never from an event loop.
 *
 * <p>The embedded implementation keeps an append-only, fsync'd journal on local disk; a later implementation
 * keeps the same two things in etcd.
 */
public interface StateStore extends AutoCloseable {

  /** The journal in {@code dir} (created if missing). */
  static StateStore embedded(Path dir) throws IOException {
    return EmbeddedStateStore.open(dir);
  }

  /** The state after the last durable append, or {@link AdminState#EMPTY}. */
  AdminState load();

  /** Appends an audit entry and the state it produced, durably; returns when both are on stable storage. */
  void append(JsonObject auditEntry, AdminState after) throws IOException;

  /** The last {@code limit} audit entries, oldest first. */
  List<JsonObject> audit(int limit);

  @Override
  void close();
}
