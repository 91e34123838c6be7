package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.meridian.config.AdminConfig;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The seam a follower will forward at: every command, request and outcome survives JSON text unchanged, and a
 * record cannot be built with a value the admin API would refuse.
 */
class CommandJsonRoundTripTest {
  private static final List<Command> ALL = List.of(
      new Command.Drain("eu-west", "kernel upgrade", false, Duration.ofHours(2)),
      new Command.Undrain("eu-west", "done", true),
      new Command.Fail("us-west", "suspect NIC", true, Duration.ofMillis(1)),
      new Command.Restore("us-west", "ok", false),
      new Command.Promote("us-east", "us-central", "db failover", false),
      new Command.Promote("us-east", null, "configured successor", false),
      new Command.Unpromote("us-east", "back", false),
      new Command.Pin("50N8E", Map.of("eu-west", 3.0, "eu-central", Double.MIN_VALUE), "split", false,
          Command.MAX_EXPIRES_IN),
      new Command.Unpin("50N8E", "over", false),
      new Command.Freeze("incident \uD83D\uDD25", false, null),
      new Command.Unfreeze("over", false));

  @Test
  void everyCommandRequestAndOutcomeRoundTripsThroughJsonText() {
    for (Command c : ALL) {
      assertEquals(c, Command.fromJson(new JsonObject(c.toJson().encode())), c.toJson().encode());
      var req = new CommandRequest(c, new CommandRequest.Issuer("olga", AdminConfig.Role.OPERATOR), true, "k-1");
      assertEquals(req, CommandRequest.fromJson(new JsonObject(req.toJson().encode())));
    }
    Outcome refused = new Outcome.Refused(Refusal.INVALID_REQUEST.at("force", "yes", "true or false"));
    Outcome back = Outcome.fromJson(new JsonObject(refused.toJson().encode()));
    assertEquals(refused.body(), back.body());
    assertEquals(400, back.status());
    Outcome applied = new Outcome.Applied(new JsonObject().put("revision", 7), true);
    assertEquals(applied, Outcome.fromJson(new JsonObject(applied.toJson().encode())));
  }

  @Test
  void recordsRefuseWhatTheAdminApiRefuses() {
    var tooLong = assertThrows(Refusal.Exception.class,
        () -> new Command.Drain("eu-west", "x", false, Command.MAX_EXPIRES_IN.plusMillis(1)));
    assertEquals("expires_in", tooLong.field());
    var blank = assertThrows(Refusal.Exception.class, () -> new Command.Freeze("  ", false, null));
    assertEquals("reason", blank.field());
    var inf = assertThrows(Refusal.Exception.class,
        () -> new Command.Pin("50N8E", Map.of("eu-west", Double.POSITIVE_INFINITY), "x", false, null));
    assertEquals("weights.eu-west", inf.field());
    var key = assertThrows(Refusal.Exception.class, () -> new CommandRequest(new Command.Unfreeze("x", false),
        new CommandRequest.Issuer("olga", AdminConfig.Role.OPERATOR), false, "has space"));
    assertEquals("Idempotency-Key", key.field());
  }
}
