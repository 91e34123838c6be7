package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Authoritative-server behaviour on a zone file (src/test/resources/zones/example.test.zone) served beside the
 * geo name www: the RFC rules, checked with dnsjava messages over UDP/TCP and with dig and kdig.
 */
class GeoDnsProtocolTest {
  static DnsFixture dns;

  @BeforeAll
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("geodns-proto");
    try (InputStream in = GeoDnsProtocolTest.class.getResourceAsStream("/zones/example.test.zone")) {
      Files.copy(in, dir.resolve("example.test.zone"));
    }
    dns = DnsFixture.start(dir, """
        dns:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          rrl: {responses_per_second: 0}
          zones:
            - origin: example.test.
              file: example.test.zone
              names:
                - name: www
                  ttl: 20s
        """);
  }

  @AfterAll
  static void stop() throws Exception {
    dns.close();
  }

  static Message query(String name, int type) {
    return Message.newQuery(Record.newRecord(Name.fromConstantString(name), type, DClass.IN));
  }

  static Message ednsQuery(String name, int type, int payload, ClientSubnetOption ecs) {
    Message m = query(name, type);
    m.addRecord(ecs == null ? new OPTRecord(payload, 0, 0) : new OPTRecord(payload, 0, 0, 0, ecs),
        Section.ADDITIONAL);
    return m;
  }

  @Test
  void apexSoaIsAuthoritativeAndNeverRecursive() throws Exception {
    Message r = dns.udp(query("example.test.", Type.SOA));
    assertEquals(Rcode.NOERROR, r.getRcode());
    assertTrue(r.getHeader().getFlag(Flags.AA));
    assertTrue(r.getHeader().getFlag(Flags.RD), "RD is copied from the query");
    assertFalse(r.getHeader().getFlag(Flags.RA), "RA=0: not a resolver");
    assertEquals(2024010101L, ((SOARecord) r.getSection(Section.ANSWER).get(0)).getSerial());
  }

  @Test
  void nxdomainCarriesSoaWithNegativeTtl() throws Exception {
    Message r = dns.udp(query("nothing.example.test.", Type.A));
    assertEquals(Rcode.NXDOMAIN, r.getRcode());
    assertTrue(r.getHeader().getFlag(Flags.AA));
    List<Record> auth = r.getSection(Section.AUTHORITY);
    assertEquals(1, auth.size());
    assertEquals(Type.SOA, auth.get(0).getType());
    assertEquals(60, auth.get(0).getTTL(), "min(SOA TTL 300, MINIMUM 60), RFC 2308 §3");
  }

  @Test
  void nodataIsNoerrorWithSoa() throws Exception {
    Message r = dns.udp(query("mail.example.test.", Type.AAAA));
    assertEquals(Rcode.NOERROR, r.getRcode());
    assertTrue(r.getSection(Section.ANSWER).isEmpty());
    assertEquals(Type.SOA, r.getSection(Section.AUTHORITY).get(0).getType());
  }

  @Test
  void emptyNonTerminalIsNodataNotNxdomain() throws Exception {
    Message r = dns.udp(query("deep.example.test.", Type.A));
    assertEquals(Rcode.NOERROR, r.getRcode(), "b.deep has a child, so deep exists (RFC 8020)");
    assertTrue(r.getSection(Section.ANSWER).isEmpty());
  }

  @Test
  void cnameChainIsFollowedInsideTheZone() throws Exception {
    Message r = dns.udp(query("chain1.example.test.", Type.A));
    List<Record> ans = r.getSection(Section.ANSWER);
    assertEquals(3, ans.size(), r.toString());
    assertEquals(Type.CNAME, ans.get(0).getType());
    assertEquals(Type.CNAME, ans.get(1).getType());
    assertEquals("192.0.2.25", ((ARecord) ans.get(2)).getAddress().getHostAddress());
  }

  @Test
  void cnameToAGeoNameEndsInTheGeoAnswer() throws Exception {
    Message r = dns.udp(ednsQuery("alias.example.test.", Type.A, 1232,
        new ClientSubnetOption(24, InetAddress.getByName("198.51.100.0"))));
    List<Record> ans = r.getSection(Section.ANSWER);
    assertEquals(2, ans.size(), r.toString());
    assertEquals("www.example.test.", ((CNAMERecord) ans.get(0)).getTarget().toString());
    assertEquals(DnsFixture.EU, ((ARecord) ans.get(1)).getAddress().getHostAddress());
    assertEquals(20, ans.get(1).getTTL(), "the geo name's TTL");
  }

  @Test
  void cnameOutOfZoneIsLeftToTheResolver() throws Exception {
    Message r = dns.udp(query("external.example.test.", Type.A));
    assertEquals(Rcode.NOERROR, r.getRcode());
    assertEquals(1, r.getSection(Section.ANSWER).size());
  }

  @Test
  void cnameLoopEndsInServfail() throws Exception {
    Message r = dns.udp(query("loop1.example.test.", Type.A));
    assertEquals(Rcode.SERVFAIL, r.getRcode());
  }

  @Test
  void wildcardSynthesisesTheQueryName() throws Exception {
    Message r = dns.udp(query("anything.wild.example.test.", Type.A));
    Record a = r.getSection(Section.ANSWER).get(0);
    assertEquals("anything.wild.example.test.", a.getName().toString());
    assertEquals("192.0.2.99", ((ARecord) a).getAddress().getHostAddress());
    Message deeper = dns.udp(query("x.y.wild.example.test.", Type.A));
    assertEquals(1, deeper.getSection(Section.ANSWER).size(), "closest encloser is wild.example.test");
    Message nodata = dns.udp(query("anything.wild.example.test.", Type.MX));
    assertEquals(Rcode.NOERROR, nodata.getRcode());
    assertTrue(nodata.getSection(Section.ANSWER).isEmpty());
  }

  @Test
  void namesMatchCaseInsensitivelyAndTheQuestionIsEchoedAsSent() throws Exception {
    Message r = dns.udp(query("MaIl.ExAmPlE.tEsT.", Type.A));
    assertEquals(1, r.getSection(Section.ANSWER).size());
    assertArrayEquals(Name.fromConstantString("MaIl.ExAmPlE.tEsT.").toWire(),
        r.getQuestion().getName().toWire(), "question bytes as sent");
  }

  @Test
  void outsideOurZonesIsRefused() throws Exception {
    assertEquals(Rcode.REFUSED, dns.udp(query("www.example.org.", Type.A)).getRcode());
    String out = dns.dig("www.example.org", "A");
    assertTrue(out.contains("status: REFUSED"), out);
  }

  @Test
  void unknownOpcodeIsNotImp() throws Exception {
    Message m = query("example.test.", Type.SOA);
    m.getHeader().setOpcode(Opcode.STATUS);
    assertEquals(Rcode.NOTIMP, dns.udp(m).getRcode());
  }

  @Test
  void malformedMessagesGetFormerr() throws Exception {
    byte[] header = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0}; // says one question, has none
    byte[] r = dns.udpRaw(header);
    assertNotNull(r);
    assertEquals(0x12, r[0]);
    assertEquals(0x34, r[1]);
    assertEquals(Rcode.FORMERR, r[3] & 0xF);
    Message noQuestion = new Message();
    assertEquals(Rcode.FORMERR, dns.udp(noQuestion).getRcode(), "QDCOUNT=0");
  }

  @Test
  void responsesAndRuntsAreNotAnswered() throws Exception {
    Message m = query("example.test.", Type.SOA);
    m.getHeader().setFlag(Flags.QR);
    assertNull(dns.udpRaw(m.toWire()), "never answer a response: reflection loops");
    assertNull(dns.udpRaw(new byte[] {1, 2, 3}));
  }

  @Test
  void ednsVersionOtherThanZeroIsBadvers() throws Exception {
    Message m = query("example.test.", Type.SOA);
    m.addRecord(new OPTRecord(1232, 0, 1), Section.ADDITIONAL);
    Message r = dns.udp(m);
    assertEquals(Rcode.BADVERS, r.getRcode(), r.toString());
    assertEquals(0, r.getOPT().getVersion());
  }

  @Test
  void ednsAnswersCarryOurPayloadSizeAndIgnoreUnknownOptions() throws Exception {
    Message m = query("mail.example.test.", Type.A);
    m.addRecord(new OPTRecord(4096, 0, 0, 0, new org.xbill.DNS.GenericEDNSOption(65001, new byte[] {1, 2})),
        Section.ADDITIONAL);
    Message r = dns.udp(m);
    assertEquals(Rcode.NOERROR, r.getRcode());
    assertEquals(1232, r.getOPT().getPayloadSize());
    assertTrue(r.getOPT().getOptions().isEmpty(), "unknown options are not echoed");
  }

  @Test
  void largeAnswerIsTruncatedOverUdpAndServedOverTcp() throws Exception {
    Message r = dns.udp(query("big.example.test.", Type.TXT));
    assertTrue(r.getHeader().getFlag(Flags.TC));
    assertTrue(r.getSection(Section.ANSWER).isEmpty());
    String out = dns.dig("big.example.test", "TXT");
    assertTrue(out.contains("Truncated, retrying in TCP mode"), out);
    assertTrue(out.contains("ANSWER: 6"), out);
    String kout = dns.kdig("big.example.test", "TXT", "+tcp");
    assertTrue(kout.contains("ANSWER: 6"), kout);
    assertTrue(kout.contains("(TCP)"), kout);
  }

  @Test
  void pipelinedTcpQueriesAreAllAnswered() throws Exception {
    List<Message> qs = List.of(query("mail.example.test.", Type.A), query("big.example.test.", Type.TXT),
        query("nothing.example.test.", Type.A), query("www.example.test.", Type.A));
    List<Message> rs = dns.tcp(qs);
    for (int i = 0; i < qs.size(); i++) {
      assertEquals(qs.get(i).getHeader().getID(), rs.get(i).getHeader().getID());
    }
    assertEquals(6, rs.get(1).getSection(Section.ANSWER).size());
    assertEquals(Rcode.NXDOMAIN, rs.get(2).getRcode());
    assertEquals(DnsFixture.US, ((ARecord) rs.get(3).getSection(Section.ANSWER).get(0)).getAddress().getHostAddress());
  }

  @Test
  void anyIsAnsweredMinimally() throws Exception {
    Message r = dns.udp(query("example.test.", Type.ANY));
    assertEquals(Rcode.NOERROR, r.getRcode());
    long types = r.getSection(Section.ANSWER).stream().mapToInt(Record::getType).distinct().count();
    assertEquals(1, types, "one RRset (RFC 8482): " + r);
    Message geo = dns.udp(query("www.example.test.", Type.ANY));
    assertEquals(Type.A, geo.getSection(Section.ANSWER).get(0).getType());
  }

  @Test
  void staticRecordsBesideAGeoNameAreServed() throws Exception {
    Message r = dns.udp(query("www.example.test.", Type.TXT));
    assertEquals(1, r.getSection(Section.ANSWER).size(), r.toString());
  }

  @Test
  void delegationBelowACutIsAReferralWithGlue() throws Exception {
    Message r = dns.udp(query("host.sub.example.test.", Type.A));
    assertEquals(Rcode.NOERROR, r.getRcode());
    assertFalse(r.getHeader().getFlag(Flags.AA), "not authoritative below a cut");
    assertEquals(Type.NS, r.getSection(Section.AUTHORITY).get(0).getType());
    assertEquals("192.0.2.54", ((ARecord) r.getSection(Section.ADDITIONAL).get(0)).getAddress().getHostAddress());
  }

  @Test
  void kdigSeesAuthoritativeNxdomainWithSoa() throws Exception {
    String out = dns.kdig("nope.example.test", "A");
    assertTrue(out.contains("status: NXDOMAIN"), out);
    assertTrue(out.contains("Flags: qr aa"), out);
    assertTrue(out.contains("AUTHORITY SECTION"), out);
  }
}
