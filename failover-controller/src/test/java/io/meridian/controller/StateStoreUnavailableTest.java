package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.meridian.core.Lifecycle;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * While nothing can be made durable, mutations get 503 {@code state_store_unavailable} with the reason, and
 * nothing else changes: reads answer, plans are still computed and published (the data planes keep serving).
 * Each mutation retries the store, so the first one after the disk recovered succeeds. The disk is full for
 * real: the journal segment is {@code /dev/full}, where every write fails with ENOSPC.
 */
@ExtendWith(VertxExtension.class)
class StateStoreUnavailableTest {

  @Test
  void aFullDiskRefusesMutationsWith503AndTheNextOneAfterRecoverySucceeds(Vertx vertx, @TempDir Path dir)
      throws Exception {
    assumeTrue(Files.isWritable(Path.of("/dev/full")), "needs /dev/full (Linux)");
    Path segment = dir.resolve(String.format("journal-%020d.log", 0));
    StateStore.embedded(dir).close(); // an empty state directory ...
    Files.delete(segment);
    Files.createSymbolicLink(segment, Path.of("/dev/full")); // ... on a disk that is full

    try (TestDeployment d = new TestDeployment(vertx, dir, "", "")) {
      long planBefore = d.evaluate().version();
      var refused = d.call("POST", "/v1/regions/us-west/drain", null, "{\"reason\":\"disk full\"}", "k-1");
      assertEquals(503, refused.status(), refused.body().encode());
      assertEquals("state_store_unavailable", refused.body().getString("error"));
      assertEquals("STATE_STORE_UNAVAILABLE", refused.body().getString("rule"));
      String message = refused.body().getString("message");
      assertTrue(message.startsWith("drain us-west was not applied: state store unavailable: could not write entry"
          + " 1 to " + segment), message);
      assertTrue(message.contains("No space left on device"), message);

      // nothing else changes: reads, planning and publishing go on with the current state
      assertEquals(200, d.call("GET", "/v1/regions", null, null, null).status());
      assertEquals(Lifecycle.ACTIVE, d.evaluate().region("us-west").lifecycle(), "the refused drain is not applied");
      d.report(List.of("vp"), List.of("us-east"));
      assertTrue(d.evaluate().version() > planBefore, "plans are still published");
      assertEquals(0, d.call("GET", "/v1/audit", null, null, null).body().getJsonArray("entries").size());
      assertEquals(503, d.call("POST", "/v1/regions/us-west/drain", null, "{\"reason\":\"again\"}", "k-1").status(),
          "retried, still full");

      Files.delete(segment); // space is back
      Files.write(segment, new byte[0]);
      var ok = d.call("POST", "/v1/regions/us-west/drain", null, "{\"reason\":\"disk has room\"}", "k-1");
      assertEquals(200, ok.status(), ok.body().encode());
      assertEquals(1, ok.body().getLong("revision"), "the refused attempts left no trace");
    }
    try (TestDeployment d = new TestDeployment(vertx, dir, "", "")) {
      var regions = d.call("GET", "/v1/regions", null, null, null).body().getJsonArray("regions");
      assertEquals("disk has room", regions.getJsonObject(1).getJsonObject("override").getString("reason"));
      assertEquals(1, d.call("GET", "/v1/audit", null, null, null).body().getJsonArray("entries").size());
    }
  }
}
