package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal stays small: 10,000 admin commands (pins over 40 zones, drains, freezes, each with an
 * Idempotency-Key) leave a state directory of one snapshot and at most 1,000 entries. The size (at the end and
 * the most it was during the run) and the start-up replay time are printed (not asserted as a time); the size is
 * asserted against an upper bound. Before, every entry carried the whole state and both plans: 2,226 commands
 * made 1.08 GB and a 10.4 s start-up.
 */
@ExtendWith(VertxExtension.class)
class JournalSizeTest {
  private static final int COMMANDS = 10_000;
  /** One snapshot (~0.6 MB: 1,000 stored answers, 1,000 audit entries, 40 pins) + one segment (~1 MB). */
  private static final long BOUND_BYTES = 4L << 20;

  @Test
  void tenThousandCommandsLeaveABoundedJournalThatReplays(Vertx vertx, @TempDir Path tmp) throws Exception {
    Path dir = tmp.resolve("state");
    JsonArray audit;
    long most = 0;
    Path fullest = tmp.resolve("fullest");
    Set<String> pinned = new TreeSet<>();
    String reason = "size test: routine change by the on-call operator, ticket OPS-12345";
    try (TestDeployment d = new TestDeployment(vertx, dir, "max_concurrent_drains: 2\n", "")) {
      for (int i = 0; i < COMMANDS; i++) {
        String zone = (i % 20) + "N" + (i / 20 % 2) + "E";
        String[] c = switch (i % 10) {
          case 3 -> new String[] {"/v1/regions/us-west/drain", "{\"reason\":\"" + reason + "\",\"expires_in\":\"2h\"}"};
          case 4 -> new String[] {"/v1/regions/us-west/undrain", "{\"reason\":\"" + reason + "\"}"};
          case 7 -> new String[] {"/v1/freeze", "{\"reason\":\"" + reason + "\"}"};
          case 8 -> new String[] {"/v1/unfreeze", "{\"reason\":\"" + reason + "\"}"};
          default -> new String[] {"/v1/zones/" + zone + "/pin", "{\"reason\":\"" + reason + "\",\"weights\":"
              + "{\"us-east\":" + (1 + i % 3) + ",\"us-central\":" + (0.5 + i) + "}}"};
        };
        var r = d.call("POST", c[0], null, c[1], "idem-" + i);
        assertEquals(200, r.status(), i + " " + c[0] + ": " + r.body().encode());
        if (c[0].endsWith("/pin")) {
          pinned.add(zone);
        }
        if (i % 100 == 99) {
          most = Math.max(most, sizeOf(dir));
        }
        if (i == COMMANDS - 2) { // a snapshot and 999 entries: the most a start-up replays
          JournalTruncationTest.copyDir(dir, fullest);
        }
      }
      audit = d.call("GET", "/v1/audit?limit=1000", null, null, null).body().getJsonArray("entries");
    }
    long bytes = sizeOf(dir);
    System.out.printf("JournalSizeTest: %,d commands -> %,d bytes on disk at the end, at most %,d during the run%n",
        COMMANDS, bytes, most);
    assertTrue(most < BOUND_BYTES, most + " bytes during " + COMMANDS + " commands (expected: below "
        + BOUND_BYTES + ")");

    long t0 = System.nanoTime();
    AdminState loaded;
    try (StateStore store = StateStore.embedded(dir)) {
      loaded = store.load();
      System.out.printf("JournalSizeTest: start-up replay of it took %.1f ms (revision %d)%n",
          (System.nanoTime() - t0) / 1e6, loaded.revision());
      assertEquals(COMMANDS, loaded.revision());
      assertEquals(AdminState.IDEMPOTENCY_KEYS, loaded.idempotency().size());
      assertEquals(pinned, loaded.pins().keySet());
      assertEquals(audit, new JsonArray(store.audit(1000)));
    }
    t0 = System.nanoTime();
    try (StateStore store = StateStore.embedded(fullest)) {
      System.out.printf("JournalSizeTest: start-up replay of a snapshot + 999 entries (%,d bytes) took %.1f ms%n",
          sizeOf(fullest), (System.nanoTime() - t0) / 1e6);
      assertEquals(COMMANDS - 1, store.load().revision());
    }
    try (TestDeployment d = new TestDeployment(vertx, dir, "max_concurrent_drains: 2\n", "")) {
      // a retry is the same request (the key is bound to its route and body): command COMMANDS - 3 was a freeze
      var replay = d.call("POST", "/v1/freeze", null, "{\"reason\":\"" + reason + "\"}", "idem-" + (COMMANDS - 3));
      assertEquals("true", replay.headers().firstValue("Idempotent-Replayed").orElse(""));
      assertEquals(COMMANDS - 2, replay.body().getLong("revision"));
    }
  }

  /** The state directory's files (the test's config file aside). */
  private static long sizeOf(Path dir) throws java.io.IOException {
    long bytes = 0;
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.filter(p -> !p.getFileName().toString().equals("test.yaml")).toList()) {
        bytes += Files.size(p);
      }
    }
    return bytes;
  }
}
