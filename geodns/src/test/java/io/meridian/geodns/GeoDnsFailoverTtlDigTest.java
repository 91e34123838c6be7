package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The TTL field as dig shows it, right after a region fails and a minute into the outage (the role's clock moved
 * by the test), then after the failback: the clients the failure moved get the transition TTL (5 s) for as long
 * as they are moved, the others keep the normal TTL (30 s).
 */
class GeoDnsFailoverTtlDigTest {
  static DnsFixture dns;

  @BeforeAll
  static void start() throws Exception {
    dns = DnsFixture.start();
  }

  @AfterAll
  static void stop() throws Exception {
    dns.close();
  }

  /** The answer line as "address ttl", from {@code dig +noall +answer}: owner, TTL, class, type, address. */
  static String digAnswer(String subnet) throws Exception {
    String out = dns.dig("www.example.test", "A", "+subnet=" + subnet, "+noall", "+answer");
    List<String[]> lines = out.lines().map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith(";"))
        .map(l -> l.split("\\s+")).toList();
    assertEquals(1, lines.size(), out);
    String[] f = lines.get(0);
    assertEquals("www.example.test.", f[0], out);
    assertEquals("A", f[3], out);
    return f[4] + " " + f[1];
  }

  @Test
  void ttlRightAfterAFailureAndAMinuteIntoTheOutage() throws Exception {
    assertEquals(DnsFixture.EU + " 30", digAnswer(DnsFixture.LONDON));

    dns.fail("eu-west");
    assertEquals(DnsFixture.US + " 5", digAnswer(DnsFixture.LONDON), "right after the failure");
    assertEquals(DnsFixture.US + " 30", digAnswer(DnsFixture.NEW_YORK), "not moved");
    String why = String.join("\n", dns.digShort("_explain.www.example.test", "TXT", "+subnet=" + DnsFixture.LONDON));
    assertTrue(why.contains("choice=us-east ttl=5 ttl_rule=moved"), why);

    dns.clock.advance(Duration.ofMinutes(1));
    assertEquals(DnsFixture.US + " 5", digAnswer(DnsFixture.LONDON), "a minute into the outage");
    assertEquals(DnsFixture.US + " 30", digAnswer(DnsFixture.NEW_YORK));

    dns.publish("eu-west recovered", r -> r.withHealth(io.meridian.core.Health.HEALTHY));
    assertEquals(DnsFixture.EU + " 5", digAnswer(DnsFixture.LONDON), "failback: window");
    dns.clock.advance(Duration.ofSeconds(10));
    assertEquals(DnsFixture.EU + " 30", digAnswer(DnsFixture.LONDON), "after 2 × transition_ttl");
  }
}
