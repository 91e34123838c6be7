package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A region may publish only A or only AAAA records. The region is chosen among those that can answer the type
 * asked: an A query from a client nearest an IPv6-only region gets the nearest region with A records, an AAAA
 * query nearest an IPv4-only region the nearest with AAAA — at the normal TTL, since that is the client's normal
 * answer for that type. When no region has the type at all, the answer is NODATA (not the fallback). Asked with dig.
 */
class GeoDnsAddressFamilyTest {
  /** us-east has both families, eu-west only AAAA, ap-south only A. */
  static final String MIXED = DnsFixture.REGIONS
      .replace("dns: {a: [192.0.2.2], aaaa: [\"2001:db8::2\"]}", "dns: {aaaa: [\"2001:db8::2\"]}");

  static List<String> answer(DnsFixture dns, String type, String subnet) throws Exception {
    return dns.digShort("www.example.test", type, "+subnet=" + subnet);
  }

  static String ttlOf(DnsFixture dns, String type, String subnet) throws Exception {
    String out = dns.dig("www.example.test", type, "+subnet=" + subnet, "+noall", "+answer");
    return out.lines().map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith(";")).findFirst()
        .map(l -> l.split("\\s+")[1]).orElse("none: " + out);
  }

  @Test
  void eachFamilyIsAnsweredByTheNearestRegionThatHasIt() throws Exception {
    assertTrue(MIXED.contains("dns: {aaaa: [\"2001:db8::2\"]}"), "fixture changed: " + MIXED);
    try (DnsFixture dns = DnsFixture.startYaml(Files.createTempDirectory("family"), MIXED + DnsFixture.DEFAULT_DNS)) {
      // London is nearest eu-west, which has no A record: the nearest region with one is us-east
      assertEquals(List.of(DnsFixture.US), answer(dns, "A", DnsFixture.LONDON));
      assertEquals(List.of("2001:db8::2"), answer(dns, "AAAA", DnsFixture.LONDON));
      assertEquals("30", ttlOf(dns, "A", DnsFixture.LONDON), "its normal answer for A: no transition TTL");
      // Mumbai is nearest ap-south, which has no AAAA: the nearest region with one is eu-west
      assertEquals(List.of(DnsFixture.AP), answer(dns, "A", DnsFixture.MUMBAI));
      assertEquals(List.of("2001:db8::2"), answer(dns, "AAAA", DnsFixture.MUMBAI));
      assertEquals("30", ttlOf(dns, "AAAA", DnsFixture.MUMBAI));
      // New York: us-east has both
      assertEquals(List.of(DnsFixture.US), answer(dns, "A", DnsFixture.NEW_YORK));
      assertEquals(List.of("2001:db8::1"), answer(dns, "AAAA", DnsFixture.NEW_YORK));

      // us-east fails: London's A has no region left but ap-south; its AAAA stays with eu-west
      dns.fail("us-east");
      assertEquals(List.of(DnsFixture.AP), answer(dns, "A", DnsFixture.LONDON));
      assertEquals(List.of("2001:db8::2"), answer(dns, "AAAA", DnsFixture.LONDON));
      String why = String.join("\n", dns.digShort("_explain.www.example.test", "TXT", "+subnet=" + DnsFixture.LONDON));
      assertTrue(why.contains("choice=eu-west"), "explain is about the TXT question's family-free choice: " + why);
    }
  }

  @Test
  void aTypeNoRegionHasIsNodata() throws Exception {
    String v4only = DnsFixture.REGIONS.replaceAll(", aaaa: \\[\"[0-9a-f:]+\"\\]", "");
    assertTrue(!v4only.contains("aaaa"), v4only);
    // with fallback servfail, answering a type no region has from the fallback would be SERVFAIL: it must not be
    String dnsSection = DnsFixture.DEFAULT_DNS.replace("        - name: www\n",
        "        - name: www\n          fallback: servfail\n");
    assertTrue(dnsSection.contains("fallback: servfail"), dnsSection);
    try (DnsFixture dns = DnsFixture.startYaml(Files.createTempDirectory("family"), v4only + dnsSection)) {
      String out = dns.dig("www.example.test", "AAAA", "+subnet=" + DnsFixture.LONDON);
      assertTrue(out.contains("status: NOERROR") && out.contains("ANSWER: 0"), "NODATA, not the fallback: " + out);
      assertEquals(List.of(DnsFixture.EU), answer(dns, "A", DnsFixture.LONDON));
    }
  }
}
