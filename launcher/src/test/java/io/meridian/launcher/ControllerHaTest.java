package io.meridian.launcher;

import static io.meridian.launcher.EtcdMultiProcessTest.awaitTrue;
import static io.meridian.launcher.EtcdMultiProcessTest.tail;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.etcd.testing.EtcdServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two controllers in their own {@code meridian run} processes on one real etcd: they elect one leader; the
 * leader killed with SIGKILL or paused with SIGSTOP past its lease is replaced by the other, with every
 * acknowledged command kept and the plan version never going back; a command sent to the follower is applied
 * once, by the leader.
 */
class ControllerHaTest {
  /**
   * Long enough that a loaded 2-core CI machine does not miss keep-alives (a 5 s lease stepped down spuriously in
   * the election's own tests), short enough to keep the takeovers quick.
   */
  static final int LEASE_TTL_S = 6;

  @TempDir
  Path dir;
  EtcdServer etcd;
  Demo.Ports ports;
  final Map<String, Integer> adminPort = new ConcurrentHashMap<>();
  final Map<String, MeridianProcess> process = new ConcurrentHashMap<>();
  final List<MeridianProcess> started = new ArrayList<>();
  /** Every plan version each controller answered, in order: none may be below one seen before. */
  final Map<String, List<Long>> versionsSeen = new ConcurrentHashMap<>();
  volatile boolean watching;
  Thread watcher;

  @BeforeEach
  void setUp() throws Exception {
    etcd = EtcdServer.start(dir.resolve("etcd"));
    ports = Demo.Ports.ephemeral();
    // no app servers and no checker: this is about who decides, not about probing
    String yaml = Files.readString(Demo.writeConfig(dir.resolve("cfg"), ports), StandardCharsets.UTF_8)
        .replaceAll("residency_group: \\w+", "residency_group: global")
        .replace("state_store:\n  type: embedded\n  path: state",
            "state_store:\n  type: etcd\n  path: state\n  etcd:\n    endpoints: [" + etcd.endpoint() + "]\n"
                + "    prefix: /ha/\n    lease_ttl: " + LEASE_TTL_S + "s\n    timeout: 2s");
    for (String name : List.of("a", "b")) {
      int port = name.equals("a") ? ports.admin() : Demo.freePort();
      adminPort.put(name, port);
      Files.writeString(dir.resolve("cfg/" + name + ".yaml"), yaml
          .replace("admin_listen: 127.0.0.1:" + ports.admin(), "admin_listen: 127.0.0.1:" + port)
          .replace("  path: state\n", "  path: state-" + name + "\n"));
    }
  }

  @AfterEach
  void tearDown() throws Exception {
    watching = false;
    if (watcher != null) {
      watcher.join(5000);
    }
    for (MeridianProcess p : started) {
      p.resume();
      p.close();
    }
    etcd.close();
  }

  MeridianProcess start(String name) throws Exception {
    MeridianProcess p = MeridianProcess.start(dir.resolve("cfg/" + name + ".yaml"), dir.resolve(name + ".log"),
        "--roles", "controller");
    started.add(p);
    process.put(name, p);
    return p;
  }

