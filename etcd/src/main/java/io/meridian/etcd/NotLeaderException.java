package io.meridian.etcd;

import java.util.Optional;

/**
 * A write guarded by a {@link WriteFence} was refused because the writer no longer holds the leadership it was
 * fenced on (it was deposed, possibly while it still believed it led), or never held it. Nothing was written. The
 * caller stops acting as leader; {@link #leader()} says who leads now, when known, so a command can be forwarded.
 */
public final class NotLeaderException extends IllegalStateException {
  private static final long serialVersionUID = 1L;
  private final transient LeaderInfo leader;

  public NotLeaderException(String message, LeaderInfo leader) {
    super(message);
    this.leader = leader;
  }

  /** The leader when the refusal was explained, or empty when none holds the key at that moment. */
  public Optional<LeaderInfo> leader() {
    return Optional.ofNullable(leader);
  }
}
