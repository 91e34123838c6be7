package io.meridian.controller;

import io.meridian.config.AdminConfig;
import io.vertx.core.json.JsonObject;
import java.util.Locale;

/**
 * A command with who issues it and how: what {@link Commands#submit} takes. Serialisable ({@link #toJson()},
 * {@link #fromJson(JsonObject)}) so that a controller that does not lead can hand it on as it is.
 *
 * @param command        what to do
 * @param issuer         who asks (already authenticated by whoever built the request)
 * @param dryRun         judge and preview only; nothing changes, no key is consulted or stored
 * @param idempotencyKey up to {@link #MAX_IDEMPOTENCY_KEY} visible ASCII characters, or null: a retry with the
 *                       same key and the same command and issuer gets the first answer; a different request with
 *                       it is refused ({@link Refusal#IDEMPOTENCY_KEY_REUSED})
 */
public record CommandRequest(Command command, Issuer issuer, boolean dryRun, String idempotencyKey) {
  /** Longest Idempotency-Key: UUIDs and hashes fit; up to 1,000 keys are stored. */
  public static final int MAX_IDEMPOTENCY_KEY = 255;

  public CommandRequest {
    if (command == null || issuer == null) {
      throw new IllegalArgumentException("command and issuer are required");
    }
    if (idempotencyKey != null) {
      boolean visible = idempotencyKey.chars().allMatch(c -> c > 0x20 && c < 0x7f);
      if (idempotencyKey.isEmpty() || idempotencyKey.length() > MAX_IDEMPOTENCY_KEY || !visible) {
        throw Refusal.INVALID_REQUEST.at("Idempotency-Key", idempotencyKey, "1 to " + MAX_IDEMPOTENCY_KEY
            + " visible ASCII characters, e.g. a UUID");
      }
    }
  }

  /** Who issues a command: a token's name and role, or the controller itself. */
  public record Issuer(String name, AdminConfig.Role role) {
    public Issuer {
      if (name == null || role == null) {
        throw new IllegalArgumentException("issuer name and role are required");
      }
    }

    public boolean may(AdminConfig.Role needed) {
      return role.ordinal() >= needed.ordinal();
    }
  }

  public JsonObject toJson() {
    return new JsonObject().put("command", command.toJson()).put("issuer", new JsonObject().put("name", issuer.name())
        .put("role", issuer.role().name().toLowerCase(Locale.ROOT))).put("dry_run", dryRun)
        .put("idempotency_key", idempotencyKey);
  }

  public static CommandRequest fromJson(JsonObject j) {
    JsonObject i = j.getJsonObject("issuer");
    return new CommandRequest(Command.fromJson(j.getJsonObject("command")), new Issuer(i.getString("name"),
        AdminConfig.Role.valueOf(i.getString("role").toUpperCase(Locale.ROOT))), j.getBoolean("dry_run", false),
        j.getString("idempotency_key"));
  }
}
