package io.meridian.controller;

import io.vertx.core.json.JsonObject;

/**
 * What became of a {@link CommandRequest}: applied (durable before this exists), previewed (a dry run), or
 * refused with its rule and numbers. Serialisable, so a forwarded command's outcome travels back unchanged.
 */
public sealed interface Outcome {

  /** The HTTP status it answers with: 200, or the refusal's 4xx/503. */
  int status();

  /** The answer's JSON body (the admin API's response). */
  JsonObject body();

  /**
   * The command is journaled and in force.
   *
   * @param answer   action, target, reason, by, force, revision, predicted (regions, shortfall, homes moving)
   * @param replayed the first answer given for this Idempotency-Key, returned again
   */
  record Applied(JsonObject answer, boolean replayed) implements Outcome {
    public Applied {
      answer = answer.copy();
    }

    public int status() {
      return 200;
    }

    public JsonObject body() {
      return answer.copy();
    }
  }

  /** A dry run: what the command would do (predicted load per region, the plan); nothing changed. */
  record Preview(JsonObject answer) implements Outcome {
    public Preview {
      answer = answer.copy();
    }

    public int status() {
      return 200;
    }

    public JsonObject body() {
      return answer.copy();
    }
  }

  /** Not done: the rule, the message with its numbers, and for bad input the field, value and expectation. */
  record Refused(Refusal.Exception refusal) implements Outcome {
    public int status() {
      return refusal.kind().status();
    }

    public Refusal rule() {
      return refusal.kind();
    }

    public JsonObject body() {
      return refusal.body();
    }
  }

  default JsonObject toJson() {
    String kind = this instanceof Applied ? "applied" : this instanceof Preview ? "preview" : "refused";
    JsonObject j = new JsonObject().put("outcome", kind).put("body", body());
    if (this instanceof Applied a) {
      j.put("replayed", a.replayed());
    }
    return j;
  }

  static Outcome fromJson(JsonObject j) {
    JsonObject b = j.getJsonObject("body");
    return switch (j.getString("outcome")) {
      case "applied" -> new Applied(b, j.getBoolean("replayed", false));
      case "preview" -> new Preview(b);
      case "refused" -> new Refused(new Refusal.Exception(Refusal.valueOf(b.getString("rule")), b.getString("message"),
          b.getString("field"), b.getValue("value"), b.getString("expected")));
      default -> throw new IllegalArgumentException("outcome: '" + j.getString("outcome")
          + "' (expected: applied, preview or refused)");
    };
  }
}
