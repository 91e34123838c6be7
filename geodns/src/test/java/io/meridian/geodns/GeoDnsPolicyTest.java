package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.Lifecycle;
import io.meridian.core.RoutingPlan;
import io.meridian.core.ZoneRoute;
import io.meridian.core.ZoneRoutes;
import io.meridian.core.geo.Zones;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Geo policies: weighted splits stable per client subnet and honoured in aggregate, drains with shortened TTLs,
 * the configured fallbacks when no region is eligible, and geofences that hold during failover.
 */
class GeoDnsPolicyTest {
  DnsFixture dns;

  @BeforeEach
  void start() throws Exception {
    dns = DnsFixture.start("""
        dns:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          rrl: {responses_per_second: 0}
          zones:
            - origin: example.test.
              ttl: 30s
              names:
                - name: www
                - name: strict
                  fallback: servfail
                - name: sorry
                  fallback: {cname: sorry.example.net.}
                - name: eu-only
                  transition_ttl: 2s
                  geofences:
                    - {continents: [EU], regions: [eu-west]}
        """);
  }

  @AfterEach
  void stop() throws Exception {
    dns.close();
  }

  /** London /24s inside the fixture's 100.65.0.0/16 override. */
  static String londonSubnet(int i) {
    return "100.65." + i + ".0/24";
  }

  String answer(String name, String subnet) throws Exception {
    List<String> a = DnsFixture.addresses(dns.udp(DnsFixture.ecsQuery(name, Type.A, subnet)));
    assertEquals(1, a.size(), "one region per answer: " + a);
    return a.get(0);
  }

  @Test
  void weightedSplitIsStablePerSubnetAndHonouredInAggregate() throws Exception {
    String london = Zones.id(Zones.indexOf(51.51, -0.13));
    RoutingPlan p = dns.bus.currentPlan();
    dns.fixture(p.next("split london", p.regions(), ZoneRoutes.of(Map.of(london, new ZoneRoute(london,
        List.of(new ZoneRoute.Choice("eu-west", 3), new ZoneRoute.Choice("us-east", 1))))), p.homes(), 0));
    Map<Integer, String> first = new HashMap<>();
    int eu = 0;
    int n = 200;
    for (int i = 0; i < n; i++) {
      String a = answer("www.example.test.", londonSubnet(i));
      first.put(i, a);
      eu += a.equals(DnsFixture.EU) ? 1 : 0;
      assertTrue(Set.of(DnsFixture.EU, DnsFixture.US).contains(a), a);
    }
    // 3:1 → 150 of 200 expected; binomial sd ≈ 6, so ±30 is 5 sd
    assertTrue(eu > 120 && eu < 180, "eu-west got " + eu + " of " + n);
    for (int i = 0; i < n; i += 7) {
      assertEquals(first.get(i), answer("www.example.test.", londonSubnet(i)), "subnet " + i + " stable");
    }
    // the answer varies per /24 inside the /16 override, so the ECS scope must say /24
    Message r = dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.A, londonSubnet(1)));
    assertEquals(24, ((org.xbill.DNS.ClientSubnetOption) r.getOPT().getOptions().get(0)).getScopePrefixLength());
  }

  @Test
  void drainMovesItsShareAndShortensTheTtl() throws Exception {
    Message before = dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.A, londonSubnet(0)));
    assertEquals(30, before.getSection(Section.ANSWER).get(0).getTTL());
    Message scopeBefore = before;
    assertEquals(16, ((org.xbill.DNS.ClientSubnetOption) scopeBefore.getOPT().getOptions().get(0))
        .getScopePrefixLength(), "no split: the answer holds for the whole /16 override");

    dns.publish("drain eu-west to 25%", r -> r.id().equals("eu-west") ? r.withLifecycle(Lifecycle.DRAINING, 0.25) : r);
    int eu = 0;
    int n = 200;
    for (int i = 0; i < n; i++) {
      Message m = dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.A, londonSubnet(i)));
      assertEquals(5, m.getSection(Section.ANSWER).get(0).getTTL(), "transition TTL while draining");
      eu += DnsFixture.addresses(m).get(0).equals(DnsFixture.EU) ? 1 : 0;
    }
    assertTrue(eu > 20 && eu < 80, "eu-west kept " + eu + " of " + n + " (expected ≈ 50)");

    dns.publish("drained", r -> r.id().equals("eu-west") ? r.withLifecycle(Lifecycle.DRAINED, 0) : r);
    for (int i = 0; i < 50; i++) {
      assertEquals(DnsFixture.US, answer("www.example.test.", londonSubnet(i)), "never a drained region");
    }
  }

  @Test
  void noEligibleRegionAppliesTheConfiguredFallback() throws Exception {
    dns.publish("everything down", r -> r.withHealth(Health.FAILED));
    Message open = dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.A, DnsFixture.LONDON));
    assertEquals(Set.of(DnsFixture.US, DnsFixture.EU, DnsFixture.AP), Set.copyOf(DnsFixture.addresses(open)),
        "fail open: all regions");
    assertEquals(5, open.getSection(Section.ANSWER).get(0).getTTL());

    assertEquals(Rcode.SERVFAIL,
        dns.udp(DnsFixture.ecsQuery("strict.example.test.", Type.A, DnsFixture.LONDON)).getRcode());

    Message sorry = dns.udp(DnsFixture.ecsQuery("sorry.example.test.", Type.A, DnsFixture.LONDON));
    assertEquals(Type.CNAME, sorry.getSection(Section.ANSWER).get(0).getType());
    assertEquals("sorry.example.net.",
        ((org.xbill.DNS.CNAMERecord) sorry.getSection(Section.ANSWER).get(0)).getTarget().toString());
  }

  @Test
  void geofencedClientsOnlyGetFencedRegionsEvenDuringFailover() throws Exception {
    assertEquals(DnsFixture.EU, answer("eu-only.example.test.", DnsFixture.PARIS));
    assertEquals(DnsFixture.US, answer("eu-only.example.test.", DnsFixture.NEW_YORK), "fence is per client");

    dns.fail("eu-west");
    assertEquals(DnsFixture.US, answer("www.example.test.", DnsFixture.LONDON), "unfenced name fails over");
    for (String eu : List.of(DnsFixture.LONDON, DnsFixture.PARIS)) {
      Message m = dns.udp(DnsFixture.ecsQuery("eu-only.example.test.", Type.A, eu));
      assertEquals(List.of(DnsFixture.EU), DnsFixture.addresses(m), "fail open inside the fence only");
      assertEquals(2, m.getSection(Section.ANSWER).get(0).getTTL());
    }
  }

  @Test
  void aaaaFollowsTheSameChoiceAmongTheRegionsThatHaveAaaa() throws Exception {
    Message eu = dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.AAAA, DnsFixture.LONDON));
    assertEquals(List.of("2001:db8:0:0:0:0:0:2"), DnsFixture.addresses(eu));
    // ap-south has no AAAA: Mumbai's AAAA comes from the nearest region that has one (eu-west), not NODATA
    Message ap = dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.AAAA, DnsFixture.MUMBAI));
    assertEquals(Rcode.NOERROR, ap.getRcode());
    assertEquals(List.of("2001:db8:0:0:0:0:0:2"), DnsFixture.addresses(ap));
    assertEquals(List.of(DnsFixture.AP), DnsFixture.addresses(
        dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.A, DnsFixture.MUMBAI))), "A still from ap-south");
  }
}
