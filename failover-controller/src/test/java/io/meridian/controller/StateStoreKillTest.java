package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing acknowledged is lost: a writer process is killed with SIGKILL mid-stream, restarted on the same
 * directory, killed again (three times, so kills land in appends, commits, snapshots and the repairs after
 * them), and every acknowledged revision is there on reopening.
 */
class StateStoreKillTest {
  private static final int SNAPSHOT_EVERY = 37; // small and odd: kills land at every phase of a snapshot

  @Test
  void everyAcknowledgedMutationSurvivesKill9(@TempDir Path dir) throws Exception {
    long lastAck = 0;
    for (int round = 0; round < 3; round++) {
      long ack = runAndKill(dir, lastAck + 150);
      assertTrue(ack >= lastAck + 150, "round " + round + ": child stopped early; last ack " + ack);
      lastAck = ack;
      try (StateStore reopened = StateStore.embedded(dir)) {
        AdminState s = reopened.load();
        assertTrue(s.revision() >= lastAck, "revision " + s.revision() + " < acknowledged " + lastAck);
        assertEquals(Math.min(s.revision(), 80), s.pins().size());
        String lastZone = ((s.revision() - 1) % 80) + "N0E";
        assertEquals(Double.valueOf(s.revision()), s.pins().get(lastZone).weights().get("r0"),
            "the last pin carries the last change");
        assertEquals(Math.min(s.revision(), AdminState.IDEMPOTENCY_KEYS), s.idempotency().size());
        assertTrue(s.idempotency().containsKey("key-" + (s.revision() - 1)));
        List<JsonObject> audit = reopened.audit(1000);
        for (int i = 1; i < audit.size(); i++) {
          assertEquals(audit.get(i - 1).getLong("seq") + 1, audit.get(i).getLong("seq"), "journal has a gap");
        }
        assertEquals(s.revision(), audit.get(audit.size() - 1).getLong("seq"));
        assertEquals(Math.min(s.revision(), 1000), audit.size(), "the audit survives compaction");
        lastAck = s.revision(); // the child continues from here
      }
    }
  }

  /** Starts the child on {@code dir}, SIGKILLs it once it acknowledged {@code until}; returns its last ack. */
  private static long runAndKill(Path dir, long until) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        JournalWriterChild.class.getName(), dir.toString(), String.valueOf(SNAPSHOT_EVERY))
        .redirectErrorStream(true).start();
    long lastAck = -1;
    StringBuilder other = new StringBuilder();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
        StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("ack ")) {
          lastAck = Long.parseLong(line.substring(4));
          if (lastAck >= until) {
            break;
          }
        } else if (other.length() < 4000) {
          other.append(line).append('\n');
        }
      }
      child.destroyForcibly(); // SIGKILL: no shutdown hooks, no flushing
      assertTrue(child.waitFor(20, TimeUnit.SECONDS));
    }
    assertTrue(lastAck >= until, "child stopped at ack " + lastAck + ":\n" + other);
    return lastAck;
  }
}
