package io.meridian.controller;

import io.vertx.core.Future;

/**
 * The one place where operator commands are judged and applied: the admin API's routes, a console, automation
 * and a controller forwarding to the leader all call {@link #submit}. It refuses what the caller may not do
 * ({@code force} without the admin role), replays or refuses a used Idempotency-Key, checks the targets exist,
 * applies the safety rules to the plan the command would lead to, previews dry runs, and journals an accepted
 * command durably before the outcome completes. Commands run one at a time, in submission order, on the
 * controller's worker lane; {@code submit} never blocks its caller.
 *
 * <pre>{@code
 * Commands commands = controllerRole.commands();
 * commands.submit(new CommandRequest(new Command.Drain("eu-west", "kernel upgrade", false, Duration.ofHours(2)),
 *     new CommandRequest.Issuer("olga", AdminConfig.Role.OPERATOR), false, "7f1c"))
 *   .onSuccess(outcome -> ...); // Applied, Preview or Refused
 * }</pre>
 *
 * <p>The future fails only on an internal error (a bug); every refusal is an {@link Outcome.Refused}.
 */
public interface Commands {

  Future<Outcome> submit(CommandRequest request);
}
