package io.meridian.core;

import io.meridian.config.MeridianConfig;
import io.vertx.core.Future;

/**
 * One of Meridian's four roles (dns, proxy, checker, controller) as the launcher runs it. Each module exposes a
 * static factory taking a {@link RoleContext}; {@code meridian run --roles ...} starts any subset in one process.
 */
public interface Role {
  /** Short name: dns, proxy, checker or controller. */
  String name();

  /** Binds listeners and starts timers; completes when the role serves. */
  Future<Void> start();

  /** Applies a new, already validated configuration (live reload). Must not block. */
  void reconfigure(MeridianConfig config);

  /** Stops listeners and timers. */
  Future<Void> stop();
}
