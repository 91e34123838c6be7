package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.geo.MmdbWriter;
import io.meridian.geodns.DnsFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * ECS scopes against brute force (RFC 7871 §7.2.1): on a generated GeoIP database of /16–/24 networks inside
 * 10.0.0.0/8, every /24 of 10/8 is asked once to learn its answer; then for sampled client subnets the returned
 * scope S must be exactly the widest prefix whose every address gets the same answer (the client's /S is uniform,
 * its /(S-1) is not), under a plan with every region up and under one with a region failed.
 */
class EcsScopeBruteForceTest {
  /** Where the database places networks: several share a client zone or a region, so runs merge. */
  private static final double[][] PLACES = {
      {51.51, -0.13}, {51.60, -0.20}, {48.86, 2.35}, {53.35, -6.26}, {40.71, -74.01}, {39.04, -77.49},
      {19.08, 72.88}, {35.68, 139.69}};
  private static final String[][] COUNTRIES = {
      {"GB", "EU"}, {"GB", "EU"}, {"FR", "EU"}, {"IE", "EU"}, {"US", "NA"}, {"US", "NA"}, {"IN", "AS"},
      {"JP", "AS"}};

  static Map<String, Object> place(int i) {
    return Map.of("location", Map.of("latitude", PLACES[i][0], "longitude", PLACES[i][1]),
        "country", Map.of("iso_code", COUNTRIES[i][0]), "continent", Map.of("code", COUNTRIES[i][1]));
  }

  /** 10.0.0.0/15 holds no network; 10.2.0.0/16 is London (the issue's +subnet=10.2.0.0/12 case). */
  static void writeDb(Path file) throws Exception {
    MmdbWriter w = MmdbWriter.create("Meridian-Scope-Test").buildEpoch(1_735_689_600L);
    Random r = new Random(17);
    w.insert("10.2.0.0/16", place(0));
    for (int i = 0; i < 500; i++) {
      int prefix = 16 + r.nextInt(9);
      int net = (r.nextInt(1 << 24) | 0x0A000000) & (-1 << (32 - prefix));
      if ((net >>> 17) == (0x0A000000 >>> 17)) {
        continue; // keep 10.0.0.0/15 empty
      }
      w.insert((net >>> 24) + "." + (net >>> 16 & 0xFF) + "." + (net >>> 8 & 0xFF) + "." + (net & 0xFF) + "/"
          + prefix, place(r.nextInt(PLACES.length)));
    }
    w.write(file);
  }

  static DnsFixture start() throws Exception {
    // unlocated clients get every region: an answer of their own, as it is for resolvers elsewhere (under the
    // default policy their answer depends on the resolver, which one resolver's brute force cannot see)
    return start("all", "");
  }

  static DnsFixture start(String unlocated, String moreNets) throws Exception {
    Path dir = Files.createTempDirectory("geodns-scope");
    writeDb(dir.resolve("geo.mmdb"));
    // 9/8 and 11/8 in Tokyo: no block wider than /8 around 10/8 is uniform, so brute force over 10/8 suffices
    return DnsFixture.startYaml(dir, DnsFixture.REGIONS.replace("geo:\n  nets:", "geo:\n  database: geo.mmdb\n"
        + "  nets:\n"
        + "    - {cidr: 9.0.0.0/8, latitude: 35.68, longitude: 139.69, country: JP, continent: AS}\n"
        + "    - {cidr: 11.0.0.0/8, latitude: 35.68, longitude: 139.69, country: JP, continent: AS}\n"
        + "    - {cidr: 10.77.16.0/20, latitude: 35.68, longitude: 139.69, country: JP, continent: AS}" + moreNets)
        + DnsFixture.DEFAULT_DNS + "  unlocated: " + unlocated + "\n");
  }