  JsonObject call(String name, String method, String path, String body, String idempotencyKey) {
    List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-X", method, "--max-time", "8", "-H",
        "Authorization: Bearer " + Demo.ADMIN_TOKEN, "-H", "content-type: application/json"));
    if (idempotencyKey != null) {
      cmd.addAll(List.of("-H", "Idempotency-Key: " + idempotencyKey));
    }
    if (body != null) {
      cmd.addAll(List.of("-d", body));
    }
    cmd.add("http://127.0.0.1:" + adminPort.get(name) + path);
    Cli.Result r = Cli.run(cmd);
    return r.out().startsWith("{") ? new JsonObject(r.out()) : new JsonObject().put("raw", r.out());
  }

  JsonObject status(String name) {
    return call(name, "GET", "/v1/regions", null, null);
  }

  /** The leader's id as {@code name} sees it, or "" when it knows none or does not answer. */
  String leaderSeenBy(String name) {
    JsonObject c = status(name).getJsonObject("controller");
    JsonObject l = c == null ? null : c.getJsonObject("leader");
    return l == null ? "" : l.getString("id");
  }

  boolean leads(String name) {
    JsonObject c = status(name).getJsonObject("controller");
    return c != null && c.getBoolean("leads", false);
  }

  String idOf(String name) {
    JsonObject c = status(name).getJsonObject("controller");
    return c == null ? "" : c.getString("id", "");
  }

  JsonObject command(String name, String path, String reason, String key) {
    return call(name, "POST", path, new JsonObject().put("reason", reason).encode(), key);
  }

  /** Sends a command until it is applied (503s while no leader is known, or while a JVM starts, are retried). */
  JsonObject applied(String name, String path, String reason, String key, Duration max) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    JsonObject r = command(name, path, reason, key);
    while (!r.getBoolean("applied", false)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(path + " not applied within " + max + ": " + r.encode() + "\n"
            + tail(process.get(name).log()));
      }
      assertFalse(r.containsKey("rule") && !"NO_LEADER".equals(r.getString("rule"))
          && !"STATE_STORE_UNAVAILABLE".equals(r.getString("rule")), "refused for a reason retrying cannot fix: "
          + r.encode());
      Thread.sleep(200);
      r = command(name, path, reason, key);
    }
    return r;
  }

  /** Both controllers up, one leader they agree on; returns {leader, follower}. */
  String[] electOne() throws Exception {
    start("a");
    start("b");
    awaitTrue(() -> !leaderSeenBy("a").isEmpty() && leaderSeenBy("a").equals(leaderSeenBy("b")),
        Duration.ofSeconds(90), process.get("b"));
    String leader = leads("a") ? "a" : "b";
    String follower = leader.equals("a") ? "b" : "a";
    assertTrue(leads(leader) || awaitLeads(leader), "the leader key names " + leaderSeenBy("a"));
    assertFalse(leads(follower), "two leaders: " + status("a") + " " + status("b"));
    assertEquals(idOf(leader), leaderSeenBy(follower));
    watchVersions();
    return new String[] {leader, follower};
  }

  boolean awaitLeads(String name) throws InterruptedException {
    awaitTrue(() -> leads(name), Duration.ofSeconds(30), process.get(name));
    return true;
  }

  void watchVersions() {
    watching = true;
    for (String n : List.of("a", "b")) {
      versionsSeen.put(n, new CopyOnWriteArrayList<>());
    }
    watcher = new Thread(() -> {
      while (watching) {
        for (String n : List.of("a", "b")) {
          JsonObject plan = call(n, "GET", "/v1/plan", null, null);
          if (plan.containsKey("version")) {
            versionsSeen.get(n).add(plan.getLong("version"));
          }
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "plan-version-watcher");
    watcher.setDaemon(true);
    watcher.start();
  }

  void assertVersionsNeverWentBack() {
    for (Map.Entry<String, List<Long>> e : versionsSeen.entrySet()) {
      long max = 0;
      for (long v : e.getValue()) {
        assertTrue(v >= max, "controller " + e.getKey() + " answered plan v" + v + " after v" + max + ": "
            + e.getValue());
        max = v;
      }
    }
  }

  /** The audit entries the controller {@code name} answers with, oldest first. */
  JsonArray audit(String name) {
    return call(name, "GET", "/v1/audit?limit=1000", null, null).getJsonArray("entries", new JsonArray());
  }

  static long count(JsonArray entries, String field, String value) {
    return entries.stream().filter(o -> value.equals(((JsonObject) o).getString(field))).count();
  }

  static JsonObject region(JsonObject status, String id) {
    for (Object o : status.getJsonArray("regions")) {
      if (id.equals(((JsonObject) o).getString("id"))) {
        return (JsonObject) o;
      }
    }
    throw new AssertionError("no region " + id + " in " + status.encode());
  }

  @Test
  void twoControllersStartedAtOnceElectOneLeaderAndAFollowersCommandIsAppliedOnceByTheLeader() throws Exception {
    String[] lf = electOne();
    String leader = lf[0];
    String follower = lf[1];
    System.out.printf("elected: %s (%s); follower %s%n", idOf(leader), leader, idOf(follower));

    // a command sent to the follower is forwarded, applied by the leader, and journaled once
    JsonObject r = applied(follower, "/v1/freeze", "ha-forwarded", "key-forwarded-1", Duration.ofSeconds(30));
    assertEquals(1, count(audit(leader), "reason", "ha-forwarded"), audit(leader).encodePrettily());
    // the same request again (a client retry) is the first answer replayed, not a second entry
    JsonObject again = command(follower, "/v1/freeze", "ha-forwarded", "key-forwarded-1");
    assertTrue(again.getBoolean("replayed", false), again.encode());
    assertEquals(r.getLong("revision"), again.getLong("revision"));
    assertEquals(1, count(audit(leader), "reason", "ha-forwarded"), audit(leader).encodePrettily());
    assertTrue(process.get(leader).log().contains("forwarded by " + idOf(follower)), tail(process.get(leader).log()));
    assertFalse(process.get(follower).log().contains("admin_freeze"), "the follower applied it itself");
    // the follower's reads show the leader's state
    awaitTrue(() -> status(follower).getJsonObject("frozen") != null, Duration.ofSeconds(30),
        process.get(follower));
    // ctl status against either names the same leader
    for (String n : List.of("a", "b")) {
      Cli.Result ctl = Cli.run(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
          System.getProperty("java.class.path"), Main.class.getName(), "ctl", "--admin", "http://127.0.0.1:"
          + adminPort.get(n), "--token", Demo.ADMIN_TOKEN, "status"));
      assertTrue(ctl.out().contains("leader " + idOf(leader) + " at http://127.0.0.1:" + adminPort.get(leader)),
          ctl.out());
      assertTrue(ctl.out().contains("(" + (n.equals(leader) ? "leader" : "follower") + ")"), ctl.out());
    }
    assertVersionsNeverWentBack();
  }

  @Test
  void theLeaderKilledIsReplacedWithNothingAcknowledgedLost() throws Exception {
    String[] lf = electOne();
    String leader = lf[0];
    String follower = lf[1];
    String leaderId = idOf(leader);
    // acknowledged before the kill: half through the leader, half through the follower
    applied(leader, "/v1/regions/us-east/drain", "before-kill-1", null, Duration.ofSeconds(30));
    applied(follower, "/v1/freeze", "before-kill-2", null, Duration.ofSeconds(30));
    long versionBefore = status(leader).getLong("plan_version");

    long killedAt = System.nanoTime();
    process.get(leader).kill();
    awaitTrue(() -> leads(follower), Duration.ofSeconds(60), process.get(follower));
    long ledMs = (System.nanoTime() - killedAt) / 1_000_000;
    assertNotEquals(leaderId, leaderSeenBy(follower));
    JsonObject after = applied(follower, "/v1/unfreeze", "after-kill", null, Duration.ofSeconds(30));
    long appliedMs = (System.nanoTime() - killedAt) / 1_000_000;
    awaitTrue(() -> status(follower).getLong("plan_version") > versionBefore, Duration.ofSeconds(30),
        process.get(follower));
    long planMs = (System.nanoTime() - killedAt) / 1_000_000;
    System.out.printf("takeover after kill -9 (lease_ttl %d s): new leader in status %d ms, first command applied"
        + " %d ms, first new plan %d ms%n", LEASE_TTL_S, ledMs, appliedMs, planMs);

    JsonObject s = status(follower);
    assertEquals("drain", region(s, "us-east").getJsonObject("override").getString("mode"), s.encodePrettily());
    assertEquals(null, s.getJsonObject("frozen"), "unfrozen after the kill, so it was frozen before: "
        + s.encodePrettily());
    JsonArray journal = audit(follower);
    for (String reason : List.of("before-kill-1", "before-kill-2", "after-kill")) {
      assertEquals(1, count(journal, "reason", reason), journal.encodePrettily());
    }
    assertTrue(after.getLong("revision") > 2, after.encode());
    assertVersionsNeverWentBack();
  }

  @Test
  void aPausedLeaderIsReplacedAndOnResumingNoLongerWrites() throws Exception {
    String[] lf = electOne();
    String leader = lf[0];
    String follower = lf[1];
    MeridianProcess old = process.get(leader);
    applied(leader, "/v1/freeze", "before-pause", null, Duration.ofSeconds(30));
    long versionBefore = status(follower).getLong("plan_version");

    long stoppedAt = System.nanoTime();
    old.pause();
    awaitTrue(() -> leads(follower), Duration.ofSeconds(60), process.get(follower));
    long ledMs = (System.nanoTime() - stoppedAt) / 1_000_000;
    applied(follower, "/v1/regions/us-east/drain", "while-paused", null, Duration.ofSeconds(30));
    awaitTrue(() -> status(follower).getLong("plan_version") > versionBefore, Duration.ofSeconds(30),
        process.get(follower));
    System.out.printf("takeover from a SIGSTOPped leader (lease_ttl %d s): %d ms%n", LEASE_TTL_S, ledMs);

    // resumed: it still believed it led; it learns it does not, and every write it would make goes to the new
    // leader (a command sent to it is forwarded) or is refused by the fence
    old.resume();
    long resumedAt = System.nanoTime();
    awaitTrue(() -> status(leader).getJsonObject("controller") != null && !leads(leader)
        && idOf(follower).equals(leaderSeenBy(leader)), Duration.ofSeconds(30), old);
    System.out.printf("the resumed leader knows it follows after %d ms%n", (System.nanoTime() - resumedAt) / 1_000_000);
    applied(leader, "/v1/unfreeze", "sent-to-the-old-leader", "key-old-1", Duration.ofSeconds(30));
    JsonArray journal = audit(follower);
    for (String reason : List.of("before-pause", "while-paused", "sent-to-the-old-leader")) {
      assertEquals(1, count(journal, "reason", reason), journal.encodePrettily());
    }
    // entries are numbered without gaps or duplicates: the old leader wrote nothing after it was replaced
    List<Long> seqs = new ArrayList<>();
    journal.forEach(o -> seqs.add(((JsonObject) o).getLong("seq")));
    seqs.sort(null);
    for (int i = 1; i < seqs.size(); i++) {
      assertEquals(seqs.get(i - 1) + 1, seqs.get(i), "journal: " + seqs);
    }
    String oldLog = old.log();
    assertTrue(oldLog.contains("no longer leads"), tail(oldLog));
    assertTrue(leads(follower), "the new leader kept its leadership: " + status(follower));
    assertVersionsNeverWentBack();
    long refusals = oldLog.lines().filter(l -> l.contains("NotLeaderException") || l.contains("not the leader")
        || l.contains("guard no longer holds")).count();
    System.out.printf("the resumed leader's writes refused by the fence: %d (0 when it stopped itself first)%n",
        refusals);
  }
}
