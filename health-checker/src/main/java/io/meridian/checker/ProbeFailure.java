package io.meridian.checker;

/**
 * Why a probe failed: a closed taxonomy, so the evidence API, logs and the {@code result} label of
 * {@code meridian_checker_probes_total} always agree (as Zuul's {@code OutboundErrorType} does for proxying).
 */
public enum ProbeFailure {
  REFUSED("refused", "connection refused"),
  TIMEOUT("timeout", "no complete answer within the timeout"),
  TLS("tls", "TLS handshake failed"),
  CLOSED("closed", "connection closed before a complete response"),
  STATUS("status", "unexpected HTTP status"),
  BODY("body", "response body does not contain the expected text"),
  PROTOCOL("protocol", "malformed response"),
  RCODE("rcode", "DNS answer with an error rcode"),
  EMPTY("empty", "DNS answer without records"),
  NETWORK("network", "other network error");

  private final String label;
  private final String reason;

  ProbeFailure(String label, String reason) {
    this.label = label;
    this.reason = reason;
  }

  /** The metric label value. */
  public String label() {
    return label;
  }

  /** A human explanation. */
  public String reason() {
    return reason;
  }
}
