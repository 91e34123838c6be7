package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.meridian.config.ConfigLoader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.TimeUnit;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Admin tokens follow the config file while the controller runs: an edit picked up by the config watcher puts
 * an added token in force and a removed one out, and a changed role applies from the next request.
 */
class AdminTokensReloadTest {
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  Vertx vertx;
  MeridianNode node;

  @AfterEach
  void stop() throws Exception {
    if (node != null) {
      node.stop().await(20, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().await(20, TimeUnit.SECONDS);
    }
  }

  static String config(int adminPort, Path state, String tokens) {
    return """
        regions:
          - id: us-east
            latitude: 39.0
            longitude: -77.5
            capacity_rps: 1000
            residency_group: us
            upstreams: [http://127.0.0.1:1]
            health_check: {url: http://127.0.0.1:1/health}
          - id: us-west
            latitude: 45.6
            longitude: -121.2
            capacity_rps: 1000
            residency_group: us
            upstreams: [http://127.0.0.1:1]
            health_check: {url: http://127.0.0.1:1/health}
        controller:
          admin_listen: 127.0.0.1:%d
        state_store:
          path: %s
        admin:
          tokens:
        %s""".formatted(adminPort, state, tokens.indent(4));
  }

  static String token(String name, String secret, String role) {
    return "- {name: " + name + ", sha256: " + Demo.sha256(secret) + ", role: " + role + "}";
  }

  @Test
  void addedTokenWorksRemovedTokenStopsAndRoleChangesApply(@TempDir Path dir) throws Exception {
    int port = Demo.freePort();
    Path file = dir.resolve("meridian.yaml");
    Files.writeString(file, config(port, dir.resolve("state"), token("alice", "alice-secret", "operator")));
    vertx = Vertx.vertx();
    node = MeridianNode.start(vertx, file, ConfigLoader.load(file), EnumSet.of(MeridianNode.RoleName.CONTROLLER))
        .await(60, TimeUnit.SECONDS);
    String base = "http://127.0.0.1:" + port;
    assertEquals(200, get(base, "alice-secret"));
    assertEquals(401, get(base, "bob-secret"));

    Files.writeString(file, config(port, dir.resolve("state"), token("alice", "alice-secret", "viewer") + "\n"
        + token("bob", "bob-secret", "operator")));
    // the watcher checks the file every second; the whole token set is swapped at once, so once bob is in,
    // alice's new role is in force too
    awaitStatus(base, "bob-secret", 200);
    assertEquals(200, post(base, "bob-secret"), "with the role the file gives it");
    assertEquals(403, post(base, "alice-secret"), "alice's role went from operator to viewer");
    assertEquals(200, get(base, "alice-secret"));

    Files.writeString(file, config(port, dir.resolve("state"), token("bob", "bob-secret", "operator")));
    awaitStatus(base, "alice-secret", 401);
    assertEquals(200, get(base, "bob-secret"));
  }

  /** Polls until the token gets {@code status}: the reload worked, or fails after 20 s (the watcher polls at 1 s). */
  void awaitStatus(String base, String token, int status) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    int last;
    while ((last = get(base, token)) != status) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("still " + last + " (expected " + status + ") 20 s after the config edit;"
            + " watcher applied " + node.configWatcher().appliedCount() + ", rejected "
            + node.configWatcher().rejectedCount() + " " + node.configWatcher().lastProblems());
      }
      Thread.sleep(100);
    }
  }

  static int get(String base, String token) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/regions"))
        .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  static int post(String base, String token) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/regions/us-west/drain?dry_run=true"))
        .header("Authorization", "Bearer " + token).header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"reload test\"}", StandardCharsets.UTF_8)).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode();
  }
}
