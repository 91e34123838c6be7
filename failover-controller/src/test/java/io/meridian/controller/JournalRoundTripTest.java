package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigNode;
import io.meridian.controller.impl.EmbeddedStateStore;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing is acknowledged that cannot be read back: every kind of accepted change, with extreme values, reloads
 * exactly; values JSON cannot carry are refused before anything is written (the incident: a pin weight of 1e309
 * was acknowledged, stored as "Infinity", and every later start failed).
 */
@ExtendWith(VertxExtension.class)
class JournalRoundTripTest {
  /** 2,000 characters: every script plane, emoji (surrogate pairs), combining marks, controls, JSON's specials. */
  static final String LONG_REASON = longReason(2000);

  static String longReason(int length) {
    String pieces = "Zürich → 東京 ✈ 😀👩‍👩‍👧 e\u0301 مرحبا שלום \u0000\u0001\t\n\r \"quoted\" back\\slash </script>"
        + " \u2028\u2029 \uFEFF 𝄞 ";
    StringBuilder b = new StringBuilder();
    while (b.length() < length) {
      b.append(pieces);
    }
    String s = b.substring(0, length);
    return Character.isHighSurrogate(s.charAt(length - 1)) ? s.substring(0, length - 1) + "." : s;
  }

  @Test
  void everyKindOfChangeWithExtremeValuesReloadsExactly(@TempDir Path dir) throws Exception {
    Instant far = Instant.MAX;
    Instant precise = Instant.parse("2025-01-01T00:00:00.123456789Z");
    AdminState s0 = new AdminState(Long.MAX_VALUE - 100, Map.of(), Map.of(), Set.of(), Map.of(), null, Map.of());
    List<AdminState> states = new ArrayList<>();
    AdminState s = s0;
    JsonObject oddAnswer = new JsonObject().put("revision", Long.MAX_VALUE - 99).put("big", Long.MIN_VALUE)
        .put("d", -0.0).put("tiny", Double.MIN_VALUE).put("nested", new JsonArray().add(new JsonObject()
            .put("x", (Object) null)).add(LONG_REASON)).put("at", precise.toString());
    s = s.withRegion("us-east", new AdminState.RegionOverride(AdminState.Mode.DRAIN, true, LONG_REASON, "olga", precise,
        far)).nextRevision("k/😀/" + LONG_REASON.codePoints().limit(100)
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append), oddAnswer);
    states.add(s);
    Map<String, Double> weights = new LinkedHashMap<>();
    weights.put("us-east", Double.MAX_VALUE);
    weights.put("us-west", Double.MIN_VALUE);
    weights.put("eu-west", 0.1 + 0.2);
    s = s.withPin("50N8E", new AdminState.ZonePin("50N8E", weights, LONG_REASON, "ada", Instant.MIN))
        .nextRevision(null, null);
    states.add(s);
    s = s.withPin("0N0E", new AdminState.ZonePin("0N0E", Map.of("eu-west", 1e-300), "", "", null))
        .nextRevision("", new JsonObject());
    states.add(s);
    s = s.withHomes(Map.of("us-east", "us-west", "eu-west", "eu-central"), Set.of("us-east", "eu-west"))
        .nextRevision(null, null);
    states.add(s);
    s = s.withFrozen(new AdminState.Freeze(LONG_REASON, "ada", precise, far)).nextRevision(null, null);
    states.add(s);
    s = s.withRegion("us-west", new AdminState.RegionOverride(AdminState.Mode.FAIL, false, "x", "olga", precise,
        null)).withRegion("us-east", null).nextRevision(null, null);
    states.add(s);
    s = s.withHomes(Map.of("eu-west", "eu-central"), Set.of("eu-west")).withPin("0N0E", null).withFrozen(null)
        .nextRevision(null, null);
    states.add(s);
    s = s.withHomes(Map.of(), Set.of()).withRegion("us-west", null).withPin("50N8E", null).nextRevision(null, null);
    states.add(s); // back to no overrides at all

