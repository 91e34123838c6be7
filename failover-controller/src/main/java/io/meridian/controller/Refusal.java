package io.meridian.controller;

import io.vertx.core.json.JsonObject;

/**
 * Why the admin API did not do what was asked: a closed set, each with the HTTP status it answers with and the
 * label it is counted under ({@code meridian_controller_refusals_total{rule}}), so responses, logs and metrics
 * agree. The safety rules follow Route 53 ARC's assertion and gating rules, plus capacity.
 */
public enum Refusal {
  /** No or unknown bearer token. */
  UNAUTHENTICATED(401, "unauthenticated", "a valid bearer token is required"),
  /** The token's role may not do this. */
  FORBIDDEN(403, "forbidden", "the token's role does not allow this"),
  /** {@code force} needs the admin role. */
  FORCE_REQUIRES_ADMIN(403, "force_requires_admin", "force needs the admin role"),
  /** Malformed request: missing reason, a field of the wrong type, an unknown field, bad duration or weights. */
  INVALID_REQUEST(400, "invalid_request", "the request is malformed"),
  /** Region, home or zone not in the configuration, or no such route. */
  NOT_FOUND(404, "not_found", "no such region, home, zone or route"),
  /** The route exists but not for this method (e.g. GET on a mutation). */
  METHOD_NOT_ALLOWED(405, "method_not_allowed", "the route does not take this method"),
  /** The body is larger than the admin API reads (64 KiB). */
  BODY_TOO_LARGE(413, "body_too_large", "the request body is too large"),
  /** The request line is longer than the admin API reads. */
  URI_TOO_LONG(414, "uri_too_long", "the request URI is too long"),
  /**
   * An Idempotency-Key already answered a different request (another route, body or token). Replaying the first
   * answer would drop the new command silently, so it is refused instead (as Stripe does).
   */
  IDEMPOTENCY_KEY_REUSED(422, "idempotency_key_reused", "the Idempotency-Key was used for a different request"),
  /** The request headers are larger than the admin API reads. */
  HEADERS_TOO_LARGE(431, "headers_too_large", "the request headers are too large"),
  /** Every region of a residency group would be out: its users would have nowhere to go. */
  RESIDENCY_GROUP_EMPTY(409, "residency_group_empty", "a residency group would be left without an active region"),
  /** More regions drained or failed by operators than {@code controller.max_concurrent_drains}. */
  TOO_MANY_DRAINS(409, "too_many_drains", "too many regions would be drained or failed at once"),
  /** The resulting plan would leave demand unplaced: some region would have to go past its limit. */
  CAPACITY_EXCEEDED(409, "capacity_exceeded", "the remaining regions lack the headroom for the moved traffic"),
  /** A promotion across residency groups, or to a region that is out. */
  RESIDENCY_VIOLATION(409, "residency_violation", "a home may only move within its residency group"),
  /** The request conflicts with the current state (e.g. restore a home that is not promoted). */
  CONFLICT(409, "conflict", "the request does not apply to the current state"),
  /**
   * The state store cannot make the change durable (disk full, I/O error): nothing was changed, and since a
   * change that is not durable must not be acknowledged, mutations are refused until a write succeeds again.
   * Every mutation retries the store. Reads, planning and the data planes carry on with the current state.
   */
  STATE_STORE_UNAVAILABLE(503, "state_store_unavailable",
      "the change cannot be made durable now; nothing was changed, retry later"),
  /**
   * This controller does not lead and knows no leader to forward the command to (an election is under way, or
   * the leader it knew stopped answering): nothing was changed; retry, the same Idempotency-Key applies it once.
   */
  NO_LEADER(503, "no_leader", "no controller leads now; nothing was changed, retry shortly");

  private final int status;
  private final String label;
  private final String summary;

  Refusal(int status, String label, String summary) {
    this.status = status;
    this.label = label;
    this.summary = summary;
  }

  public int status() {
    return status;
  }

  public String label() {
    return label;
  }

  public String summary() {
    return summary;
  }

  /** The JSON error body: the rule, its summary and the specific message with its numbers. */
  public JsonObject body(String message) {
    return new JsonObject().put("error", label).put("status", status).put("rule", name()).put("summary", summary)
        .put("message", message);
  }

  /**
   * Thrown inside the controller's lane (and by the command records' constructors) to refuse; carries the kind,
   * the specific message and, for bad input, the field, the value given and what was expected.
   */
  public static final class Exception extends RuntimeException {
    private final Refusal kind;
    private final String field;
    private final Object value;
    private final String expected;

    public Exception(Refusal kind, String message) {
      this(kind, message, null, null, null);
    }

    public Exception(Refusal kind, String message, String field, Object value, String expected) {
      super(message, null, false, false);
      this.kind = kind;
      this.field = field;
      this.value = value;
      this.expected = expected;
    }

    public Refusal kind() {
      return kind;
    }

    /** The field at fault ({@code reason}, {@code weights.eu-west}, {@code dry_run}, {@code Idempotency-Key}), or null. */
    public String field() {
      return field;
    }

    /** The value given (JSON-encodable: strings, finite numbers, booleans), or null. */
    public Object value() {
      return value;
    }

    /** What the field takes, or null. */
    public String expected() {
      return expected;
    }

    /** {@link Refusal#body(String)} with {@code field}, {@code value} and {@code expected} when known. */
    public JsonObject body() {
      JsonObject b = kind.body(getMessage());
      if (field != null) {
        b.put("field", field).put("value", value).put("expected", expected);
      }
      return b;
    }
  }

  public Exception with(String message) {
    return new Exception(this, message);
  }

  /**
   * A refusal of one field's value: the message reads {@code field: value (expected: ...)}, as config errors do,
   * and the body carries the three apart so a client need not parse the message.
   *
   * @param value the value as given; strings are shown JSON-quoted and cut at 200 characters, numbers JSON cannot
   *              carry (Infinity, NaN) as text
   */
  public Exception at(String field, Object value, String expected) {
    Object shown = value;
    if (value instanceof Double d && !Double.isFinite(d) || value instanceof Float f && !Float.isFinite(f)) {
      shown = String.valueOf(value);
    } else if (value instanceof String s && s.length() > 200) {
      shown = s.substring(0, 200) + "...";
    }
    String text = shown instanceof String s && !(value instanceof Double) && !(value instanceof Float)
        ? io.vertx.core.json.Json.encode(s) : String.valueOf(shown instanceof JsonObject j ? j.encode() : shown);
    return new Exception(this, field + ": " + text + " (expected: " + expected + ")", field, shown, expected);
  }

  /** {@link #at} with a description in place of a value that cannot or should not be echoed (too long, not Unicode). */
  public Exception atDescribed(String field, String description, String expected) {
    return new Exception(this, field + ": " + description + " (expected: " + expected + ")", field, description,
        expected);
  }
}
