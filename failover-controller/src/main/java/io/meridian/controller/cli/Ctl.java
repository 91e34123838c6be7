package io.meridian.controller.cli;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code meridian ctl}: the admin API from a terminal, as readable tables or as the API's JSON answers.
 *
 * <p>One subcommand per admin API read and mutation (see openapi.json): status, events, audit, whoami; drain,
 * undrain, fail, restore (regions); promote, unpromote (homes); pin, unpin (client zones); freeze, unfreeze. A
 * subcommand takes only the options its route takes: anything else is a usage error here and is never sent.
 *
 * <p>Exit codes: 0 done, 1 refused by a rule (a 4xx other than 401/403), 2 usage error, 3 authentication or
 * permission (401, 403), 4 admin API unreachable or failing (5xx).
 */
@Command(name = "ctl", mixinStandardHelpOptions = true, version = "meridian 0.1.0",
    description = "Operate a running controller through its admin API.",
    synopsisSubcommandLabel = "COMMAND",
    subcommands = {Ctl.Status.class, Ctl.Events.class, Ctl.Audit.class, Ctl.Whoami.class, Ctl.Drain.class,
        Ctl.Undrain.class, Ctl.Fail.class, Ctl.Restore.class, Ctl.Promote.class, Ctl.Unpromote.class,
        Ctl.Pin.class, Ctl.Unpin.class, Ctl.Freeze.class, Ctl.Unfreeze.class},
    footerHeading = "%n",
    footer = {
        "The token is one whose SHA-256 is listed under admin.tokens in the controller's config (default:"
            + " $MERIDIAN_TOKEN). Its role decides what it may do: viewer reads (status, events, audit, whoami),"
            + " operator also changes (drain, promote, pin, ...), admin also --force. Make one with",
        "  token=$(openssl rand -hex 24); printf %%s \"$token\" | sha256sum",
        "and put the hash, a name and a role in the config (tokens reload live). Without a token the API answers"
            + " 401, unless the config lists no tokens and the API listens on loopback only. The demo's token is"
            + " demo-admin-token.",
        "--admin, --token and --output may be given before or after COMMAND; 'meridian ctl COMMAND --help' lists"
            + " a command's own options."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        "0:done (for --dry-run: previewed)",
        "1:refused by a rule: a 4xx answer such as capacity_exceeded, residency_violation, too_many_drains,"
            + " conflict, invalid_request, not_found",
        "2:usage error, found here: nothing was sent",
        "3:authentication or permission: 401 (no or unknown token) or 403 (role too weak, --force without admin)",
        "4:the admin API is unreachable or failing: no connection, or a 5xx answer (e.g. 503 no_leader)"})
public final class Ctl implements Callable<Integer> {
  public static final int OK = 0;
  public static final int REFUSED = 1;
  public static final int USAGE = 2;
  public static final int AUTH = 3;
  public static final int UNAVAILABLE = 4;

  static final String DEFAULT_ADMIN = "http://127.0.0.1:9090";

  /** How answers are printed. */
  public enum Output { table, json }

  /** Options every command takes, before or after the command's name. */
  static final class Common {
    @Option(names = "--admin", paramLabel = "URL",
        description = "the controller's admin API (controller.admin_listen); default " + DEFAULT_ADMIN)
    String admin;

    @Option(names = "--token", paramLabel = "TOKEN",
        description = "a bearer token whose SHA-256 is listed under admin.tokens; default $MERIDIAN_TOKEN")
    String token;

    @Option(names = "--output", paramLabel = "FORMAT",
        description = "table (default: readable tables) or json (the API's JSON answer as is; events: one JSON"
            + " object a line)")
    Output output;
  }

  @Mixin Common common;
  @Spec CommandLine.Model.CommandSpec spec;
  PrintStream out;
  PrintStream err;

