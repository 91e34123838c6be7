package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * {@code dns.explain}: the explain name is NODATA for other types (RFC 8020), and clients outside the allowed
 * networks get what the zone holds (NXDOMAIN), over DNS and from {@code /v1/explain} a 403.
 */
class GeoDnsExplainAccessTest {
  static String dnsSection(String explain) {
    return """
        dns:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          rrl: {responses_per_second: 0}
        """ + (explain == null ? "" : "  explain: " + explain + "\n") + """
          zones:
            - origin: example.test.
              names:
                - name: www
        """;
  }

  static int explainStatus(DnsFixture dns) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
        + dns.role.opsPort() + "/v1/explain?client=203.0.113.9&name=www.example.test")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  void byDefaultLoopbackMayAskAndOtherTypesAreNodata() throws Exception {
    try (DnsFixture dns = DnsFixture.start(dnsSection(null))) {
      assertTrue(String.join("\n", dns.digShort("_explain.www.example.test", "TXT")).contains("choice="));
      for (String type : new String[] {"A", "AAAA", "MX"}) {
        String out = dns.dig("_explain.www.example.test", type);
        assertTrue(out.contains("status: NOERROR") && out.contains("ANSWER: 0") && out.contains("SOA"),
            type + " is NODATA with the SOA (RFC 8020, RFC 2308):\n" + out);
      }
      assertEquals(200, explainStatus(dns));
    }
  }

  @Test
  void clientsOutsideTheAllowedNetworksSeeNoSuchName() throws Exception {
    try (DnsFixture dns = DnsFixture.start(dnsSection("[10.0.0.0/8, 'fc00::/7']"))) {
      String out = dns.dig("_explain.www.example.test", "TXT", "+subnet=10.1.2.0/24");
      assertTrue(out.contains("status: NXDOMAIN") && !out.contains("choice="),
          "the ECS address does not count, the source (loopback) is not allowed:\n" + out);
      assertTrue(dns.dig("_explain.www.example.test", "A").contains("status: NXDOMAIN"));
      assertEquals(403, explainStatus(dns));
      assertEquals(java.util.List.of(DnsFixture.US), dns.digShort("www.example.test", "A"));
    }
  }

  @Test
  void offTurnsExplanationsOffEverywhere() throws Exception {
    try (DnsFixture dns = DnsFixture.start(dnsSection("off"))) {
      assertTrue(dns.dig("_explain.www.example.test", "TXT").contains("status: NXDOMAIN"));
      assertEquals(403, explainStatus(dns));
    }
    try (DnsFixture dns = DnsFixture.start(dnsSection("on"))) {
      assertTrue(String.join("\n", dns.digShort("_explain.www.example.test", "TXT")).contains("choice="));
    }
  }
}