    EmbeddedStateStore.Options every3 = EmbeddedStateStore.Options.defaults().withSnapshotEvery(3);
    for (int upTo = 0; upTo < states.size(); upTo++) {
      try (StateStore store = EmbeddedStateStore.open(dir, every3)) {
        JsonObject entry = new JsonObject().put("seq", states.get(upTo).revision()).put("reason", LONG_REASON)
            .put("n", upTo);
        store.append(entry, states.get(upTo));
      }
      try (StateStore store = EmbeddedStateStore.open(dir, every3)) {
        assertEquals(states.get(upTo), store.load(), "after change " + upTo);
        assertEquals(LONG_REASON, store.audit(1).get(0).getString("reason"));
      }
    }
  }

  @Test
  void valuesJsonCannotCarryAreRefusedAndNothingIsWritten(@TempDir Path dir) throws Exception {
    try (StateStore store = StateStore.embedded(dir)) {
      for (double bad : new double[] {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN}) {
        AdminState next = AdminState.EMPTY.withPin("1N1E", new AdminState.ZonePin("1N1E", Map.of("eu-west", bad),
            "r", "o", null)).nextRevision(null, null);
        var e = assertThrows(IllegalArgumentException.class, () -> store.append(new JsonObject(), next));
        assertTrue(e.getMessage().contains("pins.1N1E"), e.getMessage());
      }
      AdminState lone = AdminState.EMPTY.withFrozen(new AdminState.Freeze("\ud800", "o", Instant.EPOCH, null))
          .nextRevision(null, null);
      var e = assertThrows(IllegalArgumentException.class, () -> store.append(new JsonObject(), lone));
      assertTrue(e.getMessage().contains("would not read back"), e.getMessage());
      AdminState fine = AdminState.EMPTY.nextRevision(null, null);
      store.append(new JsonObject().put("seq", 1), fine);
    }
    try (StateStore store = StateStore.embedded(dir)) {
      assertEquals(1, store.load().revision());
      assertEquals(1, store.audit(10).size());
    }
  }

  @Test
  void everyAdminCommandIsAcknowledgedOnlyIfItReloads(Vertx vertx, @TempDir Path dir) throws Exception {
    String controller = "max_concurrent_drains: 3\nsuccessors: {us-east: us-central}\n";
    String reason = new JsonObject().put("r", LONG_REASON).encode();
    String r = reason.substring(5, reason.length() - 1); // the JSON string literal, quotes included
    String longest = "8760h"; // the longest expires_in: a year (Command.MAX_EXPIRES_IN)
    Instant start;
    JsonObject pinAnswer;
    JsonArray auditBefore;
    try (TestDeployment d = new TestDeployment(vertx, dir, controller, "")) {
      start = d.clock.instant();
      String[][] commands = {
          {"/v1/homes/us-east/promote", "{\"reason\":" + r + "}"},
          {"/v1/regions/us-west/drain", "{\"reason\":" + r + ",\"expires_in\":\"" + longest + "\"}"},
          {"/v1/regions/us-west/undrain", "{\"reason\":" + r + "}"},
          {"/v1/regions/us-west/fail", "{\"reason\":" + r + ",\"force\":true,\"expires_in\":\"" + longest + "\"}"},
          {"/v1/regions/us-west/restore", "{\"reason\":\"ok\"}"},
          {"/v1/homes/us-east/restore", "{\"reason\":\"back\"}"},
          {"/v1/zones/50N8E/pin", "{\"reason\":" + r + ",\"weights\":{\"eu-west\":1.7976931348623157E308}}"},
          {"/v1/zones/51N8E/pin", "{\"reason\":\"split\",\"weights\":{\"us-east\":4.9E-324,\"us-west\":1e-300}}"},
          {"/v1/zones/51N8E/unpin", "{\"reason\":\"done\"}"},
          {"/v1/freeze", "{\"reason\":" + r + "}"},
          {"/v1/unfreeze", "{\"reason\":\"over\"}"},
          {"/v1/freeze", "{\"reason\":\"again\",\"expires_in\":\"" + longest + "\"}"},
          {"/v1/regions/us-west/drain", "{\"reason\":" + r + ",\"expires_in\":\"1ms\"}"},
          {"/v1/homes/us-east/promote", "{\"reason\":\"final\"}"},
      };
      for (int i = 0; i < commands.length; i++) {
        var res = d.call("POST", commands[i][0], null, commands[i][1], "key-" + i + "-x");
        assertEquals(200, res.status(), commands[i][0] + ": " + res.body().encode());
      }
      // a retry is the same request: the key is bound to its route and body
      pinAnswer = d.call("POST", "/v1/zones/50N8E/pin", null, commands[6][1], "key-6-x").body();

      var inf = d.post("/v1/zones/50N8E/pin", null, "{\"reason\":\"x\",\"weights\":{\"eu-west\":1e309}}");
      assertEquals(400, inf.status());
      assertEquals("weights.eu-west: Infinity (expected: a finite number > 0)", inf.body().getString("message"));
      var sum = d.post("/v1/zones/50N8E/pin", null,
          "{\"reason\":\"x\",\"weights\":{\"eu-west\":1e308,\"us-east\":1e308}}");
      assertEquals(400, sum.status());
      assertTrue(sum.body().getString("message").startsWith("weights: total Infinity"), sum.body().encode());
      var surrogate = d.post("/v1/freeze", null, "{\"reason\":\"bad \\ud800 text\"}");
      assertEquals(400, surrogate.status());
      assertEquals("reason: unpaired surrogate \\ud800 at index 4 (expected: valid Unicode text)",
          surrogate.body().getString("message"));
      var tooLong = d.post("/v1/freeze", null, new JsonObject().put("reason", "x".repeat(2001)).encode());
      assertEquals(400, tooLong.status());
      assertEquals("reason: 2001 characters (expected: at most 2000)", tooLong.body().getString("message"));
      auditBefore = d.call("GET", "/v1/audit?limit=1000", null, null, null).body().getJsonArray("entries");
      assertEquals(commands.length, auditBefore.size(), "refused commands are not journaled");
    }

    try (StateStore store = StateStore.embedded(dir)) {
      AdminState s = store.load();
      assertEquals(Map.of("eu-west", Double.MAX_VALUE), s.pins().get("50N8E").weights());
      assertEquals(LONG_REASON, s.pins().get("50N8E").reason());
      assertEquals(start.plus(ConfigNode.parseDuration(longest)), s.frozen().expiresAt());
      assertEquals(LONG_REASON, s.regions().get("us-west").reason());
      assertEquals(Map.of("us-east", "us-central"), s.promotions());
      assertEquals(Set.of("us-east"), s.fenced());
      assertEquals(Set.of("50N8E"), s.pins().keySet());
    }

    try (TestDeployment d = new TestDeployment(vertx, dir, controller, "")) {
      assertEquals(auditBefore, d.call("GET", "/v1/audit?limit=1000", null, null, null).body()
          .getJsonArray("entries"));
      var again = d.call("POST", "/v1/zones/50N8E/pin", null, "{\"reason\":" + r
          + ",\"weights\":{\"eu-west\":1.7976931348623157E308}}", "key-6-x");
      assertEquals(200, again.status());
      assertEquals("true", again.headers().firstValue("Idempotent-Replayed").orElse(""));
      assertEquals(pinAnswer, again.body(), "the stored answer is replayed after a restart");
      assertEquals(7, again.body().getLong("revision"));
    }
  }
}
