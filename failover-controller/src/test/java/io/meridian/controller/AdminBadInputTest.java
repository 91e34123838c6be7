package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input, tried with curl as a new user would, on every mutating route: each answer is a 4xx with a JSON
 * refusal naming the field, the value and the expectation — never a 500, never plain text or HTML, never the
 * change applied. The table (input → status and body) is printed so it can be quoted.
 */
@ExtendWith(VertxExtension.class)
class AdminBadInputTest {

  /** A mutating route, a body it accepts, and its path in the OpenAPI document. */
  private record Route(String name, String path, String body, String template) {}

  private static final List<Route> ROUTES = List.of(
      new Route("drain", "/v1/regions/us-west/drain", "{\"reason\":\"t\"}", "/v1/regions/{id}/drain"),
      new Route("undrain", "/v1/regions/us-west/undrain", "{\"reason\":\"t\"}", "/v1/regions/{id}/undrain"),
      new Route("fail", "/v1/regions/us-west/fail", "{\"reason\":\"t\"}", "/v1/regions/{id}/fail"),
      new Route("restore", "/v1/regions/us-west/restore", "{\"reason\":\"t\"}", "/v1/regions/{id}/restore"),
      new Route("promote", "/v1/homes/us-east/promote", "{\"reason\":\"t\"}", "/v1/homes/{home}/promote"),
      new Route("unpromote", "/v1/homes/us-east/restore", "{\"reason\":\"t\"}", "/v1/homes/{home}/restore"),
      new Route("pin", "/v1/zones/50N8E/pin", "{\"reason\":\"t\",\"weights\":{\"us-west\":1}}", "/v1/zones/{zone}/pin"),
      new Route("unpin", "/v1/zones/50N8E/unpin", "{\"reason\":\"t\"}", "/v1/zones/{zone}/unpin"),
      new Route("freeze", "/v1/freeze", "{\"reason\":\"t\"}", "/v1/freeze"),
      new Route("unfreeze", "/v1/unfreeze", "{\"reason\":\"t\"}", "/v1/unfreeze"));

  /**
   * One bad input: how it changes a good request, and the answer expected.
   *
   * @param field the {@code field} the refusal must name
   */
  private record Case(String input, String method, UnaryOperator<String> path, List<String> headers,
      UnaryOperator<String> body, int status, String field) {}

  private static final String ADMIN = "Authorization: Bearer admin-token";
  private static final String USED_KEY = "used-key-1";

  private static final List<Case> CASES = List.of(
      new Case("\"force\":\"yes\"", "POST", p -> p, List.of(ADMIN), b -> with(b, "\"force\":\"yes\""), 400, "force"),
      new Case("?dry_run=banana", "POST", p -> p + "?dry_run=banana", List.of(ADMIN), b -> b, 400, "dry_run"),
      new Case("unknown body field", "POST", p -> p, List.of(ADMIN), b -> with(b, "\"colour\":\"red\""), 400,
          "colour"),
      new Case("expires_in 99999999999999999999h", "POST", p -> p, List.of(ADMIN),
          b -> with(b, "\"expires_in\":\"99999999999999999999h\""), 400, "expires_in"),
      new Case("Idempotency-Key used by another request", "POST", p -> p,
          List.of(ADMIN, "Idempotency-Key: " + USED_KEY), b -> b, 422, "Idempotency-Key"),
      new Case("Idempotency-Key of 256 characters", "POST", p -> p,
          List.of(ADMIN, "Idempotency-Key: " + "k".repeat(256)), b -> b, 400, "Idempotency-Key"),
      new Case("body of 70,000 bytes", "POST", p -> p, List.of(ADMIN),
          b -> with(b, "\"pad\":\"" + "x".repeat(70_000) + "\""), 413, "body"),
      new Case("request line of 5,000 bytes", "POST", p -> p + "?pad=" + "x".repeat(5_000), List.of(ADMIN),
          b -> b, 414, "uri"),
      new Case("headers of 9,000 bytes", "POST", p -> p, List.of(ADMIN, "X-Pad: " + "x".repeat(9_000)), b -> b,
          431, "headers"),
      new Case("unknown route (path + /x)", "POST", p -> p + "/x", List.of(ADMIN), b -> b, 404, "path"),
      new Case("GET on the mutation", "GET", p -> p, List.of(ADMIN), b -> null, 405, "method"),
      new Case("bad percent-encoding in the query", "POST", p -> p + "?dry_run=%zz", List.of(ADMIN), b -> b, 400,
          "uri"),
      new Case("body not JSON", "POST", p -> p, List.of(ADMIN), b -> "{reason", 400, "body"),
      new Case("body a JSON array", "POST", p -> p, List.of(ADMIN), b -> "[" + b + "]", 400, "body"),
      new Case("no token", "POST", p -> p, List.of(), b -> b, 401, "Authorization"),
      new Case("viewer token", "POST", p -> p, List.of("Authorization: Bearer viewer-token"), b -> b, 403,
          "Authorization"));

  /** Adds a field to a JSON object's text. */
  private static String with(String body, String field) {
    return body.substring(0, body.length() - 1) + "," + field + "}";
  }

