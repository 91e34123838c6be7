package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The README's double-signature rollover, step by step with config reloads: old key alone; old and new (both
 * published and signing: a validator trusting either key validates); new alone (a validator still trusting only the
 * old key no longer does). Checked with delv.
 */
class GeoDnsDnssecRolloverTest {
  static final String DNS = """
      dns:
        listen: 127.0.0.1:0
        ops_listen: 127.0.0.1:0
        rrl: {responses_per_second: 0}
        zones:
          - origin: example.test.
            ttl: 30s
            dnssec:
              keys: [%s]
            names:
              - name: www
      """;

  static String delv(DnsFixture dns, Path dir, DnssecKeyFile anchor) throws Exception {
    Path file = dir.resolve("anchor-" + anchor.tag() + ".conf");
    DNSKEYRecord k = anchor.dnskey();
    Files.writeString(file, "trust-anchors {\n  example.test. static-key " + k.getFlags() + " " + k.getProtocol()
        + " " + k.getAlgorithm() + " \"" + java.util.Base64.getEncoder().encodeToString(k.getKey()) + "\";\n};\n");
    return DnsFixture.run(List.of("delv", "@127.0.0.1", "-p", Integer.toString(dns.port()), "-a", file.toString(),
        "+root=example.test", "www.example.test", "A"));
  }

  static Set<Integer> keyTags(DnsFixture dns) throws Exception {
    Message m = dns.udp(GeoDnsDnssecTest.signedQuery("example.test", Type.DNSKEY, null));
    return m.getSection(Section.ANSWER).stream().filter(r -> r instanceof DNSKEYRecord)
        .map(r -> ((DNSKEYRecord) r).getFootprint()).collect(Collectors.toSet());
  }

  static void reload(DnsFixture dns, Path dir, Path... keys) throws Exception {
    List<String> names = new ArrayList<>();
    for (Path k : keys) {
      names.add(k.getFileName().toString());
    }
    Path f = dir.resolve("meridian.yaml");
    Files.writeString(f, DnsFixture.REGIONS + DNS.formatted(String.join(", ", names)));
    dns.role.reconfigure(ConfigLoader.load(f));
    Set<Integer> want = new java.util.HashSet<>();
    for (Path k : keys) {
      want.add(DnssecKeyFile.read(k, org.xbill.DNS.Name.fromConstantString("example.test.")).tag());
    }
    for (int i = 0; i < 200 && !keyTags(dns).equals(want); i++) {
      Thread.sleep(50);
    }
    assertEquals(want, keyTags(dns), "the reloaded key set is served");
  }

  @Test
  void doubleSignatureRolloverKeepsValidatorsOfEitherKeyValidatingUntilTheOldKeyGoes() throws Exception {
    Path dir = Files.createTempDirectory("geodns-rollover");
    DnssecKeyFile oldKey = DnssecKeyFile.generate("example.test.", DnssecKeyFile.ECDSAP256SHA256, true, 3600);
    DnssecKeyFile newKey = DnssecKeyFile.generate("example.test.", DnssecKeyFile.ECDSAP256SHA256, true, 3600);
    Path oldPath = oldKey.write(dir);
    Path newPath = newKey.write(dir);
    try (DnsFixture dns = DnsFixture.start(dir, DNS.formatted(oldPath.getFileName()))) {
      assertTrue(delv(dns, dir, oldKey).contains("; fully validated"));
      assertFalse(delv(dns, dir, newKey).contains("; fully validated"), "the new key is not published yet");

      reload(dns, dir, oldPath, newPath);
      Message m = dns.udp(GeoDnsDnssecTest.signedQuery("www.example.test", Type.A, null));
      Set<Integer> signers = m.getSection(Section.ANSWER).stream().filter(r -> r instanceof RRSIGRecord)
          .map(r -> ((RRSIGRecord) r).getFootprint()).collect(Collectors.toSet());
      assertEquals(Set.of(oldKey.tag(), newKey.tag()), signers, "both keys sign: " + m);
      Message cds = dns.udp(GeoDnsDnssecTest.signedQuery("example.test", Type.CDS, null));
      assertEquals(2, cds.getSection(Section.ANSWER).stream().filter(r -> r.getType() == Type.CDS).count(),
          "CDS for both: the parent may publish both DS");
      for (DnssecKeyFile anchor : List.of(oldKey, newKey)) {
        String out = delv(dns, dir, anchor);
        assertTrue(out.contains("; fully validated"), anchor.tag() + "\n" + out);
      }

      reload(dns, dir, newPath);
      assertTrue(delv(dns, dir, newKey).contains("; fully validated"));
      String stale = delv(dns, dir, oldKey);
      assertFalse(stale.contains("; fully validated"), stale);
      for (Record r : dns.udp(GeoDnsDnssecTest.signedQuery("www.example.test", Type.A, null))
          .getSection(Section.ANSWER)) {
        if (r instanceof RRSIGRecord s) {
          assertEquals(newKey.tag(), s.getFootprint());
        }
      }
    }
  }
}
