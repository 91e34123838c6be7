package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.geodns.DnsFixture;
import io.meridian.core.RoutingPlan;
import io.meridian.core.ZoneRoute;
import io.meridian.core.ZoneRoutes;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * {@code dns.unlocated}: clients with no GeoIP entry and no nets match (192.0.2.0/24 here) go where the policy
 * says — their resolver's location, a configured region, or every region — counted by
 * {@code meridian_geodns_unlocated_answers_total}. In-process, so the query's source address can be chosen.
 */
class UnlocatedPolicyTest {
  static final byte[] LOCATED_RESOLVER = {(byte) 198, 51, 100, 7}; // London (nets): eu-west
  static final byte[] UNLOCATED_RESOLVER = {(byte) 192, 0, 2, (byte) 200};

  static DnsFixture start(String unlocated) throws Exception {
    return DnsFixture.start(java.nio.file.Files.createTempDirectory("unlocated"), """
        dns:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          rrl: {responses_per_second: 0}
        """ + (unlocated == null ? "" : "  unlocated: " + unlocated + "\n") + """
          zones:
            - origin: example.test.
              names:
                - name: www
                  ttl: 30s
                  transition_ttl: 5s
        """);
  }

  static Message ask(AnswerPipeline p, byte[] source, String ecs) throws Exception {
    Message q = ecs == null ? Message.newQuery(Record.newRecord(Name.fromConstantString("www.example.test."),
        Type.A, DClass.IN)) : DnsFixture.ecsQuery("www.example.test.", Type.A, ecs);
    return new Message(p.handle(q.toWire(), source, Transport.UDP));
  }

  static long[] counts(AnswerPipeline p) {
    long[] sum = new long[Query.Unlocated.values().length];
    // the test thread's own stripe holds what it counted
    long[] mine = p.metrics().stripe().unlocated;
    System.arraycopy(mine, 0, sum, 0, sum.length);
    return sum;
  }

  @Test
  void resolverPolicyPlacesAnUnlocatedEcsClientAtItsResolver() throws Exception {
    try (DnsFixture dns = start(null)) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      assertEquals(List.of(DnsFixture.EU), DnsFixture.addresses(ask(p, LOCATED_RESOLVER, "192.0.2.0/24")),
          "the resolver is in London: eu-west, not the first configured region (us-east)");
      Message all = ask(p, UNLOCATED_RESOLVER, null);
      assertEquals(new TreeSet<>(List.of(DnsFixture.US, DnsFixture.EU, DnsFixture.AP)),
          new TreeSet<>(DnsFixture.addresses(all)), "resolver unlocated too, no region configured: every region");
      assertEquals(5, all.getSection(Section.ANSWER).get(0).getTTL(), "every region: the transition TTL");
      assertEquals(1, counts(p)[Query.Unlocated.RESOLVER.ordinal()]);
      assertEquals(1, counts(p)[Query.Unlocated.ALL.ordinal()]);
      dns.fail("eu-west");
      assertEquals(new TreeSet<>(List.of(DnsFixture.US, DnsFixture.AP)),
          new TreeSet<>(DnsFixture.addresses(ask(p, UNLOCATED_RESOLVER, null))), "only eligible regions");
    }
  }

  @Test
  void regionPolicySendsUnlocatedClientsToThatRegionAndItsNeighboursWhenItIsOut() throws Exception {
    try (DnsFixture dns = start("{region: ap-south}")) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      assertEquals(List.of(DnsFixture.AP), DnsFixture.addresses(ask(p, UNLOCATED_RESOLVER, null)));
      assertEquals(List.of(DnsFixture.AP), DnsFixture.addresses(ask(p, LOCATED_RESOLVER, "192.0.2.0/24")));
      assertEquals(List.of(DnsFixture.EU), DnsFixture.addresses(ask(p, LOCATED_RESOLVER, null)),
          "located clients are not affected");
      assertEquals(2, counts(p)[Query.Unlocated.REGION.ordinal()]);
      dns.fail("ap-south");
      assertEquals(List.of(DnsFixture.EU), DnsFixture.addresses(ask(p, UNLOCATED_RESOLVER, null)),
          "Mumbai's nearest neighbour is Dublin");
    }
    try (DnsFixture dns = start("{policy: resolver, region: ap-south}")) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      assertEquals(List.of(DnsFixture.EU), DnsFixture.addresses(ask(p, LOCATED_RESOLVER, "192.0.2.0/24")));
      assertEquals(List.of(DnsFixture.AP), DnsFixture.addresses(ask(p, UNLOCATED_RESOLVER, null)),
          "the resolver is unlocated too: the region");
    }
  }

  @Test
  void allPolicyAnswersEveryRegionEvenWhenTheResolverIsLocated() throws Exception {
    try (DnsFixture dns = start("all")) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      assertEquals(3, DnsFixture.addresses(ask(p, LOCATED_RESOLVER, "192.0.2.0/24")).size());
      assertEquals(1, counts(p)[Query.Unlocated.ALL.ordinal()]);
    }
  }

  static int scope(Message m) {
    return ((org.xbill.DNS.ClientSubnetOption) m.getOPT().getOptions(org.xbill.DNS.EDNSOption.Code.CLIENT_SUBNET)
        .get(0)).getScopePrefixLength();
  }

  /**
   * RFC 7871 §7.2.1 for clients placed by the policy: where the region's zone splits its traffic by client hash,
   * unlocated clients' answers vary per /24 like located ones', so their scope must say /24, not the width of
   * the unlocated space around them.
   */
  @Test
  void unlocatedClientsPlacedInAZoneSplitByClientHashGetA24Scope() throws Exception {
    try (DnsFixture dns = start("{region: eu-west}")) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      Message before = ask(p, UNLOCATED_RESOLVER, "192.0.2.0/24");
      assertEquals(List.of(DnsFixture.EU), DnsFixture.addresses(before));
      assertTrue(scope(before) < 24, "one answer for all unlocated space: wider than /24, got /" + scope(before));

      String dublin = io.meridian.core.geo.Zones.id(io.meridian.core.geo.Zones.indexOf(53.35, -6.26));
      RoutingPlan plan = p.plan();
      dns.publish("split dublin", plan.regions(), ZoneRoutes.of(Map.of(dublin, new ZoneRoute(dublin,
          List.of(new ZoneRoute.Choice("eu-west", 1), new ZoneRoute.Choice("us-east", 1))))));
      p.buildScopes(); // the merged table for the new plan (it is built on a worker otherwise)
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < 32; i++) {
        Message m = ask(p, UNLOCATED_RESOLVER, "192.0." + i + ".0/24");
        seen.addAll(DnsFixture.addresses(m));
        assertEquals(24, scope(m), "192.0." + i + ".0/24");
      }
      assertEquals(Set.of(DnsFixture.EU, DnsFixture.US), seen, "the answer varies per /24");
    }
  }
}
