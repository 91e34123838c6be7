package io.meridian.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.geo.Zones;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Plans as bytes (etcd, disk) read back exactly; damaged bytes are refused; the last-known-good file. */
class PlanCodecAndCacheTest {

  static RoutingPlan randomPlan(long version, Random rnd) {
    int n = 1 + rnd.nextInt(8);
    List<String> ids = new java.util.ArrayList<>();
    double[] lat = new double[n];
    double[] lon = new double[n];
    List<RegionState> states = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add("r-" + i);
      lat[i] = rnd.nextDouble() * 170 - 85;
      lon[i] = rnd.nextDouble() * 350 - 175;
      states.add(new RegionState(ids.get(i), lat[i], lon[i], rnd.nextBoolean() ? "eu" : "us",
          Health.values()[rnd.nextInt(Health.values().length)], Lifecycle.values()[rnd.nextInt(Lifecycle.values().length)],
          rnd.nextInt(100_000), rnd.nextDouble() * 5000, rnd.nextDouble(),
          rnd.nextInt(4) == 0 ? Double.NaN : rnd.nextDouble() * 80_000));
    }
    Map<String, ZoneRoute> zones = new LinkedHashMap<>();
    for (int z = rnd.nextInt(300); z > 0; z--) {
      int idx = rnd.nextInt(Zones.COUNT);
      List<ZoneRoute.Choice> choices = new java.util.ArrayList<>();
      for (int c = 1 + rnd.nextInt(n); c > 0; c--) {
        choices.add(new ZoneRoute.Choice(ids.get(rnd.nextInt(n)), rnd.nextDouble() * 10));
      }
      zones.put(Zones.id(idx), new ZoneRoute(Zones.id(idx), choices, rnd.nextBoolean() ? 0 : rnd.nextDouble()));
    }
    HomeAssignments homes = rnd.nextBoolean() ? HomeAssignments.NONE
        : new HomeAssignments(Map.of(ids.get(0), ids.get(n - 1)), Set.of(ids.get(0)));
    return new RoutingPlan(version, Instant.ofEpochSecond(1_700_000_000L + rnd.nextInt(1000), rnd.nextInt(1_000_000_000)),
        "because ünïcödé " + rnd.nextInt(), Topology.of(ids, lat, lon), states, ZoneRoutes.of(zones), homes,
        rnd.nextDouble() * 100);
  }

  @Test
  void everyPlanReadsBackExactly() {
    Random rnd = new Random(42);
    for (int i = 0; i < 300; i++) {
      RoutingPlan p = randomPlan(i + 1, rnd);
      RoutingPlan back = PlanCodec.decode(PlanCodec.encode(p));
      assertEquals(PlanJson.toJson(p), PlanJson.toJson(back), "plan " + i);
      assertEquals(p.createdAt(), back.createdAt());
      for (int z = 0; z < Zones.COUNT; z += 97) {
        assertEquals(p.zones().get(z), back.zones().get(z));
      }
      assertEquals(p.zones().size(), back.zones().size());
      assertEquals(p.regions(), back.regions());
      RoutingPlan fromJson = PlanJson.fromJson(new io.vertx.core.json.JsonObject(PlanJson.toJson(p).encode()));
      assertEquals(p.regions(), fromJson.regions(), "JSON keeps allowed_rps, NaN included");
      assertEquals(p.zones().asMap(), fromJson.zones().asMap(), "JSON keeps each zone's shed");
    }
  }

  /**
   * A plan of format 1 (the release before per-zone shed and allowed rps), written field by field as that
   * release wrote it: one region, one zone route.
   */
  static byte[] formatOnePlan(int format) throws Exception {
    java.io.ByteArrayOutputStream raw = new java.io.ByteArrayOutputStream();
    try (java.io.DataOutputStream out = new java.io.DataOutputStream(raw)) {
      out.writeInt(0x4d52504c);
      out.writeByte(format);
      out.writeLong(9);
      out.writeLong(1_700_000_000L);
      out.writeInt(0);
      out.writeUTF("old");
      out.writeShort(1);
      out.writeUTF("eu-west");
      out.writeDouble(53.3);
      out.writeDouble(-6.3);
      out.writeUTF("eu");
      out.writeByte(Health.HEALTHY.ordinal());
      out.writeByte(Lifecycle.ACTIVE.ordinal());
      out.writeDouble(1000);
      out.writeDouble(400);
      out.writeDouble(1);
      out.writeInt(1);
      out.writeInt(Zones.parse("50N8E"));
      out.writeByte(1);
      out.writeShort(0);
      out.writeDouble(1.0);
      out.writeShort(0);
      out.writeShort(0);
      out.writeDouble(12.5);
    }
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.util.zip.DeflaterOutputStream d = new java.util.zip.DeflaterOutputStream(bytes)) {
      raw.writeTo(d);
    }
    return bytes.toByteArray();
  }

  @Test
  void aFormatOnePlanOnDiskIsReadWithNothingShedAndNoStatedLimit(@TempDir Path dir) throws Exception {
    Files.write(dir.resolve("lkg.gz"), formatOnePlan(1));
    RoutingPlan p = PlanCache.at(dir.resolve("lkg.gz")).load().orElseThrow();
    assertEquals(9, p.version());
    assertEquals(12.5, p.shortfallRps());
    assertEquals(0.0, p.zones().get(Zones.parse("50N8E")).shed());
    assertTrue(Double.isNaN(p.region(0).allowedRps()), "format 1 states no limit");
    RoutingPlan again = PlanCodec.decode(PlanCodec.encode(p));
    assertEquals(p.regions(), again.regions(), "re-encoded as format 2");
  }

  @Test
  void aNewerFormatIsRefusedWithItsNumber() throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PlanCodec.decode(formatOnePlan(3)));
    assertTrue(e.getMessage().startsWith("plan format 3 (expected: 1 or 2"), e.getMessage());
  }

  @Test
  void damagedOrTruncatedBytesAreRefusedNeverHalfRead() {
    RoutingPlan p = randomPlan(7, new Random(1));
    byte[] b = PlanCodec.encode(p);
    for (int cut = 0; cut < b.length; cut += Math.max(1, b.length / 50)) {
      byte[] part = Arrays.copyOf(b, cut);
      assertThrows(IllegalArgumentException.class, () -> PlanCodec.decode(part), "cut at " + cut);
    }
  }

  @Test
  void aPlanWithTheSameRegionsKeepsThePreviousTopologyAndItsRankings() {
    RoutingPlan p = randomPlan(1, new Random(3));
    RoutingPlan next = PlanCodec.decode(PlanCodec.encode(p), p.topology());
    assertSame(p.topology(), next.topology());
    RoutingPlan other = randomPlan(2, new Random(4));
    assertNotSame(p.topology(), PlanCodec.decode(PlanCodec.encode(other), p.topology()).topology());
  }

  @Test
  void lastKnownGoodPlanIsWrittenAtomicallyAndOnlyForward(@TempDir Path dir) throws Exception {
    PlanCache cache = PlanCache.at(dir.resolve("lkg.gz"));
    assertTrue(cache.load().isEmpty());
    RoutingPlan v5 = randomPlan(5, new Random(5));
    cache.save(v5);
    cache.save(randomPlan(4, new Random(6))); // older: ignored
    assertEquals(5, PlanCache.at(dir.resolve("lkg.gz")).load().orElseThrow().version());
    assertTrue(Files.list(dir).noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temp file left");
    Files.write(dir.resolve("lkg.gz"), new byte[] {1, 2, 3});
    assertTrue(PlanCache.at(dir.resolve("lkg.gz")).load().isEmpty(), "an unreadable file is ignored, not fatal");
  }
}
