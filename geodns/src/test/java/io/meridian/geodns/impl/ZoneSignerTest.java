package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.geodns.DnssecKeyFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Type;

/**
 * Keys written by BIND's dnssec-keygen (Ed25519, a KSK and a ZSK) sign a zone: the KSK the DNSKEY RRset, the ZSK
 * everything else; signatures are renewed after a quarter of their validity; bad key files and DNSSEC records in a
 * zone file are refused with the file named.
 */
class ZoneSignerTest {
  static final Name ORIGIN = Name.fromConstantString("example.test.");

  static Path keygen(Path dir, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("dnssec-keygen", "-K", dir.toString()));
    cmd.addAll(List.of(args));
    cmd.add("example.test");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes()).trim();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "dnssec-keygen (bind9-utils): " + out);
    return dir.resolve(out.lines().reduce((a, b) -> b).orElseThrow());
  }

  static ZoneData zone(List<DnssecKeyFile> keys, Duration validity) throws Exception {
    Path f = Files.createTempFile("zone", ".zone");
    Files.writeString(f, ZoneLoaderTest.HEAD + "www IN A 192.0.2.1\n");
    return ZoneData.of(ORIGIN, ZoneLoader.readFile(f, ORIGIN), List.of(), f.toString(),
        new ZoneData.Signing(keys, validity));
  }

  @Test
  void bindKeysSignWithKskForTheKeySetAndZskForTheRest() throws Exception {
    Path dir = Files.createTempDirectory("keys");
    DnssecKeyFile ksk = DnssecKeyFile.read(keygen(dir, "-a", "ED25519", "-f", "KSK"), ORIGIN);
    DnssecKeyFile zsk = DnssecKeyFile.read(keygen(dir, "-a", "ED25519"), ORIGIN);
    assertTrue(ksk.sep() && !zsk.sep());
    ZoneData z = zone(List.of(ksk, zsk), Duration.ofDays(7));
    RRset keys = z.node(ORIGIN).get(Type.DNSKEY);
    assertEquals(2, keys.size());
    RRSIGRecord[] keySigs = z.signer().sign(keys);
    assertEquals(1, keySigs.length);
    assertEquals(ksk.tag(), keySigs[0].getFootprint());
    DNSSEC.verify(keys, keySigs[0], ksk.dnskey(), Instant.now());
    RRset www = z.node(Name.fromConstantString("www.example.test.")).get(Type.A);
    RRSIGRecord[] wwwSigs = z.signer().sign(www);
    assertEquals(1, wwwSigs.length);
    assertEquals(zsk.tag(), wwwSigs[0].getFootprint());
    DNSSEC.verify(www, wwwSigs[0], zsk.dnskey(), Instant.now());
    assertSame(wwwSigs, z.signer().sign(www), "prepared: the same signatures every time, none made per query");
    assertEquals(1, z.node(ORIGIN).get(Type.CDS).size(), "CDS for the KSK only");
  }

  @Test
  void signaturesAreRenewedAfterAQuarterOfTheirValidity() throws Exception {
    DnssecKeyFile csk = DnssecKeyFile.generate("example.test.", DnssecKeyFile.ECDSAP256SHA256, true, 3600);
    ZoneData z = zone(List.of(csk), Duration.ofDays(8));
    ZoneSigner s = z.signer();
    Instant start = s.signatures().signedAt;
    assertFalse(s.due(start.plus(Duration.ofDays(2)).minusSeconds(1)));
    assertTrue(s.due(start.plus(Duration.ofDays(2))));
    RRset www = z.node(Name.fromConstantString("www.example.test.")).get(Type.A);
    RRSIGRecord before = s.sign(www)[0];
    assertEquals(start.plus(Duration.ofDays(8)).getEpochSecond(), before.getExpire().getEpochSecond());
    assertEquals(start.minus(ZoneSigner.INCEPTION_SKEW).getEpochSecond(), before.getTimeSigned().getEpochSecond());
    Instant later = start.plus(Duration.ofDays(2));
    s.resign(later);
    RRSIGRecord after = s.sign(www)[0];
    assertNotSame(before, after);
    assertEquals(later.plus(Duration.ofDays(8)).getEpochSecond(), after.getExpire().getEpochSecond());
    DNSSEC.verify(www, after, csk.dnskey(), later.plus(Duration.ofDays(7)));
    assertFalse(s.due(later));
  }

  @Test
  void onlineDenialsAreCachedAndBounded() throws Exception {
    DnssecKeyFile csk = DnssecKeyFile.generate("example.test.", DnssecKeyFile.ED25519, true, 3600);
    ZoneSigner s = zone(List.of(csk), Duration.ofDays(7)).signer();
    Name nope = Name.fromConstantString("nope.example.test.");
    RRset first = s.denial(nope, null);
    RRset again = s.denial(nope, null);
    assertSame(first.sigs().get(0), again.sigs().get(0));
    DNSSEC.verify(first, first.sigs().get(0), csk.dnskey(), Instant.now());
    s.onlineMax = 20;
    for (int i = 0; i < 45; i++) {
      s.denial(Name.fromConstantString("n" + i + ".example.test."), null);
      assertTrue(s.signatures().onlineCount() <= 20, "bounded: " + s.signatures().onlineCount());
    }
    assertTrue(s.signatures().onlineCount() > 0);
  }

  @Test
  void badKeysAndSignedZoneFilesAreRefused() throws Exception {
    Path dir = Files.createTempDirectory("keys");
    DnssecKeyFile a = DnssecKeyFile.generate("example.test.", DnssecKeyFile.ECDSAP256SHA256, true, 3600);
    DnssecKeyFile b = DnssecKeyFile.generate("example.test.", DnssecKeyFile.ECDSAP256SHA256, true, 3600);
    Path pa = a.write(dir);
    Path pb = b.write(dir);
    // a .private that belongs to another key
    Files.copy(pb.resolveSibling(pb.getFileName() + ".private"), pa.resolveSibling(pa.getFileName() + ".private"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    String mismatch = assertThrows(DnssecKeyFile.KeyFileException.class, () -> DnssecKeyFile.read(pa, ORIGIN))
        .getMessage();
    assertTrue(mismatch.contains(pa.getFileName() + ".private") && mismatch.contains("does not match"), mismatch);
    String otherZone = assertThrows(DnssecKeyFile.KeyFileException.class,
        () -> DnssecKeyFile.read(pb, Name.fromConstantString("other.test."))).getMessage();
    assertTrue(otherZone.contains("the key is for example.test."), otherZone);
    DnssecKeyFile zskOnly = DnssecKeyFile.generate("example.test.", DnssecKeyFile.ED25519, false, 3600);
    String noSep = assertThrows(IllegalArgumentException.class, () -> zone(List.of(zskOnly), Duration.ofDays(7)))
        .getMessage();
    assertTrue(noSep.contains("no key has the SEP flag"), noSep);
    Path f = Files.createTempFile("zone", ".zone");
    Files.writeString(f, ZoneLoaderTest.HEAD + "www IN A 192.0.2.1\nwww IN NSEC example.test. A RRSIG NSEC\n");
    String signedFile = assertThrows(IllegalArgumentException.class, () -> ZoneData.of(ORIGIN,
        ZoneLoader.readFile(f, ORIGIN), List.of(), f.toString(), new ZoneData.Signing(List.of(b),
            Duration.ofDays(7)))).getMessage();
    assertTrue(signedFile.contains("www.example.test. NSEC") && signedFile.contains("signed online"), signedFile);
    DNSKEYRecord k = b.dnskey();
    assertEquals(String.format("Kexample.test.+013+%05d", k.getFootprint()), pb.getFileName().toString());
  }
}
