package io.meridian.proxy;

/**
 * Every way a proxied request can end without an upstream's own response, as one closed list: each carries the
 * status returned to the client, the metric label and a human reason, so the response body, the access log and
 * the metrics always agree (the same idea as Zuul's {@code OutboundErrorType}).
 */
public enum ProxyOutcome {
  /** Routes are configured and none matches host, path and method. */
  NO_ROUTE(404, "no_route", "no route matches this request"),
  /** No region is eligible under the plan (all failed, drained, or excluded). */
  NO_ELIGIBLE_REGION(503, "no_region", "no eligible region for this request"),
  /** A strong-consistency route whose home region cannot serve: fail closed rather than write elsewhere. */
  HOME_UNAVAILABLE(503, "home_unavailable", "the home region for this user is unavailable"),
  /** Residency enforced and no region of the user's residency group can serve. */
  RESIDENCY_REFUSED(503, "residency_refused", "no region in the user's residency group is available"),
  /** The chosen region's concurrency limit is reached. */
  SHED(503, "shed", "region at its concurrency limit; retry later"),
  /** Every region this request could go to is at this proxy's share of its allowed rate. */
  OVER_CAPACITY(503, "over_capacity", "every eligible region is at its allowed rate; retry later"),
  /** The plan could not place all of this client zone's demand and this request fell in the shed fraction. */
  PLAN_SHORTFALL(503, "plan_shortfall", "no capacity is planned for this request's share of its zone; retry later"),
  /** Every upstream attempt failed to connect or was reset before a response. */
  UPSTREAM_UNREACHABLE(502, "upstream_unreachable", "could not reach an upstream"),
  /** No connection to the chosen upstream came free in {@code upstream_pool.queue_timeout}, or its queue is full. */
  UPSTREAM_BUSY(503, "upstream_busy", "no connection to the upstream came free in time; retry later"),
  /** The upstream did not send response headers within the response timeout. */
  UPSTREAM_TIMEOUT(504, "upstream_timeout", "the upstream did not answer in time"),
  /** The upstream failed after the request body had started to stream, so it cannot be retried. */
  UPSTREAM_FAILED(502, "upstream_failed", "the upstream failed while the request was in flight"),
  /** The client stopped sending its request body for longer than {@code limits.body_idle_timeout}. */
  BODY_TIMEOUT(408, "body_timeout", "the request body stalled longer than the body idle timeout"),
  /** A malformed or dangerous request (smuggling shapes, bad headers). */
  BAD_REQUEST(400, "bad_request", "malformed request"),
  /** A request body above the configured limit. */
  BODY_TOO_LARGE(413, "body_too_large", "request body exceeds the configured limit"),
  /** A request URI above the configured limit. */
  URI_TOO_LONG(414, "uri_too_long", "request URI exceeds the configured limit"),
  /** Too many or too large request headers. */
  HEADERS_TOO_LARGE(431, "headers_too_large", "request headers exceed the configured limits");

  private final int status;
  private final String label;
  private final String reason;

  ProxyOutcome(int status, String label, String reason) {
    this.status = status;
    this.label = label;
    this.reason = reason;
  }

  /** HTTP status returned to the client. */
  public int status() {
    return status;
  }

  /** Value of the {@code outcome} metric label. */
  public String label() {
    return label;
  }

  /** Whether the response carries Retry-After: the request was refused for load, not for what it is. */
  public boolean retryAfter() {
    return this == SHED || this == OVER_CAPACITY || this == PLAN_SHORTFALL || this == UPSTREAM_BUSY;
  }

  /** Human-readable reason, used in the JSON error body. */
  public String reason() {
    return reason;
  }
}