  private Ctl() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs {@code meridian ctl ARGS}, printing to the given streams; returns the exit code (see the class comment). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    CommandLine cl = commandLine(out, err);
    cl.getCommandSpec().name("meridian ctl"); // as the user typed it, in usage and error messages
    return cl.execute(args);
  }

  /**
   * The ctl command line, printing to the given streams, with plain (uncoloured) help; named {@code ctl}, for the
   * launcher to add under {@code meridian} (help, completion).
   */
  public static CommandLine commandLine(PrintStream out, PrintStream err) {
    Ctl ctl = new Ctl();
    ctl.out = out;
    ctl.err = err;
    CommandLine cl = new CommandLine(ctl)
        .setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF))
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true));
    cl.setParameterExceptionHandler((ex, a) -> {
      PrintWriter w = ex.getCommandLine().getErr();
      w.println("meridian ctl: " + ex.getMessage());
      w.println("Run '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for usage.");
      w.flush();
      return USAGE;
    });
    return cl;
  }

  @Override
  public Integer call() {
    err.println("meridian ctl: a command is required");
    spec.commandLine().usage(err, CommandLine.Help.Ansi.OFF);
    return USAGE;
  }

  /** A command: resolves the common options (its own first, then those before its name) and talks to the API. */
  abstract static class Sub implements Callable<Integer> {
    @ParentCommand Ctl root;
    @Mixin Common common;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    String admin() {
      String a = common.admin != null ? common.admin : root.common.admin != null ? root.common.admin : DEFAULT_ADMIN;
      return a.replaceAll("/+$", "");
    }

    boolean json() {
      Output o = common.output != null ? common.output : root.common.output;
      return o == Output.json;
    }

    Client client() {
      String t = common.token != null ? common.token : root.common.token != null ? root.common.token
          : System.getenv("MERIDIAN_TOKEN");
      return new Client(admin(), t);
    }

    @Override
    public final Integer call() {
      try {
        return exec(client(), root.out, root.err);
      } catch (IOException e) {
        root.err.println("meridian ctl: cannot reach the admin API at " + admin() + ": " + e);
        return UNAVAILABLE;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return UNAVAILABLE;
      } catch (IllegalArgumentException e) {
        // URI.create: an --admin URL or a region, home or zone that does not make a URL
        root.err.println("meridian ctl: not a usable URL: " + e.getMessage());
        return USAGE;
      }
    }

    abstract int exec(Client c, PrintStream out, PrintStream err) throws IOException, InterruptedException;

    /** A non-200 answer: the JSON as is (--output json) or a REFUSED line; the exit code its status means. */
    int refused(int status, String raw, PrintStream out, PrintStream err) {
      JsonObject body = parse(raw);
      if (json()) {
        out.println(raw);
      } else {
        err.printf(Locale.ROOT, "REFUSED (%d %s): %s%n", status, body.getString("rule",
            body.getString("error", "?")), body.getString("message", body.encode()));
        if (status == 401) {
          err.println("pass --token TOKEN or set MERIDIAN_TOKEN: a token whose SHA-256 is listed under admin.tokens"
              + " in the controller's config (see 'meridian ctl --help')");
        }
      }
      return exitCode(status);
    }
  }

  static int exitCode(int status) {
    if (status >= 200 && status < 300) {
      return OK;
    }
    if (status == 401 || status == 403) {
      return AUTH;
    }
    return status >= 400 && status < 500 ? REFUSED : UNAVAILABLE;
  }

  @Command(name = "status",
      description = "Regions: health, lifecycle, traffic share, load, capacity, utilisation, overrides; the leader.")
  static final class Status extends Sub {
    @Override
    int exec(Client c, PrintStream out, PrintStream err) throws IOException, InterruptedException {
      HttpResponse<String> res = c.send("GET", "/v1/regions", null);
      if (res.statusCode() != 200) {
        return refused(res.statusCode(), res.body(), out, err);
      }
      if (json()) {
        out.println(res.body());
        return OK;
      }
      JsonObject body = parse(res.body());
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
      out.printf(Locale.ROOT, "%-14s %-8s %-9s %-11s %6s %9s %9s %6s  %-15s %s%n", "REGION", "GROUP", "HEALTH",
          "LIFECYCLE", "SHARE", "LOAD", "CAPACITY", "UTIL", "READY NOW/PEAK", "NOTE / OVERRIDE");
      for (Object o : body.getJsonArray("regions")) {
        JsonObject r = (JsonObject) o;
        JsonObject ov = r.getJsonObject("override");
        String note = ov != null ? ov.getString("mode") + " by " + ov.getString("by") + ": " + ov.getString("reason")
            : r.getString("note", "");
        out.printf(Locale.ROOT, "%-14s %-8s %-9s %-11s %6.2f %9.1f %9.0f %5.0f%%  %-15s %s%n", r.getString("id"),
            r.getString("residency_group"), r.getString("health"), r.getString("lifecycle"),
            r.getDouble("traffic_share"), r.getDouble("load_rps"), r.getDouble("capacity_rps"),
            100 * r.getDouble("utilisation", 0.0), ready(r.getJsonObject("readiness")), note);
      }
      return OK;
    }

    /**
     * Capacity readiness as {@code now/peak}: {@code yes}, or {@code -N} (the rps that would find no region
     * within headroom were the region to fail), {@code ?} not computed yet (a follower, or a controller that has
     * not evaluated), {@code n/a} before a peak is known.
     */
    static String ready(JsonObject readiness) {
      if (readiness == null) {
        return "?";
      }
      return one(readiness.getJsonObject("current")) + "/" + one(readiness.getJsonObject("peak_24h"));
    }

    private static String one(JsonObject c) {
      if (c == null) {
        return "n/a";
      }
      return c.getBoolean("ready", false) ? "yes" : String.format(Locale.ROOT, "-%.0f",
          Math.max(1, c.getDouble("shortfall_rps", 0.0)));
    }
  }

  @Command(name = "events",
      description = "Follow the event stream (until interrupted, or --count events).")
  static final class Events extends Sub {
    @Option(names = "--count", paramLabel = "N", description = "stop after N events")
    int count = Integer.MAX_VALUE;

    @Override
    int exec(Client c, PrintStream out, PrintStream err) throws IOException, InterruptedException {
      HttpResponse<InputStream> res = c.stream("/v1/events");
      if (res.statusCode() != 200) {
        return refused(res.statusCode(), new String(res.body().readAllBytes(), StandardCharsets.UTF_8), out, err);
      }
      int seen = 0;
      try (BufferedReader r = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
        String line;
        while (seen < count && (line = r.readLine()) != null) {
          if (line.startsWith("data: ")) {
            if (json()) {
              out.println(line.substring(6));
            } else {
              JsonObject e = parse(line.substring(6));
              out.printf(Locale.ROOT, "%s  %-18s %-12s %s%n", e.getString("at"), e.getString("type"),
                  e.getString("region") == null ? "-" : e.getString("region"), e.getString("message"));
            }
            out.flush();
            seen++;
          }
        }
      }
      return OK;
    }
  }

  @Command(name = "audit",
      description = "The last audit entries: when, who, what, why.")
  static final class Audit extends Sub {
    @Option(names = "--limit", paramLabel = "N", description = "at most N entries (the API's default when left out)")
    Integer limit;

    @Override
    int exec(Client c, PrintStream out, PrintStream err) throws IOException, InterruptedException {
      HttpResponse<String> res = c.send("GET", "/v1/audit" + (limit == null ? "" : "?limit=" + limit), null);
      if (res.statusCode() != 200) {
        return refused(res.statusCode(), res.body(), out, err);
      }
      if (json()) {
        out.println(res.body());
        return OK;
      }
      Object parsed = res.body().trim().startsWith("[") ? new JsonArray(res.body()) : parse(res.body());
      JsonArray entries = parsed instanceof JsonArray a ? a : ((JsonObject) parsed).getJsonArray("entries",
          new JsonArray());
      out.printf(Locale.ROOT, "%-24s %-12s %-10s %-14s %s%n", "AT", "BY", "ACTION", "TARGET", "REASON");
      for (Object o : entries) {
        JsonObject e = o instanceof JsonObject j ? j : new JsonObject();
        out.printf(Locale.ROOT, "%-24s %-12s %-10s %-14s %s%n", str(e, "at"),
            str(e, e.containsKey("who") ? "who" : "by"), str(e, "action"), str(e, "target"), str(e, "reason"));
      }
      return OK;
    }
  }

  @Command(name = "whoami", description = "The token's name and role.")
  static final class Whoami extends Sub {
    @Override
    int exec(Client c, PrintStream out, PrintStream err) throws IOException, InterruptedException {
      HttpResponse<String> res = c.send("GET", "/v1/whoami", null);
      if (res.statusCode() != 200) {
        return refused(res.statusCode(), res.body(), out, err);
      }
      if (json()) {
        out.println(res.body());
      } else {
        JsonObject b = parse(res.body());
        out.println(str(b, "name") + " (" + str(b, "role") + ")");
      }
      return OK;
    }
  }

  /** A change: POST with a reason, optionally a dry run or forced; prints the predicted outcome. */
  abstract static class Mutation extends Sub {
    @Option(names = "--reason", paramLabel = "REASON", description = "why (required; goes to the audit log)")
    String reason;

    @Option(names = "--dry-run", description = "preview the outcome; change nothing")
    boolean dryRun;

    @Option(names = "--force", description = "bypass the capacity and concurrent-drain rules (admin role; audited)")
    boolean force;

    abstract String path();

    /** The route's own fields, or a usage error message. */
    String body(JsonObject body) {
      return null;
    }

    @Override
    int exec(Client c, PrintStream out, PrintStream err) throws IOException, InterruptedException {
      String name = getClass().getAnnotation(Command.class).name();
      if (reason == null || reason.isBlank()) {
        err.println("meridian ctl: --reason is required for " + name + " (it goes to the audit log)");
        return USAGE;
      }
      JsonObject body = new JsonObject().put("reason", reason);
      if (force) {
        body.put("force", true);
      }
      String problem = body(body);
      if (problem != null) {
        err.println("meridian ctl: " + problem);
        return USAGE;
      }
      HttpResponse<String> res = c.send("POST", path() + (dryRun ? "?dry_run=true" : ""), body.encode());
      if (res.statusCode() != 200) {
        return refused(res.statusCode(), res.body(), out, err);
      }
      if (json()) {
        out.println(res.body());
        return OK;
      }
      printResult(parse(res.body()), out);
      return OK;
    }
  }

  static void printResult(JsonObject r, PrintStream out) {
    boolean dry = r.getBoolean("dry_run", false);
    out.printf(Locale.ROOT, "%s %s %s%s (reason: %s)%n", dry ? "DRY RUN:" : "APPLIED:", r.getString("action"),
        r.getString("target"), r.getBoolean("force", false) ? " (forced)" : "", r.getString("reason"));
    JsonObject p = r.getJsonObject("predicted", new JsonObject());
    JsonArray regions = p.getJsonArray("regions");
    if (regions != null) {
      out.printf(Locale.ROOT, "%-14s %-11s %12s %10s %10s %6s%n", "REGION", "LIFECYCLE", "PREDICTED", "LIMIT",
          "CAPACITY", "UTIL");
      for (Object o : regions) {
        JsonObject x = (JsonObject) o;
        out.printf(Locale.ROOT, "%-14s %-11s %12.1f %10.1f %10.0f %5.0f%%%n", x.getString("id"),
            x.getString("lifecycle"), x.getDouble("predicted_load_rps"), x.getDouble("limit_rps"),
            x.getDouble("capacity_rps"), 100 * x.getDouble("predicted_utilisation"));
      }
    }
    if (p.getValue("shortfall_rps") instanceof Number n) {
      out.printf(Locale.ROOT, "shortfall: %.1f rps%n", n.doubleValue());
    }
    for (Object o : p.getJsonArray("homes_moving", new JsonArray())) {
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
  }

  /** {@code --expires}, on the routes that take {@code expires_in}. */
  static final class Expiry {
    @Option(names = "--expires", paramLabel = "DURATION",
        description = "the override ends by itself after this (e.g. 30m, 2h; 1ms to 8760h)")
    String expires;

    void put(JsonObject body) {
      if (expires != null) {
        body.put("expires_in", expires);
      }
    }
  }

  abstract static class RegionMutation extends Mutation {
    @Parameters(index = "0", paramLabel = "REGION", description = "the region's id")
    String region;

    @Override
    String path() {
      return "/v1/regions/" + region + "/" + getClass().getAnnotation(Command.class).name();
    }
  }

  @Command(name = "drain",
      description = "Drain a region in steps within the other regions' headroom.")
  static final class Drain extends RegionMutation {
    @Mixin Expiry expiry;

    @Override
    String body(JsonObject b) {
      expiry.put(b);
      return null;
    }
  }

  @Command(name = "undrain", description = "End a drain; the region ramps back.")
  static final class Undrain extends RegionMutation {}

  @Command(name = "fail", description = "Take a region out at once.")
  static final class Fail extends RegionMutation {
    @Mixin Expiry expiry;

    @Override
    String body(JsonObject b) {
      expiry.put(b);
      return null;
    }
  }

  @Command(name = "restore",
      description = "Undo an operator fail; the region ramps back.")
  static final class Restore extends RegionMutation {}

  @Command(name = "promote",
      description = "Promote a successor for a home region and fence the old home.")
  static final class Promote extends Mutation {
    @Parameters(index = "0", paramLabel = "HOME", description = "the home region")
    String home;

    @Option(names = "--to", paramLabel = "SUCCESSOR",
        description = "the successor region (same residency group); default controller.successors")
    String to;

    @Override
    String path() {
      return "/v1/homes/" + home + "/promote";
    }

    @Override
    String body(JsonObject b) {
      if (to != null) {
        b.put("to", to);
      }
      return null;
    }
  }

  @Command(name = "unpromote",
      description = "Give a promoted home back (fail back) and lift its fence.")
  static final class Unpromote extends Mutation {
    @Parameters(index = "0", paramLabel = "HOME", description = "the home region")
    String home;

    @Override
    String path() {
      return "/v1/homes/" + home + "/restore";
    }
  }

  @Command(name = "pin",
      description = "Send a client zone to one region (--to) or split it by weight (--weight, repeated).")
  static final class Pin extends Mutation {
    @Parameters(index = "0", paramLabel = "ZONE", description = "the client zone")
    String zone;

    @Option(names = "--to", paramLabel = "REGION", description = "pin the zone to this one region")
    String to;

    @Option(names = "--weight", paramLabel = "REGION=WEIGHT", description = "a region's weight (> 0); repeat")
    Map<String, Double> weights = new LinkedHashMap<>();

    @Mixin Expiry expiry;

    @Override
    String path() {
      return "/v1/zones/" + zone + "/pin";
    }

    @Override
    String body(JsonObject b) {
      if ((to == null) == weights.isEmpty()) {
        return "pin needs either --to REGION or --weight REGION=WEIGHT (repeated), not both";
      }
      JsonObject w = new JsonObject();
      if (to != null) {
        w.put(to, 1.0);
      }
      weights.forEach(w::put);
      b.put("weights", w);
      expiry.put(b);
      return null;
    }
  }

  @Command(name = "unpin", description = "Remove a client zone's weights.")
  static final class Unpin extends Mutation {
    @Parameters(index = "0", paramLabel = "ZONE", description = "the client zone")
    String zone;

    @Override
    String path() {
      return "/v1/zones/" + zone + "/unpin";
    }
  }

  @Command(name = "freeze", description = "Freeze automation (failback, ramps,"
      + " drain steps, promotions); failover of unhealthy regions still happens.")
  static final class Freeze extends Mutation {
    @Mixin Expiry expiry;

    @Override
    String path() {
      return "/v1/freeze";
    }

    @Override
    String body(JsonObject b) {
      expiry.put(b);
      return null;
    }
  }

  @Command(name = "unfreeze", description = "Unfreeze automation.")
  static final class Unfreeze extends Mutation {
    @Override
    String path() {
      return "/v1/unfreeze";
    }
  }

  private static String str(JsonObject o, String key) {
    Object v = o.getValue(key);
    return v == null ? "-" : String.valueOf(v);
  }

  private static JsonObject parse(String s) {
    try {
      return new JsonObject(s);
    } catch (DecodeException | ClassCastException e) {
      return new JsonObject().put("error", "not json").put("message", s);
    }
  }

  record Client(String base, String token) {
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

    HttpResponse<InputStream> stream(String path) throws IOException, InterruptedException {
      return HTTP.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    }
  }
}
