package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Nothing acknowledged is lost: a writer process is killed with SIGKILL mid-stream and the journal reopened. */
class StateStoreKillTest {

  @Test
  void everyAcknowledgedMutationSurvivesKill9(@TempDir Path dir) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        JournalWriterChild.class.getName(), dir.toString()).redirectErrorStream(true).start();
    long lastAck = -1;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
        StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("ack ")) {
          lastAck = Long.parseLong(line.substring(4));
          if (lastAck >= 200) {
            break;
          }
        }
      }
      child.destroyForcibly(); // SIGKILL: no shutdown hooks, no flushing
      assertTrue(child.waitFor(20, TimeUnit.SECONDS));
    }
    assertTrue(lastAck >= 200, "child stopped early; last ack " + lastAck);

    try (StateStore reopened = StateStore.embedded(dir)) {
      AdminState s = reopened.load();
      assertTrue(s.revision() >= lastAck, "revision " + s.revision() + " < acknowledged " + lastAck);
      assertEquals(Math.min(s.revision(), 80), s.pins().size());
      List<JsonObject> audit = reopened.audit(1000);
      for (int i = 1; i < audit.size(); i++) {
        assertEquals(audit.get(i - 1).getLong("seq") + 1, audit.get(i).getLong("seq"), "journal has a gap");
      }
      assertEquals(s.revision(), audit.get(audit.size() - 1).getLong("seq"));
    }
  }

  @Test
  void aTornLastLineIsDroppedAndTheRestKept(@TempDir Path dir) throws Exception {
    try (StateStore s = StateStore.embedded(dir)) {
      s.append(new JsonObject().put("seq", 1), AdminState.EMPTY.nextRevision(null, null));
    }
    Files.writeString(dir.resolve("audit.jsonl"), "{\"audit\":{\"seq\":2},\"state\":{\"revis",
        StandardOpenOption.APPEND);
    try (StateStore s = StateStore.embedded(dir)) {
      assertEquals(1, s.load().revision());
      s.append(new JsonObject().put("seq", 2), s.load().nextRevision(null, null));
    }
    try (StateStore s = StateStore.embedded(dir)) {
      assertEquals(2, s.load().revision());
      assertEquals(2, s.audit(10).size());
    }
  }

  @Test
  void aCorruptLineInTheMiddleRefusesToStartRatherThanLoseState(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("audit.jsonl"), "not json\n{\"audit\":{},\"state\":{\"revision\":3}}\n");
    var e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> StateStore.embedded(dir));
    assertTrue(e.getMessage().contains("entry at byte 0 is corrupt"), e.getMessage());
  }
}
