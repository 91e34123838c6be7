package io.meridian.controller.cli;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * {@code meridian ctl}: the admin API from a terminal, printing readable tables.
 *
 * <pre>
 * meridian ctl status
 * meridian ctl drain eu-west --reason "kernel upgrade" --dry-run
 * meridian ctl drain eu-west --reason "kernel upgrade" [--force] [--expires 2h]
 * meridian ctl undrain|fail|restore REGION --reason ...
 * meridian ctl promote HOME [--to SUCCESSOR] --reason ...
 * meridian ctl unpromote HOME --reason ...
 * meridian ctl freeze|unfreeze --reason ...
 * meridian ctl events [--count N]
 * options: --admin URL (default http://127.0.0.1:9090), --token T (default: $MERIDIAN_TOKEN)
 * </pre>
 *
 * The token is one whose SHA-256 is listed under {@code admin.tokens} of the controller's config, with a role that
 * allows the command (viewer: status, events; operator: changes; admin: --force).
 *
 * Exit codes: 0 done, 1 refused or failed, 2 usage error.
 */
public final class Ctl {
  private static final String USAGE = """
      usage: meridian ctl [--admin URL] [--token TOKEN] COMMAND
        status                                   regions, lifecycle, load and utilisation
        drain REGION --reason R [--dry-run] [--force] [--expires 2h]
        undrain REGION --reason R [--dry-run]
        fail REGION --reason R [--dry-run] [--expires 30m]
        restore REGION --reason R [--dry-run]
        promote HOME [--to SUCCESSOR] --reason R [--dry-run]
        unpromote HOME --reason R [--dry-run]    give a promoted home back and lift its fence
        freeze --reason R [--expires 1h]   |   unfreeze --reason R
        events [--count N]                       follow the event stream

      --admin URL    the controller's admin API (controller.admin_listen); default http://127.0.0.1:9090
      --token TOKEN  a bearer token whose SHA-256 is listed under admin.tokens in the controller's config
                     (default: $MERIDIAN_TOKEN). Its role decides what it may do: viewer reads (status,
                     events), operator also changes (drain, promote, ...), admin also --force. Make one with
                       token=$(openssl rand -hex 24); printf %s "$token" | sha256sum
                     and put the hash, a name and a role in the config (tokens reload live). Without a
                     token the API answers 401, unless the config lists no tokens and the API listens on
                     loopback only. The demo's token is demo-admin-token.
      exit codes: 0 done, 1 refused or failed, 2 usage error""";

  private Ctl() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  public static int run(String[] args, PrintStream out, PrintStream err) {
    String admin = "http://127.0.0.1:9090";
    String token = System.getenv("MERIDIAN_TOKEN");
    String reason = null;
    String to = null;
    String expires = null;
    boolean dryRun = false;
    boolean force = false;
    int count = Integer.MAX_VALUE;
    List<String> words = new ArrayList<>();
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--admin" -> admin = value(args, ++i, "--admin");
          case "--token" -> token = value(args, ++i, "--token");
          case "--reason" -> reason = value(args, ++i, "--reason");
          case "--to" -> to = value(args, ++i, "--to");
          case "--expires" -> expires = value(args, ++i, "--expires");
          case "--count" -> count = Integer.parseInt(value(args, ++i, "--count"));
          case "--dry-run" -> dryRun = true;
          case "--force" -> force = true;
          case "-h", "--help" -> {
            out.println(USAGE);
            return 0;
          }
          default -> {
            if (args[i].startsWith("--")) {
              throw new IllegalArgumentException("unknown option " + args[i]);
            }
            words.add(args[i]);
          }
        }
      }
      if (words.isEmpty()) {
        throw new IllegalArgumentException("a command is required");
      }
    } catch (IllegalArgumentException e) {
      err.println("meridian ctl: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    Client c = new Client(admin.replaceAll("/+$", ""), token);
    String cmd = words.get(0);
    try {
      switch (cmd) {
        case "status" -> {
          return status(c, out, err);
        }
        case "events" -> {
          return events(c, count, out, err);
        }
        case "drain", "undrain", "fail", "restore", "promote", "unpromote", "freeze", "unfreeze" -> {
          boolean needsTarget = !cmd.equals("freeze") && !cmd.equals("unfreeze");
          if (needsTarget && words.size() < 2) {
            err.println("meridian ctl: " + cmd + " needs a region");
            return 2;
          }
          if (reason == null || reason.isBlank()) {
            err.println("meridian ctl: --reason is required for " + cmd + " (it goes to the audit log)");
            return 2;
          }
          String path = switch (cmd) {
            case "promote" -> "/v1/homes/" + words.get(1) + "/promote";
            case "unpromote" -> "/v1/homes/" + words.get(1) + "/restore";
            case "freeze", "unfreeze" -> "/v1/" + cmd;
            default -> "/v1/regions/" + words.get(1) + "/" + cmd;
          };
          JsonObject body = new JsonObject().put("reason", reason);
          if (force) {
            body.put("force", true);
          }
          if (to != null) {
            body.put("to", to);
          }
          if (expires != null) {
            body.put("expires_in", expires);
          }
          return mutate(c, path + (dryRun ? "?dry_run=true" : ""), body, out, err);
        }
        default -> {
          err.println("meridian ctl: unknown command '" + cmd + "'");
          err.println(USAGE);
          return 2;
        }
      }
    } catch (IOException e) {
      err.println("meridian ctl: cannot reach the admin API at " + admin + ": " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  private static String value(String[] args, int i, String opt) {
    if (i >= args.length) {
      throw new IllegalArgumentException(opt + " needs a value");
    }
    return args[i];
  }

  private static int status(Client c, PrintStream out, PrintStream err) throws IOException, InterruptedException {
    HttpResponse<String> res = c.send("GET", "/v1/regions", null);
    JsonObject body = parse(res.body());
    if (res.statusCode() != 200) {
      return refused(res.statusCode(), body, err);
    }
    out.printf(Locale.ROOT, "plan v%d   shortfall %.1f rps%s%n", body.getLong("plan_version"),
        body.getDouble("shortfall_rps", 0.0), body.getJsonObject("frozen") == null ? ""
            : "   AUTOMATION FROZEN: " + body.getJsonObject("frozen").getString("reason"));
    JsonObject ctl = body.getJsonObject("controller");
    if (ctl != null && !"single".equals(ctl.getString("role"))) {
      // with several controllers: who decides now, and whether the one asked is it
      JsonObject l = ctl.getJsonObject("leader");
      out.printf(Locale.ROOT, "leader %s   asked: %s (%s)%n", l == null ? "NONE (election under way; changes"
          + " are refused with 503 no_leader)" : l.getString("id") + " at " + l.getString("url") + " (term "
          + l.getLong("term") + ")", ctl.getString("id"), ctl.getString("role"));
    }
    out.printf(Locale.ROOT, "%-14s %-8s %-9s %-11s %6s %9s %9s %6s  %s%n", "REGION", "GROUP", "HEALTH",
        "LIFECYCLE", "SHARE", "LOAD", "CAPACITY", "UTIL", "NOTE / OVERRIDE");
    for (Object o : body.getJsonArray("regions")) {
      JsonObject r = (JsonObject) o;
      JsonObject ov = r.getJsonObject("override");
      String note = ov != null ? ov.getString("mode") + " by " + ov.getString("by") + ": " + ov.getString("reason")
          : r.getString("note", "");
      out.printf(Locale.ROOT, "%-14s %-8s %-9s %-11s %6.2f %9.1f %9.0f %5.0f%%  %s%n", r.getString("id"),
          r.getString("residency_group"), r.getString("health"), r.getString("lifecycle"),
          r.getDouble("traffic_share"), r.getDouble("load_rps"), r.getDouble("capacity_rps"),
          100 * r.getDouble("utilisation", 0.0), note);
    }
    return 0;
  }

  private static int mutate(Client c, String path, JsonObject body, PrintStream out, PrintStream err)
      throws IOException, InterruptedException {
    HttpResponse<String> res = c.send("POST", path, body.encode());
    JsonObject r = parse(res.body());
    if (res.statusCode() != 200) {
      return refused(res.statusCode(), r, err);
    }
    boolean dry = r.getBoolean("dry_run", false);
    out.printf(Locale.ROOT, "%s %s %s%s (reason: %s)%n", dry ? "DRY RUN:" : "APPLIED:", r.getString("action"),
        r.getString("target"), r.getBoolean("force", false) ? " (forced)" : "", r.getString("reason"));
    JsonObject p = r.getJsonObject("predicted");
    out.printf(Locale.ROOT, "%-14s %-11s %12s %10s %10s %6s%n", "REGION", "LIFECYCLE", "PREDICTED", "LIMIT",
        "CAPACITY", "UTIL");
    for (Object o : p.getJsonArray("regions")) {
      JsonObject x = (JsonObject) o;
      out.printf(Locale.ROOT, "%-14s %-11s %12.1f %10.1f %10.0f %5.0f%%%n", x.getString("id"),
          x.getString("lifecycle"), x.getDouble("predicted_load_rps"), x.getDouble("limit_rps"),
          x.getDouble("capacity_rps"), 100 * x.getDouble("predicted_utilisation"));
    }
    out.printf(Locale.ROOT, "shortfall: %.1f rps%n", p.getDouble("shortfall_rps"));
    JsonArray homes = p.getJsonArray("homes_moving", new JsonArray());
    for (Object o : homes) {
      JsonObject h = (JsonObject) o;
      out.printf(Locale.ROOT, "users homed in %s move from %s to %s; data-loss risk: %s%n", h.getString("home"),
          h.getString("from"), h.getString("to"), h.getString("data_loss_risk", String.valueOf(
              h.getValue("replication_lag"))));
    }
    if (!dry) {
      out.println("revision " + r.getLong("revision") + (r.getBoolean("replayed", false) ? " (replayed)" : ""));
      if ("drain".equals(r.getString("action"))) {
        // the table above is where the drain ends; the way there is paced, which the answer does not show
        out.println(r.getString("target") + " drains in steps (controller.drain_step every drain_interval), each"
            + " only within the other regions' headroom: follow it with 'meridian ctl status' or 'meridian ctl"
            + " events'");
      }
    }
    return 0;
  }

  private static int events(Client c, int count, PrintStream out, PrintStream err)
      throws IOException, InterruptedException {
    HttpResponse<java.io.InputStream> res = c.stream("/v1/events");
    if (res.statusCode() != 200) {
      return refused(res.statusCode(), parse(new String(res.body().readAllBytes(), StandardCharsets.UTF_8)), err);
    }
    int seen = 0;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
      String line;
      while (seen < count && (line = r.readLine()) != null) {
        if (line.startsWith("data: ")) {
          JsonObject e = parse(line.substring(6));
          out.printf(Locale.ROOT, "%s  %-18s %-12s %s%n", e.getString("at"), e.getString("type"),
              e.getString("region") == null ? "-" : e.getString("region"), e.getString("message"));
          out.flush();
          seen++;
        }
      }
    }
    return 0;
  }

  private static int refused(int status, JsonObject body, PrintStream err) {
    err.printf(Locale.ROOT, "REFUSED (%d %s): %s%n", status, body.getString("rule", body.getString("error", "?")),
        body.getString("message", body.encode()));
    if (status == 401) {
      err.println("pass --token TOKEN or set MERIDIAN_TOKEN: a token whose SHA-256 is listed under admin.tokens"
          + " in the controller's config (see 'meridian ctl --help')");
    }
    return 1;
  }

  private static JsonObject parse(String s) {
    try {
      return new JsonObject(s);
    } catch (DecodeException e) {
      return new JsonObject().put("error", "not json").put("message", s);
    }
  }

  private record Client(String base, String token) {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    HttpRequest.Builder request(String path) {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
      if (token != null && !token.isBlank()) {
        b.header("Authorization", "Bearer " + token);
      }
      return b;
    }

    HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
      HttpRequest.Builder b = request(path).timeout(Duration.ofSeconds(30));
      if (body != null) {
        // one key per invocation: a retry by the HTTP layer cannot apply the change twice
        b.header("content-type", "application/json").header("Idempotency-Key", UUID.randomUUID().toString());
      }
      b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
      return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<java.io.InputStream> stream(String path) throws IOException, InterruptedException {
      return HTTP.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    }
  }
}
