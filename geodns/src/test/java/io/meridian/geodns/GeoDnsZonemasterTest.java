package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A signed zone passes Zonemaster's DNSSEC test cases (DNSSEC01–DNSSEC18: algorithms, DS/DNSKEY match, RRSIG
 * validity, denial of existence, CDS/CDNSKEY consistency) as an undelegated test against two name servers that are
 * this server. Zonemaster only asks port 53, so the server binds a loopback address of its own on port 53: this
 * needs root (or CAP_NET_BIND_SERVICE), as CI's container has; elsewhere the test is skipped with the reason.
 * Debian package: zonemaster-cli.
 */
class GeoDnsZonemasterTest {
  static String zonemaster(String ip, String ds) throws Exception {
    return DnsFixture.run(List.of("timeout", "120", "zonemaster-cli", "--no-ipv6", "--show-testcase", "--level",
        "NOTICE", "--test", "DNSSEC", "--ns", "ns1.example.test/" + ip, "--ns", "ns2.example.test/" + ip, "--ds", ds,
        "example.test"));
  }

  @Test
  void aSignedZonePassesZonemastersDnssecTests() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "Zonemaster asks port 53 only: binding it needs root");
    Path dir = Files.createTempDirectory("geodns-zonemaster");
    DnssecKeyFile csk = DnssecKeyFile.generate("example.test.", DnssecKeyFile.ECDSAP256SHA256, true, 3600);
    Path key = csk.write(dir);
    // a loopback address of this run's own: several runs on one machine each get theirs
    String ip = "127.53." + (1 + (int) (ProcessHandle.current().pid() % 250)) + "." + (1 + (int) (Math.random()
        * 250));
    Files.writeString(dir.resolve("example.test.zone"), """
        $TTL 300
        @     IN SOA ns1.example.test. hostmaster.example.test. 2026120601 3600 600 1209600 300
        @     IN NS  ns1.example.test.
        @     IN NS  ns2.example.test.
        ns1   IN A   %1$s
        ns2   IN A   %1$s
        info  IN TXT "static"
        """.formatted(ip));
    try (DnsFixture dns = DnsFixture.start(dir, """
        dns:
          listen: %s:53
          ops_listen: 127.0.0.1:0
          zones:
            - origin: example.test.
              file: example.test.zone
              dnssec: {keys: [%s]}
              names:
                - name: www
        """.formatted(ip, key.getFileName()))) {
      String ds = String.join(",", csk.ds().rdataToString().split(" "));
      String out = zonemaster(ip, ds);
      assertTrue(out.contains("Looks OK."), "Zonemaster found something (NOTICE or worse):\n" + out);
      assertEquals(List.of(), out.lines().filter(l -> l.matches(".*\\b(NOTICE|WARNING|ERROR|CRITICAL)\\b.*"))
          .toList(), out);
      // the check has teeth: a DS that matches no key is reported
      String wrong = zonemaster(ip, ds.substring(0, ds.length() - 4) + (ds.endsWith("0000") ? "1111" : "0000"));
      assertTrue(!wrong.contains("Looks OK.") && wrong.matches("(?s).*DNSSEC\\d+.*"), wrong);
    }
  }
}
