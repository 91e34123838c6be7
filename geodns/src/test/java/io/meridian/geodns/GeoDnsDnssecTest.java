package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSECRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * A zone signed online with a CSK (ECDSA P-256, written by {@code meridian dnssec keygen}'s code), checked by real
 * validators: BIND's delv with the zone's DNSKEY as its trust anchor ("; fully validated") for a geo answer, a
 * static record, NXDOMAIN and NODATA (RFC 9824 compact denial); kdig's view of the signed answer; and dnsjava's
 * DNSSEC.verify of every region's answer (clients placed by ECS) and of every denial's NSEC.
 */
class GeoDnsDnssecTest {
  static DnsFixture dns;
  static DnssecKeyFile csk;
  static Path dir;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("geodns-dnssec");
    csk = DnssecKeyFile.generate("example.test.", DnssecKeyFile.ECDSAP256SHA256, true, 3600);
    Path base = csk.write(dir);
    Files.writeString(dir.resolve("example.test.zone"), """
        $TTL 300
        @        IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 604800 60
        @        IN NS  ns1.example.test.
        ns1      IN A   192.0.2.53
        info     IN TXT "static"
        alias    IN CNAME www.example.test.
        *.wild   IN A   192.0.2.99
        sub      IN NS  ns.sub.example.test.
        ns.sub   IN A   192.0.2.54
        """);
    dns = DnsFixture.start(dir, """
        dns:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          rrl: {responses_per_second: 0}
          zones:
            - origin: example.test.
              file: example.test.zone
              ttl: 30s
              dnssec:
                keys: [%s]
              names:
                - name: www
        """.formatted(dir.relativize(base)));
  }

  @AfterAll
  static void stop() throws Exception {
    dns.close();
  }

  /** delv with the zone's own key as its only trust anchor; returns its output. */
  static String delv(String... args) throws Exception {
    Path anchor = dir.resolve("anchor.conf");
    DNSKEYRecord k = csk.dnskey();
    Files.writeString(anchor, "trust-anchors {\n  example.test. static-key " + k.getFlags() + " " + k.getProtocol()
        + " " + k.getAlgorithm() + " \"" + java.util.Base64.getEncoder().encodeToString(k.getKey()) + "\";\n};\n");
    List<String> cmd = new ArrayList<>(List.of("delv", "@127.0.0.1", "-p", Integer.toString(dns.port()), "-a",
        anchor.toString(), "+root=example.test"));
    cmd.addAll(List.of(args));
    return DnsFixture.run(cmd);
  }

  @Test
  void delvFullyValidatesGeoAnswersStaticRecordsAndTheKeys() throws Exception {
    for (String[] q : new String[][] {{"www.example.test", "A"}, {"www.example.test", "AAAA"},
        {"info.example.test", "TXT"}, {"alias.example.test", "A"}, {"example.test", "DNSKEY"},
        {"example.test", "SOA"}, {"example.test", "CDS"}, {"host.wild.example.test", "A"}}) {
      String out = delv(q);
      assertTrue(out.contains("; fully validated"), String.join(" ", q) + "\n" + out);
      assertTrue(out.contains("RRSIG"), out);
    }
    assertTrue(delv("www.example.test", "A").contains(DnsFixture.US), "127.0.0.1 is placed in New York");
  }

  @Test
  void delvValidatesCompactDenialForNxdomainAndNodata() throws Exception {
    for (String[] q : new String[][] {{"nope.example.test", "A"}, {"www.example.test", "TXT"},
        {"info.example.test", "A"}, {"example.test", "MX"}, {"deep.nope.example.test", "AAAA"},
        {"sub.example.test", "DS"}}) {
      String out = delv(q);
      assertTrue(out.contains("; negative response, fully validated"), String.join(" ", q) + "\n" + out);
    }
  }

  /** ldns's drill chases each signature to the zone's key ("-k" the .key file) and prints its trust tree. */
  @Test
  void drillChasesAnswersAndDenialsToTheKey() throws Exception {
    Path keyFile = dir.resolve(csk.baseName() + ".key");
    for (String name : List.of("www.example.test", "info.example.test")) {
      String out = DnsFixture.run(List.of("drill", "-p", Integer.toString(dns.port()), "-k", keyFile.toString(),
          "-S", name, "@127.0.0.1"));
      assertTrue(out.contains(";; Chase successful") && out.contains("keytag: " + csk.tag()), name + "\n" + out);
    }
    String nx = DnsFixture.run(List.of("drill", "-p", Integer.toString(dns.port()), "-k", keyFile.toString(), "-S",
        "nope.example.test", "@127.0.0.1"));
    assertTrue(nx.contains("Existence is denied by") && nx.contains(";; Chase successful"), nx);
  }

  @Test
  void aReferralIntoAnUnsignedChildIsProvenInsecure() throws Exception {
    Message m = dns.udp(signedQuery("www.sub.example.test", Type.A, null));
    assertFalse(m.getHeader().getFlag(org.xbill.DNS.Flags.AA));
    NSECRecord nsec = onlyNsec(m);
    assertEquals(Name.fromConstantString("sub.example.test."), nsec.getName());
    assertTrue(nsec.hasType(Type.NS) && !nsec.hasType(Type.DS), nsec.toString());
    verifyAll(m, Section.AUTHORITY);
    for (Record r : m.getSection(Section.AUTHORITY)) {
      if (r instanceof RRSIGRecord s) {
        assertTrue(s.getTypeCovered() != Type.NS, "the child's NS are not signed by the parent: " + s);
      }
    }
  }

  @Test
  void everyRegionsAnswerCarriesAValidSignatureOfItsOwnSet() throws Exception {
    String[][] cases = {{DnsFixture.NEW_YORK, DnsFixture.US}, {DnsFixture.LONDON, DnsFixture.EU},
        {DnsFixture.MUMBAI, DnsFixture.AP}};
    for (String[] c : cases) {
      Message m = dns.udp(signedQuery("www.example.test", Type.A, c[0]));
      assertEquals(List.of(c[1]), DnsFixture.addresses(m), c[0]);
      assertEquals(1, verifyAll(m, Section.ANSWER), c[0] + " " + m);
    }
    // a region without AAAA: NODATA, and the NSEC says AAAA is not here — for this answer
    Message m = dns.udp(signedQuery("www.example.test", Type.AAAA, DnsFixture.MUMBAI));
    assertEquals(Rcode.NOERROR, m.getRcode());
    if (DnsFixture.addresses(m).isEmpty()) {
      NSECRecord nsec = onlyNsec(m);
      assertFalse(nsec.hasType(Type.AAAA), nsec.toString());
      verifyAll(m, Section.AUTHORITY);
    } else {
      verifyAll(m, Section.ANSWER); // the family constraint sent the client to a region with AAAA
    }
  }

  @Test
  void nxdomainBecomesNoerrorWithAnNxnameNsecOnlyWhenDoIsSet() throws Exception {
    Message signed = dns.udp(signedQuery("nope.example.test", Type.A, null));
    assertEquals(Rcode.NOERROR, signed.getRcode(), signed.toString());
    NSECRecord nsec = onlyNsec(signed);
    assertEquals(Name.fromConstantString("nope.example.test."), nsec.getName());
    assertEquals(Name.fromConstantString("\\000.nope.example.test."), nsec.getNext());
    assertTrue(nsec.hasType(128) && nsec.hasType(Type.NSEC) && nsec.hasType(Type.RRSIG) && !nsec.hasType(Type.A));
    assertEquals(2, verifyAll(signed, Section.AUTHORITY), "SOA and NSEC, each signed");

    Message plain = dns.udp(org.xbill.DNS.Message.newQuery(Record.newRecord(
        Name.fromConstantString("nope.example.test."), Type.A, DClass.IN)));
    assertEquals(Rcode.NXDOMAIN, plain.getRcode(), "without DO: as before");
    assertTrue(plain.getSection(Section.AUTHORITY).stream().noneMatch(r -> r.getType() == Type.RRSIG
        || r.getType() == Type.NSEC));
  }

  @Test
  void answersWithoutDoCarryNoSignaturesAndStayOnTheFastPath() throws Exception {
    Message m = dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.A, DnsFixture.LONDON));
    assertEquals(List.of(DnsFixture.EU), DnsFixture.addresses(m));
    assertTrue(m.getSection(Section.ANSWER).stream().noneMatch(r -> r.getType() == Type.RRSIG));
  }

  @Test
  void kdigShowsTheRrsigAndTheDnskeySetIsSignedByTheCsk() throws Exception {
    String out = dns.kdig("www.example.test", "A", "+dnssec", "+subnet=" + DnsFixture.LONDON);
    assertTrue(out.matches("(?s).*www\\.example\\.test\\.\\s+\\d+\\s+IN\\s+RRSIG\\s+A 13 3 30 .*"), out);
    Message keys = dns.udp(signedQuery("example.test", Type.DNSKEY, null));
    assertEquals(1, verifyAll(keys, Section.ANSWER));
    assertTrue(keys.getSection(Section.ANSWER).stream().anyMatch(r -> r.equals(csk.dnskey()
        .withName(Name.fromConstantString("example.test.")))), keys.toString());
    Message cds = dns.udp(signedQuery("example.test", Type.CDS, null));
    assertTrue(cds.getSection(Section.ANSWER).stream().anyMatch(r -> r.rdataToString().equals(
        csk.ds().rdataToString())), "CDS is the DS the parent needs: " + cds);
  }

  @Test
  void signatureExpiryAndCacheSizesAreExported() throws Exception {
    dns.udp(signedQuery("metrics-probe.example.test", Type.A, null)); // one online denial at least
    String text = GeoDnsMetricsTest.scrape(dns);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile(
        "meridian_geodns_dnssec_signature_expiry_timestamp_seconds\\{zone=\"example.test.\"} (\\S+)").matcher(text);
    assertTrue(m.find(), text);
    long expiry = (long) Double.parseDouble(m.group(1));
    long week = java.time.Duration.ofDays(7).toSeconds();
    long now = Instant.now().getEpochSecond();
    assertTrue(expiry > now + week - 600 && expiry <= now + week, "about a week from now: " + expiry);
    assertTrue(text.matches("(?s).*meridian_geodns_dnssec_signatures\\{kind=\"online\",zone=\"example.test.\"} [1-9].*"),
        text);
  }

  @Test
  void anExplicitNxnameQueryIsAFormatError() throws Exception {
    Message m = dns.udp(signedQuery("www.example.test", 128, null));
    assertEquals(Rcode.FORMERR, m.getRcode());
  }

  static Message signedQuery(String name, int type, String subnet) throws Exception {
    Name n = Name.fromConstantString(name.endsWith(".") ? name : name + ".");
    Message m = Message.newQuery(Record.newRecord(n, type, DClass.IN));
    List<org.xbill.DNS.EDNSOption> opts = new ArrayList<>();
    if (subnet != null) {
      String[] p = subnet.split("/");
      opts.add(new org.xbill.DNS.ClientSubnetOption(Integer.parseInt(p[1]),
          java.net.InetAddress.getByName(p[0])));
    }
    m.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO, opts), Section.ADDITIONAL);
    return m;
  }

  static NSECRecord onlyNsec(Message m) {
    List<NSECRecord> found = m.getSection(Section.AUTHORITY).stream().filter(r -> r instanceof NSECRecord)
        .map(r -> (NSECRecord) r).toList();
    assertEquals(1, found.size(), m.toString());
    return found.get(0);
  }

  /** Verifies every RRset of the section with the CSK; returns how many were verified. Fails on an unsigned set. */
  static int verifyAll(Message m, int section) throws Exception {
    int n = 0;
    for (RRset set : m.getSectionRRsets(section)) {
      if (set.getType() == Type.NS && !set.getName().equals(Name.fromConstantString("example.test."))) {
        continue; // a referral
      }
      List<RRSIGRecord> sigs = set.sigs();
      assertFalse(sigs.isEmpty(), "unsigned: " + set);
      for (RRSIGRecord sig : sigs) {
        assertEquals(csk.tag(), sig.getFootprint());
        assertTrue(sig.getTimeSigned().isBefore(Instant.now()) && sig.getExpire().isAfter(Instant.now()));
        DNSSEC.verify(set, sig, (DNSKEYRecord) csk.dnskey().withName(Name.fromConstantString("example.test.")),
            Instant.now());
      }
      n++;
    }
    assertNotNull(m);
    return n;
  }
}
