package io.meridian.etcd;

/**
 * etcd answered with a gRPC error, or could not be reached. {@link #status()} is the gRPC status code
 * ({@code 14} unavailable, {@code 11} out of range for a compacted revision, {@code 16} unauthenticated, ...),
 * or -1 when no endpoint answered.
 */
public final class EtcdException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int status;

  public EtcdException(int status, String message) {
    super(message);
    this.status = status;
  }

  public EtcdException(String message, Throwable cause) {
    super(message, cause);
    this.status = -1;
  }

  public int status() {
    return status;
  }

  /** True when the request may be retried on another endpoint or later (unavailable, deadline, transport). */
  public boolean retryable() {
    return status == -1 || status == 14 || status == 4 || status == 1;
  }
}
