package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.Lifecycle;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.ZoneRoute;
import io.meridian.core.ZoneRoutes;
import io.meridian.core.geo.Zones;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Message;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Which TTL each answer carries around a plan change, with the role's clock moved by the test: the clients a
 * failure moved keep the transition TTL for the whole outage, answers touched by a change keep it for
 * 2 × transition_ttl (here 2 × 5 s), every other answer has the normal TTL (30 s) throughout.
 */
class GeoDnsTransitionTtlTest {
  static final long NORMAL = 30;
  static final long SHORT = 5;
  static final Duration WINDOW = Duration.ofSeconds(10);

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
              transition_ttl: 5s
              names:
                - name: www
                - name: fenced
                  geofences:
                    - {continents: [AS], regions: [us-east, eu-west]}
        """);
  }

  @AfterEach
  void stop() throws Exception {
    dns.close();
  }

  /** The one answer's address and TTL, as "address ttl". */
  String answer(String subnet) throws Exception {
    return answer("www.example.test.", subnet);
  }

  String answer(String name, String subnet) throws Exception {
    Message m = dns.udp(DnsFixture.ecsQuery(name, Type.A, subnet));
    List<String> a = DnsFixture.addresses(m);
    assertEquals(1, a.size(), "one region per answer: " + m);
    return a.get(0) + " " + m.getSection(Section.ANSWER).get(0).getTTL();
  }

  /** The TTL rule explain reports for a client address (nets place it like its /24). */
  String rule(String address) throws Exception {
    Explanation e = DnsFixture.await(dns.role.explain(InetAddress.getByName(address), "www.example.test"));
    return e.ttlRule() + " " + e.ttl();
  }

  static String londonSubnet(int i) {
    return "100.65." + i + ".0/24";
  }

  @Test
  void clientsMovedByAFailureKeepTheTransitionTtlForTheWholeOutageOthersKeepTheNormalOne() throws Exception {
    assertEquals(DnsFixture.EU + " " + NORMAL, answer(DnsFixture.LONDON));
    assertEquals(DnsFixture.US + " " + NORMAL, answer(DnsFixture.NEW_YORK));

    dns.fail("eu-west"); // health only: the lifecycle stays ACTIVE, so plan.inTransition() is false
    assertTrue(!dns.bus.currentPlan().inTransition(), "the case the old rule missed");
    assertEquals(DnsFixture.US + " " + SHORT, answer(DnsFixture.LONDON), "right after the failure");
    assertEquals(DnsFixture.US + " " + SHORT, answer(DnsFixture.PARIS));
    assertEquals("moved " + SHORT, rule("198.51.100.7"));
    assertEquals(DnsFixture.US + " " + NORMAL, answer(DnsFixture.NEW_YORK), "its answer did not change");
    assertEquals(DnsFixture.AP + " " + NORMAL, answer(DnsFixture.MUMBAI));
    assertEquals("normal " + NORMAL, rule("203.0.113.7"));

    dns.clock.advance(Duration.ofMinutes(1));
    assertEquals(DnsFixture.US + " " + SHORT, answer(DnsFixture.LONDON), "a minute into the outage");
    assertEquals("moved " + SHORT, rule("198.51.100.7"));
    assertEquals(DnsFixture.US + " " + NORMAL, answer(DnsFixture.NEW_YORK));
    assertEquals(DnsFixture.AP + " " + NORMAL, answer(DnsFixture.MUMBAI));
  }

  @Test
  void afterFailbackReturningClientsGetTheTransitionTtlForTheWindowThenTheNormalOne() throws Exception {
    dns.fail("eu-west");
    dns.clock.advance(Duration.ofMinutes(1));
    dns.publish("eu-west recovered", r -> r.withHealth(Health.HEALTHY));
    assertEquals(DnsFixture.EU + " " + SHORT, answer(DnsFixture.LONDON), "right after the failback");
    assertEquals("changed " + SHORT, rule("198.51.100.7"));
    assertEquals(DnsFixture.US + " " + NORMAL, answer(DnsFixture.NEW_YORK));

    dns.clock.advance(WINDOW.minusMillis(1));
    assertEquals(DnsFixture.EU + " " + SHORT, answer(DnsFixture.LONDON), "still inside 2 × transition_ttl");
    dns.clock.advance(Duration.ofMillis(1));
    assertEquals(DnsFixture.EU + " " + NORMAL, answer(DnsFixture.LONDON), "window over");
    assertEquals("normal " + NORMAL, rule("198.51.100.7"));
  }

  @Test
  void aDrainStepShortensTheDrainingRegionsClientsWhileItLastsAndNoOneElse() throws Exception {
    dns.publish("drain eu-west step 1", r -> r.id().equals("eu-west") ? r.withLifecycle(Lifecycle.DRAINING, 0.5) : r);
    int moved = 0;
    for (int i = 0; i < 100; i++) {
      String a = answer(londonSubnet(i));
      assertTrue(a.equals(DnsFixture.EU + " " + SHORT) || a.equals(DnsFixture.US + " " + SHORT), a);
      moved += a.startsWith(DnsFixture.US) ? 1 : 0;
    }
    assertTrue(moved > 20 && moved < 80, moved + " of 100 London subnets moved (expected ≈ 50)");
    assertEquals(DnsFixture.US + " " + NORMAL, answer(DnsFixture.NEW_YORK), "us-east's own clients");

    // between steps (longer than the window) the draining region's remaining clients still get the short TTL:
    // the next step may move them
    dns.clock.advance(Duration.ofMinutes(1));
    for (int i = 0; i < 20; i++) {
      assertTrue(answer(londonSubnet(i)).endsWith(" " + SHORT), answer(londonSubnet(i)));
    }
    assertEquals(DnsFixture.US + " " + NORMAL, answer(DnsFixture.NEW_YORK));

    dns.publish("drain cancelled", r -> r.id().equals("eu-west") ? r.withLifecycle(Lifecycle.ACTIVE, 1) : r);
    assertEquals(DnsFixture.EU + " " + SHORT, answer(DnsFixture.LONDON), "back at its region: window");
    dns.clock.advance(WINDOW);
    assertEquals(DnsFixture.EU + " " + NORMAL, answer(DnsFixture.LONDON));
  }

  @Test
  void aRampStepShortensBothTheReturnedAndTheNotYetReturnedClients() throws Exception {
    dns.fail("eu-west");
    dns.clock.advance(Duration.ofMinutes(1));
    dns.publish("eu-west ramp 1/4", r -> r.id().equals("eu-west")
        ? r.withHealth(Health.HEALTHY).withLifecycle(Lifecycle.RECOVERING, 0.25) : r);
    int back = 0;
    for (int i = 0; i < 100; i++) {
      String a = answer(londonSubnet(i));
      assertTrue(a.equals(DnsFixture.EU + " " + SHORT) || a.equals(DnsFixture.US + " " + SHORT), a);
      back += a.startsWith(DnsFixture.EU) ? 1 : 0;
    }
    assertTrue(back > 5 && back < 50, back + " of 100 London subnets returned (expected ≈ 25)");
    dns.clock.advance(Duration.ofMinutes(1));
    for (int i = 0; i < 20; i++) {
      assertTrue(answer(londonSubnet(i)).endsWith(" " + SHORT), "between ramp steps: " + answer(londonSubnet(i)));
    }
    assertEquals(DnsFixture.US + " " + NORMAL, answer(DnsFixture.NEW_YORK));

    dns.publish("eu-west ramp done", r -> r.id().equals("eu-west") ? r.withLifecycle(Lifecycle.ACTIVE, 1) : r);
    for (int i = 0; i < 20; i++) {
      assertEquals(DnsFixture.EU + " " + SHORT, answer(londonSubnet(i)), "last step: window");
    }
    dns.clock.advance(WINDOW);
    for (int i = 0; i < 20; i++) {
      assertEquals(DnsFixture.EU + " " + NORMAL, answer(londonSubnet(i)));
    }
  }

  @Test
  void aWeightedRouteShortensSpilledClientsAndItsZoneFollowsAnyRegionChange() throws Exception {
    String london = Zones.id(Zones.indexOf(51.51, -0.13));
    RoutingPlan p = dns.bus.currentPlan();
    dns.publish("spill london", p.regions(), ZoneRoutes.of(Map.of(london, new ZoneRoute(london,
        List.of(new ZoneRoute.Choice("eu-west", 1), new ZoneRoute.Choice("us-east", 1))))));
    List<Integer> spilled = new ArrayList<>();
    List<Integer> kept = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      String a = answer(londonSubnet(i));
      assertTrue(a.endsWith(" " + SHORT), "route just changed: " + a);
      (a.startsWith(DnsFixture.US) ? spilled : kept).add(i);
    }
    assertTrue(!spilled.isEmpty() && !kept.isEmpty(), spilled + " / " + kept);
    dns.clock.advance(WINDOW);
    for (int i : spilled) {
      assertEquals(DnsFixture.US + " " + SHORT, answer(londonSubnet(i)), "spilled: moved for as long as it lasts");
    }
    for (int i : kept) {
      assertEquals(DnsFixture.EU + " " + NORMAL, answer(londonSubnet(i)), "not moved, window over");
    }

    // us-east fails: the route's other half comes back to eu-west although neither eu-west nor the route changed
    dns.fail("us-east");
    for (int i : spilled) {
      assertEquals(DnsFixture.EU + " " + SHORT, answer(londonSubnet(i)), "answer changed: window");
    }
    dns.clock.advance(WINDOW);
    for (int i : spilled) {
      assertEquals(DnsFixture.EU + " " + NORMAL, answer(londonSubnet(i)));
    }
  }

  @Test
  void theNormalRegionRespectsTheNamesGeofence() throws Exception {
    // Mumbai is fenced to us-east and eu-west for this name: eu-west (nearer of the two) is its normal region
    assertEquals(DnsFixture.EU + " " + NORMAL, answer("fenced.example.test.", DnsFixture.MUMBAI));
    assertEquals(DnsFixture.AP + " " + NORMAL, answer(DnsFixture.MUMBAI));
    dns.fail("eu-west");
    assertEquals(DnsFixture.US + " " + SHORT, answer("fenced.example.test.", DnsFixture.MUMBAI), "moved in fence");
    assertEquals(DnsFixture.AP + " " + NORMAL, answer(DnsFixture.MUMBAI), "unfenced name: unchanged");
  }

  @Test
  void aPlanMadeBeforeTheChangeWindowOpensNoWindow() throws Exception {
    dns.fail("eu-west");
    dns.clock.advance(Duration.ofMinutes(1));
    // the recovery plan was made a minute ago (say, heard late after a partition): its change is that old
    RoutingPlan p = dns.bus.currentPlan();
    List<RegionState> healthy = p.regions().stream().map(r -> r.withHealth(Health.HEALTHY)).toList();
    dns.fixture(new RoutingPlan(p.version() + 1, dns.clock.instant().minus(Duration.ofMinutes(1)), "late",
        p.topology(), healthy, p.zones(), p.homes(), 0));
    assertEquals(DnsFixture.EU + " " + NORMAL, answer(DnsFixture.LONDON));
  }
}
