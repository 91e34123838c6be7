package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.GenericEDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * EDNS details a DNS operator checks first, with dig and kdig: the DO bit echoed (RFC 3225 §3) on every kind of
 * answer, NSID (RFC 5001) and CH id.server, DNS cookies (RFC 7873, RFC 9018) including the malformed ones.
 */
class GeoDnsEdnsTest {
  static DnsFixture dns;

  @BeforeAll
  static void start() throws Exception {
    dns = DnsFixture.start("""
        dns:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          rrl: {responses_per_second: 0}
          nsid: dns-test-1
          zones:
            - origin: example.test.
              ttl: 30s
              names:
                - name: www
        """);
  }

  @AfterAll
  static void stop() throws Exception {
    dns.close();
  }

  @Test
  void theDoBitIsEchoedOnEveryKindOfAnswerOverUdpAndTcp() throws Exception {
    List<List<String>> cases = List.of(List.of("www.example.test", "A"), List.of("www.example.test", "AAAA"),
        List.of("www.example.test", "A", "+subnet=" + DnsFixture.LONDON), List.of("nope.example.test", "A"),
        List.of("example.test", "MX"), List.of("example.test", "SOA"), List.of("elsewhere.invalid", "A"));
    for (List<String> c : cases) {
      for (String transport : List.of("+notcp", "+tcp")) {
        String with = dns.dig(concat(c, "+dnssec", transport));
        assertTrue(with.contains("flags: do;"), c + " " + transport + "\n" + with);
        String without = dns.dig(concat(c, "+edns=0", transport));
        assertTrue(without.contains("; EDNS: version: 0, flags:;"), c + " " + transport + "\n" + without);
      }
    }
    String k = dns.kdig("www.example.test", "A", "+dnssec");
    assertTrue(k.matches("(?s).*EDNS PSEUDOSECTION:.*flags: do;.*"), k);
  }

