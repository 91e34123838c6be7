package io.meridian.controller;

import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/**
 * Child process for {@link StateStoreKillTest}: appends mutations as fast as it can and prints "ack N" after
 * each append returned, i.e. after the point where the admin API would answer the operator.
 */
public final class JournalWriterChild {
  public static void main(String[] args) throws Exception {
    StateStore store = StateStore.embedded(Path.of(args[0]));
    AdminState s = store.load();
    for (int i = 0; i < 100_000; i++) {
      String zone = (i % 80) + "N0E"; // 80 distinct zones, then overwrites
      AdminState next = s.withPin(zone, new AdminState.ZonePin(zone, Map.of("r0", 1.0), "pin " + i, "child", null))
          .nextRevision("key-" + i, new JsonObject().put("revision", s.revision() + 1));
      store.append(new JsonObject().put("seq", next.revision()).put("at", Instant.now().toString())
          .put("action", "pin").put("target", zone), next);
      s = next;
      System.out.println("ack " + s.revision());
      System.out.flush();
    }
  }
}