  @Test
  void everyBadInputOnEveryMutatingRouteIsAJsonRefusalAndChangesNothing(Vertx vertx, @TempDir Path dir)
      throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "successors: {us-east: us-central}\n",
        TestDeployment.tokensYaml())) {
      // the key answered one command; any other request with it must be refused, not answered with this
      var setup = d.call("POST", "/v1/freeze", "admin-token", "{\"reason\":\"setup\"}", USED_KEY);
      assertEquals(200, setup.status(), setup.body().encode());
      long revision = setup.body().getLong("revision");
      var before = d.call("GET", "/v1/regions", "viewer-token", null, null).body();

      List<String> table = new ArrayList<>();
      List<String> failures = new ArrayList<>();
      for (Route r : ROUTES) {
        for (Case c : CASES) {
          String body = c.body().apply(r.body());
          Answer a = curl(c.method(), d.baseUrl() + c.path().apply(r.path()), c.headers(), body, dir);
          String shownBody = compact(a.body());
          table.add(String.format("| %s | %s | %d | %s |", r.name(), c.input(), a.status(),
              shownBody.replace("\n", "").replace("|", "\\|")));
          String problem = check(c, a);
          if (problem != null) {
            failures.add(r.name() + " / " + c.input() + ": " + problem);
          }
        }
      }
      System.out.println("AdminBadInputTest: route | input | status | body");
      table.forEach(line -> System.out.println("AdminBadInputTest: " + line));
      assertEquals(List.of(), failures, failures.size() + " of " + table.size() + " answers were wrong");

      // the contract lists each of these answers for each route, and the body's fields as the only ones
      JsonObject paths = new JsonObject(curl("GET", d.baseUrl() + "/openapi.json", List.of(), null, dir).body())
          .getJsonObject("paths");
      for (Route r : ROUTES) {
        JsonObject post = paths.getJsonObject(r.template()).getJsonObject("post");
        for (Case c : CASES) {
          if (c.status() != 405) { // 405 is the answer to another method than the one documented
            assertTrue(post.getJsonObject("responses").containsKey(String.valueOf(c.status())),
                r.template() + " documents " + c.status());
          }
        }
        JsonObject schema = post.getJsonObject("requestBody").getJsonObject("content")
            .getJsonObject("application/json").getJsonObject("schema");
        assertEquals(false, schema.getBoolean("additionalProperties"), r.template());
        var documented = new java.util.TreeSet<>(schema.getJsonObject("properties").fieldNames());
        var taken = new java.util.TreeSet<>(Command.fields(r.name()));
        taken.add("dry_run");
        assertEquals(taken, documented, r.template() + ": body fields in openapi.json");
      }

      var audit = d.call("GET", "/v1/audit?limit=1000", "viewer-token", null, null).body().getJsonArray("entries");
      assertEquals(1, audit.size(), "only the setup command is journaled: " + audit.encode());
      var after = d.call("GET", "/v1/regions", "viewer-token", null, null).body();
      assertEquals(before, after, "no bad input changed anything");
      var again = d.call("POST", "/v1/freeze", "admin-token", "{\"reason\":\"setup\"}", USED_KEY);
      assertEquals("true", again.headers().firstValue("Idempotent-Replayed").orElse(""),
          "the same request with the key is still a replay");
      assertEquals(revision, again.body().getLong("revision"));
    }
  }

  /** The body on one line (JSON re-encoded compactly); long values cut. */
  private static String compact(String body) {
    String s;
    try {
      s = new JsonObject(body).encode();
    } catch (RuntimeException e) {
      s = body;
    }
    return s.replaceAll("([a-zA-Z])\\1{40,}", "$1$1$1…");
  }

  /** Null when the answer is right, else what is wrong with it. */
  private static String check(Case c, Answer a) {
    if (a.status() != c.status()) {
      return "status " + a.status() + " (expected " + c.status() + "): " + a.body();
    }
    if (!a.contentType().startsWith("application/json")) {
      return "content-type '" + a.contentType() + "' (expected application/json): " + a.body();
    }
    JsonObject j;
    try {
      j = new JsonObject(a.body());
    } catch (RuntimeException e) {
      return "body is not a JSON object: " + a.body();
    }
    if (j.getInteger("status", -1) != a.status() || j.getString("error", "").isEmpty()
        || j.getString("message", "").isEmpty()) {
      return "body lacks status/error/message: " + a.body();
    }
    if (!c.field().equals(j.getString("field")) || !j.containsKey("value")
        || j.getString("expected", "").isEmpty()) {
      return "body does not name field '" + c.field() + "', its value and the expectation: " + a.body();
    }
    return null;
  }

  private record Answer(int status, String contentType, String body) {}

  /** One exchange with curl: the body goes through a file (it can exceed the command line's limits). */
  private static Answer curl(String method, String url, List<String> headers, String body, Path dir)
      throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "-X", method, "-o", "-", "-w",
        "\n%{http_code} %{content_type}", "-H", "Expect:", "-H", "content-type: application/json"));
    for (String h : headers) {
      cmd.add("-H");
      cmd.add(h);
    }
    if (body != null) {
      Path f = Files.createTempFile(dir, "body", ".json");
      Files.writeString(f, body, StandardCharsets.UTF_8);
      cmd.add("--data-binary");
      cmd.add("@" + f);
    }
    cmd.add(url);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    int nl = out.lastIndexOf('\n');
    assertFalse(nl < 0, "curl answered nothing: " + out);
    String[] tail = out.substring(nl + 1).split(" ", 2);
    assertTrue(tail[0].matches("\\d{3}"), "curl: " + out);
    return new Answer(Integer.parseInt(tail[0]), tail.length > 1 ? tail[1] : "", out.substring(0, nl));
  }
}
