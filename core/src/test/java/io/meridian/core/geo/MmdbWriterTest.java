package io.meridian.core.geo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.maxmind.db.DatabaseRecord;
import com.maxmind.db.MaxMindDbConstructor;
import com.maxmind.db.MaxMindDbParameter;
import com.maxmind.db.Metadata;
import com.maxmind.db.Networks;
import com.maxmind.db.Reader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MmdbWriterTest {
  private static final Map<String, Object> FRANKFURT = city("Frankfurt", "DE", "EU", 50.11, 8.68);
  private static final Map<String, Object> LONDON = city("London", "GB", "EU", 51.51, -0.13);
  private static final Map<String, Object> TOKYO = city("Tokyo", "JP", "AS", 35.68, 139.69);
  private static final Map<String, Object> SAO_PAULO = city("São Paulo", "BR", "SA", -23.55, -46.63);

  @TempDir
  Path dir;

  static Map<String, Object> city(String name, String iso, String continent, double lat, double lon) {
    return Map.of(
        "city", Map.of("names", Map.of("en", name)),
        "country", Map.of("iso_code", iso),
        "continent", Map.of("code", continent),
        "location", Map.of("latitude", lat, "longitude", lon));
  }

  private static MmdbWriter cityDb() {
    return MmdbWriter.create("Test-City")
        .insert("81.2.69.0/24", FRANKFURT)
        .insert("2.125.0.0/16", LONDON)
        .insert("2001:db8::/32", TOKYO)
        .insert("2a02:1234:5600::/40", SAO_PAULO);
  }

  @Test
  void cityShapedRecordsReadBackWithTheirNetworks() throws IOException {
    try (Reader reader = inMemory(cityDb().toBytes())) {
      assertCity(reader, "81.2.69.7", "Frankfurt", "DE", "EU", 50.11, 8.68, 24);
      assertCity(reader, "81.2.69.255", "Frankfurt", "DE", "EU", 50.11, 8.68, 24);
      assertCity(reader, "2.125.160.216", "London", "GB", "EU", 51.51, -0.13, 16);
      assertCity(reader, "2001:db8:1::1", "Tokyo", "JP", "AS", 35.68, 139.69, 32);
      assertCity(reader, "2a02:1234:56ff::1", "São Paulo", "BR", "SA", -23.55, -46.63, 40);

      // The same record through a typed class, the way the production locator reads it.
      DatabaseRecord<Geo> typed = reader.getRecord(InetAddress.getByName("81.2.69.7"), Geo.class);
      assertEquals("Frankfurt", typed.getData().city.names.en);
      assertEquals("DE", typed.getData().country.isoCode);
      assertEquals("EU", typed.getData().continent.code);
      assertEquals(50.11, typed.getData().location.latitude);
      assertEquals(8.68, typed.getData().location.longitude);
      assertEquals(24, typed.getNetwork().getPrefixLength());
      assertEquals("81.2.69.0", typed.getNetwork().getNetworkAddress().getHostAddress());
    }
  }

  @Test
  void addressesOutsideEveryNetworkAreNotFound() throws IOException {
    try (Reader reader = inMemory(cityDb().toBytes())) {
      for (String ip : List.of("8.8.8.8", "81.2.70.1", "81.2.68.255", "2.124.255.255", "0.0.0.0",
          "255.255.255.255", "2001:db9::1", "2a02:1234:5700::", "::1", "ffff::1")) {
        assertNull(reader.get(InetAddress.getByName(ip), Map.class), ip);
        DatabaseRecord<Map<String, Object>> rec = lookup(reader, ip);
        assertNull(rec.getData(), ip);
      }
    }
  }

  @ParameterizedTest(name = "insertion order {0}")
  @ValueSource(strings = {"ABC", "ACB", "BAC", "BCA", "CAB", "CBA"})
  void longestPrefixWinsWhateverTheInsertionOrder(String order) throws IOException {
    Map<Character, String[]> nets = Map.of(
        'A', new String[] {"10.0.0.0/8", "2001:db8::/32"},
        'B', new String[] {"10.1.0.0/16", "2001:db8:aa00::/40"},
        'C', new String[] {"10.1.2.0/24", "2001:db8:aabb::/48"});
    MmdbWriter w = MmdbWriter.create("Test");
    for (char c : order.toCharArray()) {
      w.insert(nets.get(c)[0], Map.of("net", String.valueOf(c)));
      w.insert(nets.get(c)[1], Map.of("net", String.valueOf(c)));
    }
    try (Reader reader = inMemory(w.toBytes())) {
      assertNet(reader, "10.1.2.3", "C", 24);
      assertNet(reader, "10.1.3.1", "B", 24);   // B was split along the path to 10.1.2.0/24
      assertNet(reader, "10.1.128.1", "B", 17);
      assertNet(reader, "10.200.0.1", "A", 9);   // 10.200/16 leaves 10.1/16's path at bit 9
      assertNet(reader, "10.255.255.255", "A", 9);
      assertNet(reader, "11.0.0.1", null, 8);
      assertNet(reader, "2001:db8:aabb:1::1", "C", 48);
      assertNet(reader, "2001:db8:aa01::1", "B", 41);
      assertNet(reader, "2001:db8:ffff::1", "A", 34);
    }
  }

  @Test
  void samePrefixInsertedAgainReplacesItsData() throws IOException {
    MmdbWriter w = MmdbWriter.create("Test")
        .insert("192.0.2.0/24", Map.of("v", "old"))
        .insert("192.0.2.128/25", Map.of("v", "inner"))
        .insert("192.0.2.0/24", Map.of("v", "new"))
        .insert("2001:db8::/32", Map.of("v", "old"))
        .insert("2001:db8::/32", Map.of("v", "new"));
    try (Reader reader = inMemory(w.toBytes())) {
      assertNet(reader, "192.0.2.1", "new", 25);
      assertNet(reader, "192.0.2.200", "inner", 25);
      assertNet(reader, "2001:db8::1", "new", 32);
    }
    String bytes = new String(w.toBytes(), StandardCharsets.ISO_8859_1);
    assertFalse(bytes.contains("old"), "replaced data is not written");
  }

  @Test
  void defaultRoutesCoverEverythingNotMoreSpecific() throws IOException {
    MmdbWriter w = MmdbWriter.create("Test")
        .insert("198.51.100.0/24", Map.of("net", "specific"))
        .insert("0.0.0.0/0", Map.of("net", "v4-default"))
        .insert("::/0", Map.of("net", "v6-default"));
    try (Reader reader = inMemory(w.toBytes())) {
      assertNet(reader, "198.51.100.9", "specific", 24);
      assertNet(reader, "8.8.8.8", "v4-default", 1);
      assertNet(reader, "2001:db8::1", "v6-default", 15); // the 2002::/16 alias splits ::/0 along its path
      assertNet(reader, "8000::1", "v6-default", 1);
    }
  }

  /** 5,000 random networks, each lookup checked against a brute-force longest-prefix match. */
  @ParameterizedTest(name = "record size {0}")
  @ValueSource(ints = {0, 24, 28, 32})
  void randomNetworksMatchNaiveLongestPrefixMatch(int recordSize) throws IOException {
    Random random = new Random(20240601L + recordSize);
    MmdbWriter w = MmdbWriter.create("Test-Random").recordSize(recordSize);
    List<Net> nets = new ArrayList<>();
    for (int i = 0; i < 5000; i++) {
      boolean v4 = random.nextInt(3) > 0;
      byte[] addr = new byte[16];
      int len;
      if (v4) {
        random.nextBytes(addr);
        java.util.Arrays.fill(addr, 0, 12, (byte) 0);
        addr[12] = (byte) (1 + random.nextInt(223)); // keep clear of 0/8 only for readability
        len = 96 + 8 + random.nextInt(25);
      } else {
        random.nextBytes(addr);
        addr[0] = (byte) (0x24 + random.nextInt(12)); // 2400::-2fff::, never 2002::/16 or ::/96
        len = 12 + random.nextInt(53);
      }
      mask(addr, len);
      // Repeated values exercise de-duplication; a few exact duplicates of earlier prefixes test replacement.
      if (i > 0 && random.nextInt(50) == 0) {
        Net earlier = nets.get(random.nextInt(nets.size()));
        addr = earlier.addr.clone();
        len = earlier.len;
      }
      Map<String, Object> data = Map.of("id", i % 700, "label", "net-" + (i % 300));
      Net net = new Net(addr, len, data, i);
      nets.add(net);
      w.insert(net.cidr(), data);
    }
    // Where the tree has nodes: every inserted network's path, plus the alias paths the writer adds.
    List<Net> treeShape = new ArrayList<>(nets);
    treeShape.add(new Net(new byte[16], 97, null, -1));
    treeShape.add(new Net(ipv4Mapped(), 96, null, -1));
    treeShape.add(new Net(InetAddress.getByName("2002::").getAddress(), 16, null, -1));

    byte[] db = w.toBytes();
    try (Reader reader = inMemory(db)) {
      List<byte[]> probes = new ArrayList<>();
      for (Net n : nets) {
        byte[] inside = n.addr.clone();
        for (int b = n.len; b < 128; b++) {
          if (random.nextBoolean()) {
            inside[b >> 3] |= (byte) (0x80 >>> (b & 7));
          }
        }
        probes.add(inside);
      }
      for (int i = 0; i < 3000; i++) { // random addresses, mostly outside every network
        byte[] a = new byte[16];
        random.nextBytes(a);
        if (i % 2 == 0) {
          java.util.Arrays.fill(a, 0, 12, (byte) 0);
        } else {
          a[0] = (byte) (0x24 + random.nextInt(12));
        }
        probes.add(a);
      }
      for (byte[] probe : probes) {
        boolean v4 = isV4(probe);
        InetAddress ip = v4 ? InetAddress.getByAddress(java.util.Arrays.copyOfRange(probe, 12, 16))
            : InetAddress.getByAddress(probe);
        Net expected = null;
        int depth = 0;
        for (Net n : nets) {
          if (n.contains(probe) && (expected == null || n.len > expected.len
              || n.len == expected.len && n.order > expected.order)) {
            expected = n;
          }
        }
        for (Net n : treeShape) {
          depth = Math.max(depth, Math.min(n.len, commonPrefix(n.addr, probe) + 1));
        }
        DatabaseRecord<Map<String, Object>> rec = lookup(reader, ip);
        String what = ip.getHostAddress() + " expected " + (expected == null ? "none" : expected.cidr());
        if (expected == null) {
          assertNull(rec.getData(), what);
        } else {
          assertNotNull(rec.getData(), what);
          assertEquals(((Integer) expected.data.get("id")).longValue(), rec.getData().get("id"), what);
          assertEquals(expected.data.get("label"), rec.getData().get("label"), what);
        }
        assertEquals(v4 ? depth - 96 : depth, rec.getNetwork().getPrefixLength(), what);
      }
    }
  }

  @Test
  void recordSizesUseTwentyFourTwentyEightAndThirtyTwoBitsPerRecord() {
    Map<Integer, Integer> sizes = new HashMap<>();
    for (int bits : new int[] {24, 28, 32}) {
      MmdbWriter w = cityDb().recordSize(bits).buildEpoch(1);
      sizes.put(bits, w.toBytes().length);
    }
    int nodes = sizes.get(28) - sizes.get(24); // one more byte per node for each 4 bits per record
    assertTrue(nodes > 100, "node count " + nodes);
    assertEquals(nodes, sizes.get(32) - sizes.get(28));
    // A small database is written with the smallest record size.
    assertEquals(sizes.get(24), cityDb().buildEpoch(1).toBytes().length);
  }

  /** Record values past 2^24 need 28 bits, whose high nibbles share the node's middle byte. */
  @Test
  void largeDataSectionIsAddressedWithTwentyEightBitRecords() throws IOException {
    MmdbWriter w = MmdbWriter.create("Test-Large");
    for (int i = 0; i < 300; i++) {
      // 300 distinct 60 kB records make an 18 MB data section. Only the lower /25 of each /24 has data, so the
      // two records of a node differ in their high nibble (data past 2^24 vs. the "no data" value).
      w.insert(String.format("10.%d.%d.0/25", i / 256, i % 256),
          Map.of("blob", (char) ('A' + i % 26) + "x".repeat(60_000) + i, "i", i));
    }
    IllegalStateException tooSmall = assertThrows(IllegalStateException.class, () -> w.recordSize(24).toBytes());
    assertTrue(tooSmall.getMessage().contains("record size 24"), tooSmall.getMessage());
    byte[] db = w.recordSize(0).toBytes();
    try (Reader reader = inMemory(db)) {
      for (int i = 0; i < 300; i++) {
        Map<String, Object> got = lookup(reader, String.format("10.%d.%d.5", i / 256, i % 256)).getData();
        assertEquals((long) i, got.get("i"));
        assertTrue(((String) got.get("blob")).endsWith("x" + i));
        assertNull(lookup(reader, String.format("10.%d.%d.200", i / 256, i % 256)).getData());
      }
    }
  }

  @Test
  void readableMemoryMappedFromAWrittenFile() throws IOException {
    Path file = dir.resolve("city.mmdb");
    cityDb().write(file);
    try (Reader reader = new Reader(file.toFile(), Reader.FileMode.MEMORY_MAPPED)) {
      assertCity(reader, "81.2.69.7", "Frankfurt", "DE", "EU", 50.11, 8.68, 24);
      assertCity(reader, "2a02:1234:56ff::1", "São Paulo", "BR", "SA", -23.55, -46.63, 40);
      assertNull(reader.get(InetAddress.getByName("8.8.8.8"), Map.class));
    }
    try (Reader reader = new Reader(file.toFile(), Reader.FileMode.MEMORY)) {
      assertCity(reader, "2.125.160.216", "London", "GB", "EU", 51.51, -0.13, 16);
    }
  }

  @Test
  void writeReplacesAtomicallyAndLeavesNoTempFiles() throws IOException {
    Path file = dir.resolve("sub").resolve("geo.mmdb");
    MmdbWriter.create("Test").insert("203.0.113.0/24", Map.of("v", "first")).write(file);
    MmdbWriter.create("Test").insert("203.0.113.0/24", Map.of("v", "second")).write(file);
    try (Reader reader = new Reader(file.toFile())) {
      assertNet(reader, "203.0.113.1", "second", 24);
    }
    try (Stream<Path> files = Files.list(file.getParent())) {
      assertEquals(List.of(file), files.collect(Collectors.toList()));
    }
  }

  @Test
  void metadataFollowsTheSpec() throws IOException {
    MmdbWriter w = cityDb().languages("en", "de").description("de", "Testdatenbank").buildEpoch(1_700_000_000L);
    try (Reader reader = inMemory(w.toBytes())) {
      Metadata m = reader.getMetadata();
      assertEquals("Test-City", m.getDatabaseType());
      assertEquals(6, m.getIpVersion());
      assertEquals(2, m.getBinaryFormatMajorVersion());
      assertEquals(0, m.getBinaryFormatMinorVersion());
      assertEquals(List.of("en", "de"), m.getLanguages());
      assertEquals("Testdatenbank", m.getDescription().get("de"));
      assertTrue(m.getDescription().containsKey("en"));
      assertEquals(1_700_000_000_000L, m.getBuildDate().getTime());
    }
  }

  @Test
  void everyValueTypeRoundTrips() throws IOException {
    Map<String, Object> wide = new LinkedHashMap<>();
    for (int i = 0; i < 40; i++) {
      wide.put("k" + i, i); // 40 entries: size needs the one-byte extension (29..284)
    }
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("utf8", "Zürich – 東京 ✓");
    data.put("double", 1.5);
    data.put("float", 2.5f);
    data.put("uint32", 42);
    data.put("zero", 0);
    data.put("negative", -7);
    data.put("minInt", Integer.MIN_VALUE);
    data.put("uint64", Long.MAX_VALUE);
    data.put("uint128", BigInteger.TWO.pow(127).add(BigInteger.ONE));
    data.put("typedUint16", MmdbWriter.uint16(65_535));
    data.put("typedUint32", MmdbWriter.uint32(4_294_967_295L));
    data.put("typedInt32", MmdbWriter.int32(123));
    data.put("true", true);
    data.put("false", false);
    data.put("array", List.of("a", 1, List.of(), Map.of("x", true)));
    data.put("emptyMap", Map.of());
    data.put("wide", wide);
    data.put("s300", "x".repeat(300));       // two-byte size extension (285..65820)
    data.put("s70000", "y".repeat(70_000));  // three-byte size extension
    try (Reader reader = inMemory(MmdbWriter.create("Types").insert("192.0.2.0/24", data).toBytes())) {
      Map<String, Object> got = lookup(reader, "192.0.2.1").getData();
      assertEquals("Zürich – 東京 ✓", got.get("utf8"));
      assertEquals(1.5, got.get("double"));
      assertEquals(2.5, got.get("float"));
      assertEquals(42L, got.get("uint32"));
      assertEquals(0L, got.get("zero"));
      assertEquals(-7, got.get("negative"));
      assertEquals(Integer.MIN_VALUE, got.get("minInt"));
      assertEquals(BigInteger.valueOf(Long.MAX_VALUE), got.get("uint64"));
      assertEquals(BigInteger.TWO.pow(127).add(BigInteger.ONE), got.get("uint128"));
      assertEquals(65_535, got.get("typedUint16"));
      assertEquals(4_294_967_295L, got.get("typedUint32"));
      assertEquals(123, got.get("typedInt32"));
      assertEquals(true, got.get("true"));
      assertEquals(false, got.get("false"));
      assertEquals(List.of("a", 1L, List.of(), Map.of("x", true)), got.get("array"));
      assertEquals(Map.of(), got.get("emptyMap"));
      assertEquals(40, ((Map<?, ?>) got.get("wide")).size());
      assertEquals(39L, ((Map<?, ?>) got.get("wide")).get("k39"));
      assertEquals("x".repeat(300), got.get("s300"));
      assertEquals("y".repeat(70_000), got.get("s70000"));
    }
  }

  @Test
  void identicalValuesAreStoredOnce() throws IOException {
    MmdbWriter w = MmdbWriter.create("Test");
    for (int i = 0; i < 1000; i++) {
      w.insert("10." + (i / 256) + "." + (i % 256) + ".0/24", FRANKFURT); // same record 1000 times
    }
    // A different record sharing the city name and country map: those become pointers.
    w.insert("2001:db8::/32", city("Frankfurt", "DE", "EU", 50.0, 8.0));
    byte[] db = w.toBytes();
    assertEquals(1, occurrences(db, "Frankfurt"));
    assertEquals(1, occurrences(db, "iso_code"));
    try (Reader reader = inMemory(db)) {
      assertCity(reader, "10.3.231.1", "Frankfurt", "DE", "EU", 50.11, 8.68, 24);
      assertCity(reader, "2001:db8::1", "Frankfurt", "DE", "EU", 50.0, 8.0, 32);
    }
  }

  /** Pointers of every width the data section needs: offsets past 2,048 and past 526,336 bytes. */
  @Test
  void pointersIntoALargeDataSectionResolve() throws IOException {
    MmdbWriter w = MmdbWriter.create("Test");
    for (int i = 0; i < 4000; i++) {
      // A unique 200-byte pad grows the data section to ~900 kB; pairs share a group string, so the second of
      // each pair points back to wherever the first one landed.
      w.insert("10." + (i / 256) + "." + (i % 256) + ".0/24",
          Map.of("pad", i + "-" + "p".repeat(200), "group", "group-name-" + (i / 2)));
    }
    byte[] db = w.toBytes();
    assertTrue(db.length > 800_000, "data section too small to need wide pointers: " + db.length);
    assertEquals(1, occurrences(db, "group-name-1999")); // written once, pointed to once
    try (Reader reader = inMemory(db)) {
      for (int i = 0; i < 4000; i++) {
        Map<String, Object> got = lookup(reader, "10." + (i / 256) + "." + (i % 256) + ".9").getData();
        assertEquals("group-name-" + (i / 2), got.get("group"));
        assertEquals(i + "-" + "p".repeat(200), got.get("pad"));
      }
    }
  }

  @Test
  void ipv4MappedAndSixToFourAddressesReachTheIpv4Subtree() throws Exception {
    byte[] mapped = ipv4Mapped();
    mapped[12] = 81;
    mapped[13] = 2;
    mapped[14] = 69;
    mapped[15] = 7;
    Inet6Address mappedAddress = Inet6Address.getByAddress(null, mapped, -1);
    InetAddress sixToFour = InetAddress.getByName("2002:5102:4507::1"); // 81.2.69.7 in 6to4
    try (Reader reader = inMemory(cityDb().toBytes())) {
      DatabaseRecord<Map<String, Object>> viaMapped = lookup(reader, mappedAddress);
      assertEquals("DE", at(viaMapped.getData(), "country", "iso_code"));
      assertEquals(96 + 24, viaMapped.getNetwork().getPrefixLength());
      DatabaseRecord<Map<String, Object>> via6to4 = lookup(reader, sixToFour);
      assertEquals("DE", at(via6to4.getData(), "country", "iso_code"));
      assertEquals(16 + 24, via6to4.getNetwork().getPrefixLength());

      // Iterating networks must terminate despite the aliases, and yield the inserted ones.
      Networks<?> networks = reader.networks(Map.class);
      Set<String> seen = new HashSet<>();
      while (networks.hasNext()) {
        seen.add(networks.next().getNetwork().toString());
      }
      assertTrue(seen.contains("81.2.69.0/24"), seen.toString());
      assertTrue(seen.contains("2a02:1234:5600:0:0:0:0:0/40"), seen.toString());
      assertEquals(4, seen.size(), seen.toString());
    }
    try (Reader reader = inMemory(cityDb().ipv4Aliasing(false).toBytes())) {
      assertNull(lookup(reader, mappedAddress).getData());
      assertNull(lookup(reader, sixToFour).getData());
      assertEquals("DE", at(lookup(reader, "81.2.69.7").getData(), "country", "iso_code"));
    }

    assertThrows(IllegalArgumentException.class, () -> cityDb().insert("::ffff:1.2.3.0/120", FRANKFURT));
    assertThrows(IllegalArgumentException.class, () -> cityDb().insert("2002:abcd::/32", FRANKFURT));
    MmdbWriter unaliased = cityDb().ipv4Aliasing(false).insert("2002:5102::/32", LONDON);
    try (Reader reader = inMemory(unaliased.toBytes())) {
      assertEquals("GB", at(lookup(reader, sixToFour).getData(), "country", "iso_code"));
    }
    MmdbWriter written = cityDb();
    written.toBytes();
    assertThrows(IllegalStateException.class, () -> written.ipv4Aliasing(false));
  }

  @Test
  void invalidInputIsRejected() {
    MmdbWriter w = MmdbWriter.create("Test");
    for (String bad : List.of("1.2.3.4/33", "1.2.3.4/24", "300.1.1.0/24", "1.2.3/24", "example.com/24", "::1/129",
        "2001:db8::1/32", "2001:db8::/x", "fe80::%1/64", "", "1.2.3.0/-1")) {
      assertThrows(IllegalArgumentException.class, () -> w.insert(bad, FRANKFURT), bad);
    }
    Map<String, Object> withNull = new HashMap<>();
    withNull.put("x", null);
    assertThrows(IllegalArgumentException.class, () -> w.insert("1.2.3.0/24", withNull));
    assertThrows(IllegalArgumentException.class, () -> w.insert("1.2.3.0/24", Map.of("x", new Object())));
    assertThrows(IllegalArgumentException.class, () -> w.insert("1.2.3.0/24", Map.of("x", -1L)));
    assertThrows(IllegalArgumentException.class, () -> w.insert("1.2.3.0/24", Map.of("x", Map.of(1, "a"))));
    assertThrows(IllegalArgumentException.class, () -> MmdbWriter.uint16(65_536));
    assertThrows(IllegalArgumentException.class, () -> w.recordSize(16));
    // A host address without a prefix length is a /32 (or /128).
    w.insert("192.0.2.55", LONDON);
  }

  @Test
  void outputDoesNotDependOnMapIterationOrder() {
    Map<String, Object> ab = new LinkedHashMap<>();
    ab.put("a", 1);
    ab.put("b", Map.of("x", 1.0, "y", 2.0, "z", 3.0));
    Map<String, Object> ba = new LinkedHashMap<>();
    ba.put("b", Map.of("z", 3.0, "y", 2.0, "x", 1.0));
    ba.put("a", 1);
    assertArrayEquals(MmdbWriter.create("T").buildEpoch(5).insert("192.0.2.0/24", ab).toBytes(),
        MmdbWriter.create("T").buildEpoch(5).insert("192.0.2.0/24", ba).toBytes());
  }

  @Test
  void insertedDataIsCopied() throws IOException {
    Map<String, Object> data = new HashMap<>(Map.of("v", "before"));
    MmdbWriter w = MmdbWriter.create("Test").insert("192.0.2.0/24", data);
    data.put("v", "after");
    try (Reader reader = inMemory(w.toBytes())) {
      assertNet(reader, "192.0.2.1", "before", 24);
    }
  }

  @Test
  void syntheticCityDbIsDeterministicAndReadable() throws IOException {
    List<SyntheticGeoDb.Entry> entries = SyntheticGeoDb.networks(2000, 7);
    assertEquals(2000 + 250, entries.size());
    assertEquals(entries, SyntheticGeoDb.networks(2000, 7));
    assertEquals(entries.size(), entries.stream().map(SyntheticGeoDb.Entry::cidr).distinct().count());
    assertEquals(Set.of("AF", "AS", "EU", "NA", "OC", "SA"),
        entries.stream().map(SyntheticGeoDb.Entry::continentCode).collect(Collectors.toSet()));
    assertArrayEquals(SyntheticGeoDb.cityDbBytes(2000, 7), SyntheticGeoDb.cityDbBytes(2000, 7));

    Path file = dir.resolve("synthetic.mmdb");
    assertEquals(entries, SyntheticGeoDb.writeCityDb(file, 2000, 7));
    try (Reader reader = new Reader(file.toFile(), Reader.FileMode.MEMORY_MAPPED)) {
      assertEquals(SyntheticGeoDb.DATABASE_TYPE, reader.getMetadata().getDatabaseType());
      for (SyntheticGeoDb.Entry e : entries) {
        String ip = e.cidr().substring(0, e.cidr().indexOf('/'));
        boolean v4 = !ip.contains(":");
        DatabaseRecord<Geo> rec = reader.getRecord(InetAddress.getByName(v4 ? ip.replaceAll("0$", "77")
            : ip + "1"), Geo.class);
        assertNotNull(rec.getData(), e.cidr());
        assertEquals(e.countryIso(), rec.getData().country.isoCode, e.cidr());
        assertEquals(e.continentCode(), rec.getData().continent.code, e.cidr());
        assertEquals(e.city(), rec.getData().city.names.en, e.cidr());
        assertEquals(e.latitude(), rec.getData().location.latitude, e.cidr());
        assertTrue(rec.getData().location.accuracyRadius > 0);
        assertEquals(v4 ? 24 : 48, rec.getNetwork().getPrefixLength(), e.cidr());
      }
    }
  }

  @Test
  void clusteredNetworksLocateEveryAddressInRunsOfNeighbouringNetworks() throws IOException {
    List<SyntheticGeoDb.Entry> entries = SyntheticGeoDb.clusteredNetworks("10.16.0.0/12", 3);
    assertEquals(entries, SyntheticGeoDb.clusteredNetworks("10.16.0.0/12", 3));
    // the networks tile the block in order: each starts where the one before ended, /16 to /24, none outside
    long next = 0x0A100000L;
    int sameCityNeighbours = 0;
    int otherContinentNeighbours = 0;
    SyntheticGeoDb.Entry before = null;
    for (SyntheticGeoDb.Entry e : entries) {
      int prefix = Integer.parseInt(e.cidr().substring(e.cidr().indexOf('/') + 1));
      assertTrue(prefix >= 16 && prefix <= 24, e.cidr());
      assertEquals(next, ipv4(e.cidr().substring(0, e.cidr().indexOf('/'))), e.cidr());
      next += 1L << (32 - prefix);
      if (before != null) {
        sameCityNeighbours += before.city().equals(e.city()) ? 1 : 0;
        otherContinentNeighbours += before.continentCode().equals(e.continentCode()) ? 0 : 1;
      }
      before = e;
    }
    assertEquals(0x0A200000L, next, "the last network ends where the block ends");
    // merging material: neighbours of one city that are separate networks, and continent borders
    assertTrue(sameCityNeighbours > entries.size() / 4, sameCityNeighbours + " of " + entries.size());
    assertTrue(otherContinentNeighbours > 10, String.valueOf(otherContinentNeighbours));
    assertTrue(entries.stream().map(SyntheticGeoDb.Entry::continentCode).distinct().count() >= 5);

    Path file = dir.resolve("clustered.mmdb");
    SyntheticGeoDb.write(file, entries, 3);
    try (Reader reader = new Reader(file.toFile())) {
      for (SyntheticGeoDb.Entry e : entries) {
        DatabaseRecord<Geo> rec = reader.getRecord(InetAddress.getByName(e.cidr().substring(0,
            e.cidr().indexOf('/'))), Geo.class);
        assertEquals(e.city(), rec.getData().city.names.en, e.cidr());
        assertEquals(e.cidr().substring(e.cidr().indexOf('/') + 1),
            String.valueOf(rec.getNetwork().getPrefixLength()), e.cidr());
      }
      assertNull(reader.get(InetAddress.getByName("10.15.255.255"), Map.class), "nothing outside the block");
      assertNull(reader.get(InetAddress.getByName("10.32.0.0"), Map.class), "nothing outside the block");
    }
  }

  @Test
  void clusteredNetworksWithHolesLeaveSomeAllocationsUnlocated() {
    List<SyntheticGeoDb.Entry> full = SyntheticGeoDb.clusteredNetworks("10.16.0.0/12", 3, 0);
    assertEquals(SyntheticGeoDb.clusteredNetworks("10.16.0.0/12", 3), full);
    List<SyntheticGeoDb.Entry> holed = SyntheticGeoDb.clusteredNetworks("10.16.0.0/12", 3, 0.2);
    long covered = 0;
    long end = 0;
    for (SyntheticGeoDb.Entry e : holed) {
      long start = ipv4(e.cidr().substring(0, e.cidr().indexOf('/')));
      assertTrue(start >= end, "in order, no overlap: " + e.cidr());
      long size = 1L << (32 - Integer.parseInt(e.cidr().substring(e.cidr().indexOf('/') + 1)));
      end = start + size;
      covered += size;
    }
    double share = covered / (double) (1 << 20);
    assertTrue(share > 0.6 && share < 0.95, "about 80 % located: " + share);
    assertThrows(IllegalArgumentException.class, () -> SyntheticGeoDb.clusteredNetworks("10.16.0.0/12", 3, 1));
  }

  private static long ipv4(String dotted) {
    long v = 0;
    for (String part : dotted.split("\\.")) {
      v = v << 8 | Integer.parseInt(part);
    }
    return v;
  }

  @Test
  void syntheticCityDbCommandLineWritesDatabaseAndNetworkList() throws IOException {
    Path db = dir.resolve("cli.mmdb");
    Path csv = dir.resolve("cli.csv");
    SyntheticGeoDb.main(new String[] {db.toString(), "100", "3", csv.toString()});
    List<String> lines = Files.readAllLines(csv);
    assertEquals("cidr,country,continent,city,latitude,longitude", lines.get(0));
    assertEquals(1 + 100 + 12, lines.size());
    try (Reader reader = new Reader(db.toFile())) {
      String first = lines.get(1).split(",")[0];
      assertNotNull(reader.get(InetAddress.getByName(first.substring(0, first.indexOf('/'))), Map.class));
    }
  }

  // --- helpers ---------------------------------------------------------------------------------------------

  private static Reader inMemory(byte[] db) throws IOException {
    return new Reader(new ByteArrayInputStream(db));
  }

  private static DatabaseRecord<Map<String, Object>> lookup(Reader reader, String ip) throws IOException {
    return lookup(reader, InetAddress.getByName(ip));
  }

  @SuppressWarnings("unchecked")
  private static DatabaseRecord<Map<String, Object>> lookup(Reader reader, InetAddress ip) throws IOException {
    return (DatabaseRecord<Map<String, Object>>) (DatabaseRecord<?>) reader.getRecord(ip, Map.class);
  }

  private static Object at(Map<String, Object> map, String... path) {
    Object v = map;
    for (String key : path) {
      v = ((Map<?, ?>) v).get(key);
    }
    return v;
  }

  private static void assertCity(Reader reader, String ip, String city, String iso, String continent, double lat,
      double lon, int prefix) throws IOException {
    DatabaseRecord<Map<String, Object>> rec = lookup(reader, ip);
    assertNotNull(rec.getData(), ip);
    assertEquals(city, at(rec.getData(), "city", "names", "en"), ip);
    assertEquals(iso, at(rec.getData(), "country", "iso_code"), ip);
    assertEquals(continent, at(rec.getData(), "continent", "code"), ip);
    assertEquals(lat, at(rec.getData(), "location", "latitude"), ip);
    assertEquals(lon, at(rec.getData(), "location", "longitude"), ip);
    assertEquals(prefix, rec.getNetwork().getPrefixLength(), ip);
  }

  private static void assertNet(Reader reader, String ip, String expected, int prefix) throws IOException {
    DatabaseRecord<Map<String, Object>> rec = lookup(reader, ip);
    Object got = rec.getData() == null ? null : rec.getData().getOrDefault("net", rec.getData().get("v"));
    assertEquals(expected, got, ip);
    assertEquals(prefix, rec.getNetwork().getPrefixLength(), ip);
  }

  private static int occurrences(byte[] haystack, String needle) {
    String s = new String(haystack, StandardCharsets.ISO_8859_1);
    String n = new String(needle.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    int count = 0;
    for (int i = s.indexOf(n); i >= 0; i = s.indexOf(n, i + 1)) {
      count++;
    }
    return count;
  }

  private static byte[] ipv4Mapped() {
    byte[] a = new byte[16];
    a[10] = (byte) 0xFF;
    a[11] = (byte) 0xFF;
    return a;
  }

  private static void mask(byte[] addr, int len) {
    for (int b = len; b < 128; b++) {
      addr[b >> 3] &= (byte) ~(0x80 >>> (b & 7));
    }
  }

  private static boolean isV4(byte[] a) {
    for (int i = 0; i < 12; i++) {
      if (a[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static int commonPrefix(byte[] a, byte[] b) {
    for (int i = 0; i < 16; i++) {
      int x = (a[i] ^ b[i]) & 0xFF;
      if (x != 0) {
        return i * 8 + Integer.numberOfLeadingZeros(x) - 24;
      }
    }
    return 128;
  }

  /** An inserted network in the 128-bit tree space (IPv4 at ::/96). */
  private record Net(byte[] addr, int len, Map<String, Object> data, int order) {
    boolean contains(byte[] ip) {
      return commonPrefix(addr, ip) >= len;
    }

    String cidr() {
      try {
        if (len >= 96 && isV4(addr)) {
          return InetAddress.getByAddress(java.util.Arrays.copyOfRange(addr, 12, 16)).getHostAddress() + "/"
              + (len - 96);
        }
        return InetAddress.getByAddress(addr).getHostAddress() + "/" + len;
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  // A typed City record, decoded the way the GeoIP2 models and the production locator decode one.

  public static final class Geo {
    final Named city;
    final Country country;
    final Continent continent;
    final Location location;

    @MaxMindDbConstructor
    public Geo(@MaxMindDbParameter(name = "city") Named city, @MaxMindDbParameter(name = "country") Country country,
        @MaxMindDbParameter(name = "continent") Continent continent,
        @MaxMindDbParameter(name = "location") Location location) {
      this.city = city;
      this.country = country;
      this.continent = continent;
      this.location = location;
    }
  }

  public static final class Named {
    final Names names;

    @MaxMindDbConstructor
    public Named(@MaxMindDbParameter(name = "names") Names names) {
      this.names = names;
    }
  }

  public static final class Names {
    final String en;

    @MaxMindDbConstructor
    public Names(@MaxMindDbParameter(name = "en") String en) {
      this.en = en;
    }
  }

  public static final class Country {
    final String isoCode;

    @MaxMindDbConstructor
    public Country(@MaxMindDbParameter(name = "iso_code") String isoCode) {
      this.isoCode = isoCode;
    }
  }

  public static final class Continent {
    final String code;

    @MaxMindDbConstructor
    public Continent(@MaxMindDbParameter(name = "code") String code) {
      this.code = code;
    }
  }

  public static final class Location {
    final Double latitude;
    final Double longitude;
    final int accuracyRadius;

    @MaxMindDbConstructor
    public Location(@MaxMindDbParameter(name = "latitude") Double latitude,
        @MaxMindDbParameter(name = "longitude") Double longitude,
        @MaxMindDbParameter(name = "accuracy_radius") Integer accuracyRadius) {
      this.latitude = latitude;
      this.longitude = longitude;
      this.accuracyRadius = accuracyRadius == null ? -1 : accuracyRadius;
    }
  }
}