  static String[] concat(List<String> a, String... more) {
    List<String> all = new java.util.ArrayList<>(a);
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  @Test
  void nsidIsAnsweredToAnEmptyNsidOptionOnly() throws Exception {
    String d = dns.dig("www.example.test", "A", "+nsid");
    assertTrue(d.contains("NSID: 64 6e 73 2d 74 65 73 74 2d 31 (\"dns-test-1\")"), d);
    assertFalse(dns.dig("www.example.test", "A").contains("NSID"), "not asked, not given");
    String k = dns.kdig("www.example.test", "A", "+nsid");
    assertTrue(k.contains("dns-test-1"), k);
    String nx = dns.dig("nope.example.test", "A", "+nsid", "+tcp");
    assertTrue(nx.contains("NXDOMAIN") && nx.contains("(\"dns-test-1\")"), nx);
    // RFC 5001 §2.1: a requester sends the option empty; one with data is not a request
    Message q = Message.newQuery(Record.newRecord(Name.fromConstantString("www.example.test."), Type.A, DClass.IN));
    q.addRecord(new OPTRecord(1232, 0, 0, 0, new GenericEDNSOption(EDNSOption.Code.NSID, new byte[] {1, 2})),
        Section.ADDITIONAL);
    Message r = dns.udp(q);
    assertEquals(Rcode.NOERROR, r.getRcode());
    assertTrue(r.getOPT().getOptions(EDNSOption.Code.NSID).isEmpty(), r.toString());
  }

  @Test
  void idServerInClassChaosAnswersTheNsidAndVersionBindIsRefused() throws Exception {
    assertEquals(List.of("\"dns-test-1\""), dns.digShort("id.server", "TXT", "CH"));
    assertEquals(List.of("\"dns-test-1\""), dns.digShort("hostname.bind", "TXT", "CH"));
    assertTrue(dns.dig("version.bind", "TXT", "CH").contains("status: REFUSED"));
    Message r = dns.udp(Message.newQuery(Record.newRecord(Name.fromConstantString("id.server."), Type.TXT,
        DClass.CH)));
    assertEquals("dns-test-1", ((TXTRecord) r.getSection(Section.ANSWER).get(0)).getStrings().get(0));
  }

  static final Pattern COOKIE = Pattern.compile("; COOKIE: ([0-9a-f]+) \\((good|bad)\\)");

  @Test
  void digCookieLearnsAServerCookieAndSendsItBack() throws Exception {
    String first = dns.dig("www.example.test", "A", "+cookie=0102030405060708");
    Matcher m = COOKIE.matcher(first);
    assertTrue(m.find(), first);
    String cookie = m.group(1);
    assertEquals("good", m.group(2), "dig checks that the client cookie came back");
    assertTrue(cookie.startsWith("0102030405060708" + "01000000"), "client cookie, version 1, reserved: " + cookie);
    assertEquals(48, cookie.length(), "8-byte client + 16-byte RFC 9018 server cookie");
    // the second query sends the server cookie back: valid, and young, so returned as it is
    String second = dns.dig("www.example.test", "A", "+cookie=" + cookie);
    Matcher m2 = COOKIE.matcher(second);
    assertTrue(m2.find(), second);
    assertEquals(cookie, m2.group(1));
    assertTrue(second.contains("status: NOERROR") && second.contains(DnsFixture.US), second);
    // the same over TCP, on a negative answer
    String tcp = dns.dig("nope.example.test", "A", "+tcp", "+cookie=" + cookie);
    assertTrue(tcp.contains("status: NXDOMAIN") && tcp.contains(cookie), tcp);
    String k = dns.kdig("www.example.test", "A", "+nsid", "+cookie");
    assertTrue(k.matches("(?s).*COOKIE: [0-9A-Fa-f]{16}\\s*[0-9A-Fa-f]{32}.*"), k);
    assertTrue(k.contains("dns-test-1"), k);
  }

  @Test
  void aServerCookieThatIsNotOursIsAnsweredNormallyWithAFreshOne() throws Exception {
    byte[] client = HexFormat.of().parseHex("a1a2a3a4a5a6a7a8");
    byte[] forged = HexFormat.of().parseHex("010000005cf79f111f8130c3eee29480");
    Message q = Message.newQuery(Record.newRecord(Name.fromConstantString("www.example.test."), Type.A, DClass.IN));
    q.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO, new CookieOption(client, forged)), Section.ADDITIONAL);
    Message r = dns.udp(q);
    assertEquals(Rcode.NOERROR, r.getRcode(), "policy: never BADCOOKIE");
    assertEquals(List.of(DnsFixture.US), DnsFixture.addresses(r));
    CookieOption back = (CookieOption) r.getOPT().getOptions(EDNSOption.Code.COOKIE).get(0);
    assertEquals(HexFormat.of().formatHex(client), HexFormat.of().formatHex(back.getClientCookie()));
    byte[] fresh = back.getServerCookie().orElseThrow();
    assertEquals(16, fresh.length);
    assertNotEquals(HexFormat.of().formatHex(forged), HexFormat.of().formatHex(fresh));
    assertTrue((r.getOPT().getFlags() & ExtendedFlags.DO) != 0);
  }

  @Test
  void aMalformedCookieOptionIsFormerrAndTheServerKeepsAnswering() throws Exception {
    for (int len : new int[] {0, 5, 9, 15, 41}) {
      Message q = Message.newQuery(Record.newRecord(Name.fromConstantString("www.example.test."), Type.A,
          DClass.IN));
      q.addRecord(new OPTRecord(1232, 0, 0, 0, new GenericEDNSOption(EDNSOption.Code.COOKIE, new byte[len])),
          Section.ADDITIONAL);
      byte[] raw = dns.udpRaw(q.toWire());
      assertNotNull(raw, "length " + len);
      assertEquals(Rcode.FORMERR, raw[3] & 0xF, "RFC 7873 §5.2.2, length " + len);
    }
    Message q = Message.newQuery(Record.newRecord(Name.fromConstantString("www.example.test."), Type.A, DClass.IN));
    q.addRecord(new OPTRecord(1232, 0, 0, 0, new CookieOption(new byte[8]), new CookieOption(new byte[8])),
        Section.ADDITIONAL);
    assertEquals(Rcode.FORMERR, dns.udp(q).getRcode(), "two COOKIE options");
    assertEquals(List.of(DnsFixture.US), dns.digShort("www.example.test", "A"));
  }
}
