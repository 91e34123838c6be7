package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.controller.cli.Ctl;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code meridian ctl}'s grammar, usage errors and exit codes, one row per invocation, run in order against a real
 * admin API: every admin route has its command, each command takes only its route's options, and the exit code says
 * what happened (0 done, 1 refused by a rule, 2 usage, 3 auth, 4 unreachable or 5xx).
 */
@ExtendWith(VertxExtension.class)
class CtlCommandsTest {
  /** args ("ADMIN" is the API's URL); exit code; a text that must be in stdout (or, prefixed "err:", in stderr). */
  record Row(String args, int exit, String expect) {}

  static final String OP = "--admin ADMIN --token operator-token ";

  static final List<Row> ROWS = List.of(
      // help and usage: nothing is sent
      new Row("--help", 0, "Exit codes:"),
      new Row("--help", 0, "pin"),
      new Row("--help", 0, "3   authentication or permission"),
      new Row("drain --help", 0, "--expires=DURATION"),
      new Row("", 2, "err:a command is required"),
      new Row("bogus", 2, "err:Unmatched argument"),
      new Row(OP + "undrain us-east --reason x --expires 2h", 2, "err:Unknown options: '--expires'"),
      new Row(OP + "unpin 50N8E --reason x --to us-east", 2, "err:Unknown option"),
      new Row(OP + "restore us-east --reason x --to us-west", 2, "err:Unknown option"),
      new Row(OP + "status --reason x", 2, "err:Unknown option"),
      new Row(OP + "drain", 2, "err:Missing required parameter: 'REGION'"),
      new Row(OP + "drain us-east", 2, "err:--reason is required for drain"),
      new Row(OP + "freeze --reason ' '", 2, "err:--reason is required for freeze"),
      new Row(OP + "pin 50N8E --reason x", 2, "err:pin needs either --to REGION or --weight"),
      new Row(OP + "pin 50N8E --reason x --to us-east --weight us-west=1", 2, "err:not both"),
      new Row(OP + "status --output yaml", 2, "err:Invalid value for option '--output'"),
      new Row("--admin http://127.0.0.1:1 status", 4, "err:cannot reach the admin API"),
      // auth: 401 and 403 are 3
      new Row("--admin ADMIN --token nobody status", 3, "err:REFUSED (401"),
      new Row("--admin ADMIN --token viewer-token fail us-west --reason x", 3, "err:REFUSED (403 FORBIDDEN)"),
      new Row(OP + "drain us-west --reason x --force --dry-run", 3, "err:REFUSED (403"),
      // reads
      new Row("--admin ADMIN --token viewer-token status", 0, "REGION"),
      new Row("--admin ADMIN --token viewer-token status", 0, "READY NOW/PEAK"),
      new Row("--admin ADMIN --token viewer-token --output json status", 0, "\"regions\""),
      new Row("--admin ADMIN status --token viewer-token --output json", 0, "\"plan_version\""),
      new Row("--admin ADMIN --token viewer-token whoami", 0, "vic (viewer)"),
      new Row("--admin ADMIN --token viewer-token whoami --output json", 0, "\"role\""),
      // changes, with the options each route takes
      new Row(OP + "drain us-east --reason patch --dry-run", 0, "DRY RUN: drain us-east"),
      new Row(OP + "drain us-east --reason patch --expires 2h", 0, "APPLIED: drain us-east"),
      new Row(OP + "undrain us-east --reason done", 0, "APPLIED: undrain us-east"),
      new Row(OP + "fail us-west --reason test --expires 30m --output json", 0, "\"action\""),
      new Row(OP + "restore us-west --reason back", 0, "APPLIED: restore us-west"),
      new Row(OP + "drain eu-west --reason x", 1, "err:REFUSED (409"),
      new Row(OP + "drain eu-west --reason x --output json", 1, "\"rule\""),
      new Row(OP + "promote us-east --to eu-west --reason x", 1, "err:RESIDENCY_VIOLATION"),
      new Row(OP + "promote us-east --to us-west --reason drill --dry-run", 0, "DRY RUN: promote us-east"),
      new Row(OP + "promote us-east --to us-west --reason drill", 0, "users homed in us-east move from"),
      new Row(OP + "unpromote us-east --reason 'caught up'", 0, "APPLIED:"),
      new Row(OP + "pin 50N8E --to us-west --reason test --expires 1h", 0, "APPLIED:"),
      new Row(OP + "pin 51N8E --weight us-east=3 --weight us-west=1 --reason split", 0, "APPLIED:"),
      new Row(OP + "pin 52N8E --weight us-east=-1 --reason bad", 1, "err:REFUSED (400"),
      new Row(OP + "unpin 50N8E --reason done", 0, "APPLIED:"),
      new Row(OP + "freeze --reason 'change window' --expires 1h", 0, "APPLIED:"),
      new Row("--admin ADMIN --token viewer-token status", 0, "AUTOMATION FROZEN: change window"),
      new Row(OP + "unfreeze --reason over", 0, "APPLIED:"),
      new Row("--admin ADMIN --token viewer-token audit --limit 3", 0, "REASON"),
      new Row("--admin ADMIN --token viewer-token audit --limit 1", 0, " olga "), // who did it: the token's name
      new Row("--admin ADMIN --token viewer-token audit --limit 3 --output json", 0, "over"));

  @Test
  void everyRowExitsAndPrintsAsTheTableSays(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "demand_estimates: {39N78W: 400}\n",
        TestDeployment.tokensYaml())) {
      d.evaluate();
      List<String> failures = new ArrayList<>();
      for (Row row : ROWS) {
        CtlTest.Out r = CtlTest.ctl(words(row.args().replace("ADMIN", d.baseUrl())));
        boolean inErr = row.expect().startsWith("err:");
        String want = inErr ? row.expect().substring(4) : row.expect();
        if (r.code() != row.exit() || !(inErr ? r.err() : r.out()).contains(want)) {
          failures.add("ctl " + row.args() + " -> exit " + r.code() + " (want " + row.exit() + ", '" + want
              + "')\n  out: " + r.out() + "\n  err: " + r.err());
        }
        if (row.args().contains("--output json") && row.exit() != 2) {
          io.vertx.core.json.Json.decodeValue(r.out().trim()); // the API's answer as is: one JSON document
        }
        assertTrue(!(r.out() + r.err()).contains("\u001b["), "no ANSI escapes: " + r.out() + r.err());
      }
      assertEquals(List.of(), failures, String.join("\n", failures));
    }
  }

  /** Splits on spaces, keeping 'single-quoted' words (the reason ' ' included) together. */
  static String[] words(String s) {
    List<String> out = new ArrayList<>();
    StringBuilder w = new StringBuilder();
    boolean quoted = false;
    boolean any = false;
    for (char ch : s.toCharArray()) {
      if (ch == '\'') {
        quoted = !quoted;
        any = true;
      } else if (ch == ' ' && !quoted) {
        if (any) {
          out.add(w.toString());
        }
        w.setLength(0);
        any = false;
      } else {
        w.append(ch);
        any = true;
      }
    }
    if (any) {
      out.add(w.toString());
    }
    return out.toArray(String[]::new);
  }
}
