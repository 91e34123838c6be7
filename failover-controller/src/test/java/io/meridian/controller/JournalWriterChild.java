package io.meridian.controller;

import io.meridian.controller.impl.EmbeddedStateStore;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/**
 * Child process for {@link StateStoreKillTest}: continues from the state it loads, appending mutations shaped
 * like the admin API's (audit entry, a pin, a stored answer per Idempotency-Key) as fast as it can, and prints
 * "ack N" after each append returned, i.e. after the point where the admin API would answer the operator.
 * Arguments: state directory, entries between snapshots (small, so kills also land inside snapshots).
 */
public final class JournalWriterChild {
  public static void main(String[] args) throws Exception {
    StateStore store = EmbeddedStateStore.open(Path.of(args[0]),
        EmbeddedStateStore.Options.defaults().withSnapshotEvery(Integer.parseInt(args[1])));
    AdminState s = store.load();
    System.out.println("loaded " + s.revision());
    for (long i = s.revision(); i < 1_000_000; i++) {
      String zone = (i % 80) + "N0E"; // 80 distinct zones, then overwrites
      Instant now = Instant.now();
      JsonObject answer = new JsonObject().put("action", "pin").put("target", zone).put("revision", i + 1)
          .put("at", now.toString());
      AdminState next = s.withPin(zone, new AdminState.ZonePin(zone, Map.of("r0", 1.0 + i), "pin " + i, "child", null))
          .nextRevision("key-" + i, answer);
      store.append(new JsonObject().put("seq", next.revision()).put("at", now.toString()).put("who", "child")
          .put("action", "pin").put("target", zone).put("reason", "pin " + i).put("idempotency_key", "key-" + i),
          next);
      s = next;
      System.out.println("ack " + s.revision());
      System.out.flush();
    }
  }
}