  static Message ask(DnsFixture dns, int address, int prefix) throws Exception {
    String a = (address >>> 24) + "." + (address >>> 16 & 0xFF) + "." + (address >>> 8 & 0xFF) + "." + (address & 0xFF);
    return dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.A, a + "/" + prefix));
  }

  static int scopeOf(Message m) {
    OPTRecord opt = m.getOPT();
    return ((ClientSubnetOption) opt.getOptions(EDNSOption.Code.CLIENT_SUBNET).get(0)).getScopePrefixLength();
  }

  /** Answer id of each /24 of 10/8: equal ids, equal answer section (addresses and TTL). */
  static int[] answers(DnsFixture dns) throws Exception {
    return answers(dns, 8);
  }

  /** Answer id of each /24 of 10.0.0.0/{@code prefix}. */
  static int[] answers(DnsFixture dns, int prefix) throws Exception {
    Map<String, Integer> ids = new HashMap<>();
    int[] out = new int[1 << (24 - prefix)];
    for (int i = 0; i < out.length; i++) {
      StringBuilder sb = new StringBuilder();
      for (Record rec : ask(dns, 0x0A000000 | i << 8, 24).getSection(Section.ANSWER)) {
        sb.append(rec.getTTL()).append(' ').append(rec.rdataToString()).append(';');
      }
      out[i] = ids.computeIfAbsent(sb.toString(), k -> ids.size());
    }
    return out;
  }

  static boolean uniform(int[] answers, int slash24, int prefix) {
    int span = 1 << (24 - prefix);
    int first = slash24 & -span;
    for (int i = first; i < first + span; i++) {
      if (answers[i] != answers[first]) {
        return false;
      }
    }
    return true;
  }

  void checkSampledScopes(DnsFixture dns) throws Exception {
    int[] answers = answers(dns);
    Random r = new Random(7);
    List<String> wrong = new ArrayList<>();
    for (int n = 0; n < 3000; n++) {
      int slash24 = r.nextInt(1 << 16);
      int source = 9 + r.nextInt(16); // 9..24
      int truncated = (slash24 << 8) & (-1 << (32 - source)) | 0x0A000000;
      int client = (truncated >>> 8) & 0xFFFF;
      int scope = scopeOf(ask(dns, truncated, source));
      boolean ok = scope > 8 && scope <= 24 && uniform(answers, client, scope) && !uniform(answers, client, scope - 1);
      if (!ok) {
        wrong.add(String.format("10.%d.%d.0/%d -> /%d", client >>> 8, client & 0xFF, source, scope));
      }
    }
    assertEquals(List.of(), wrong.subList(0, Math.min(10, wrong.size())), wrong.size() + " wrong scopes");
  }

  @Test
  void everyScopeIsTheWidestUniformPrefixUnderEveryPlan() throws Exception {
    try (DnsFixture dns = start()) {
      checkSampledScopes(dns);
      dns.fail("eu-west");
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      // right after the swap the plan-independent location runs answer (also correct) ...
      checkSampledScopes(dns);
      // ... then the merged table built for the new plan on the worker
      p.buildScopes();
      assertTrue(p.scopes().served.plan() == p.plan(), "the merged table follows the plan");
      checkSampledScopes(dns);
    }
  }

  /**
   * Under {@code dns.unlocated: {region: eu-west}} unlocated space is answered as a client in Dublin, whatever the
   * address: it merges with located neighbours that get eu-west, as gdnsd merges it with networks of its default
   * datacenters. Brute force over 10.0.0.0/12 (4,096 /24s), clients sampled in 10.0.0.0/13.
   */
  @Test
  void unlocatedSpacePlacedAtARegionMergesWithItsNeighboursOfThatAnswer() throws Exception {
    // 10.2.0.0/15 all London (a nets override): with the empty 10.0.0.0/15 beside it, 10.0.0.0/14 is one answer
    try (DnsFixture dns = start("{region: eu-west}",
        "\n    - {cidr: 10.2.0.0/15, latitude: 51.51, longitude: -0.13, country: GB, continent: EU}")) {
      int[] answers = answers(dns, 12);
      int scope = scopeOf(ask(dns, 0x0A000000, 24));
      assertTrue(uniform(answers, 0, 14) && scope <= 14,
          "unlocated 10.0.0.0/15 merged with London's 10.2.0.0/15: /" + scope);
      Random r = new Random(11);
      List<String> wrong = new ArrayList<>();
      for (int n = 0; n < 500; n++) {
        int slash24 = r.nextInt(1 << 11); // 10.0.0.0/13
        int s = scopeOf(ask(dns, 0x0A000000 | slash24 << 8, 24));
        // the /(s-1) must be inside the brute-forced /12 to be checked: s >= 13
        if (s < 13 || !uniform(answers, slash24, s) || uniform(answers, slash24, s - 1)) {
          wrong.add(String.format("10.%d.%d.0/24 -> /%d", slash24 >>> 8, slash24 & 0xFF, s));
        }
      }
      assertEquals(List.of(), wrong.subList(0, Math.min(10, wrong.size())), wrong.size() + " wrong scopes");
    }
  }

  @Test
  void digSubnetSlash12ThatHoldsAnotherAnswerGetsANarrowerScope() throws Exception {
    try (DnsFixture dns = start()) {
      // 10.0.0.0/15 has no network (unlocated: every region), 10.2.0.0/16 is London:
      // the /12 is not uniform, the widest uniform block around 10.0.0.0 is 10.0.0.0/15
      String out = dns.dig("www.example.test", "A", "+subnet=10.2.0.0/12");
      assertTrue(out.contains("CLIENT-SUBNET: 10.0.0.0/12/15"), out);
      String london = dns.dig("www.example.test", "A", "+subnet=10.2.0.0/16");
      assertTrue(london.contains("CLIENT-SUBNET: 10.2.0.0/16/"), london);
      assertTrue(london.contains(DnsFixture.EU), london);
    }
  }
}
