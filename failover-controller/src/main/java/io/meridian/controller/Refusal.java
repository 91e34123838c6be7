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
  /** Malformed request: missing reason, bad duration, bad weights. */
  INVALID_REQUEST(400, "invalid_request", "the request is malformed"),
  /** Region, home or zone not in the configuration. */
  NOT_FOUND(404, "not_found", "no such region, home or zone"),
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
      "the change cannot be made durable now; nothing was changed, retry later");

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

  /** Thrown inside the controller's lane to refuse; carries the kind and the specific message. */
  public static final class Exception extends RuntimeException {
    private final Refusal kind;

    public Exception(Refusal kind, String message) {
      super(message, null, false, false);
      this.kind = kind;
    }

    public Refusal kind() {
      return kind;
    }
  }

  public Exception with(String message) {
    return new Exception(this, message);
  }
}
