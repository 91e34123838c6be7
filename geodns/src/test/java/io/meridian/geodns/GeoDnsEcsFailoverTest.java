package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The walking-skeleton promise, with dig as the client: an ECS client in Europe gets the EU region; when the
 * plan marks that region FAILED the very next answer is the next-nearest region; recovery brings it back.
 */
class GeoDnsEcsFailoverTest {
  static DnsFixture dns;

  @BeforeAll
  static void start() throws Exception {
    dns = DnsFixture.start();
  }

  @AfterAll
  static void stop() throws Exception {
    dns.close();
  }

  @Test
  void europeanEcsClientGetsEuThenNextNearestWhenEuFails() throws Exception {
    assertEquals(List.of(DnsFixture.EU), dns.digShort("www.example.test", "A", "+subnet=" + DnsFixture.LONDON));
    assertEquals(List.of(DnsFixture.US), dns.digShort("www.example.test", "A", "+subnet=" + DnsFixture.NEW_YORK));
    assertEquals(List.of(DnsFixture.AP), dns.digShort("www.example.test", "A", "+subnet=" + DnsFixture.MUMBAI));

    dns.fail("eu-west");
    // London: Ashburn (5,900 km) is nearer than Mumbai (7,200 km)
    assertEquals(List.of(DnsFixture.US), dns.digShort("www.example.test", "A", "+subnet=" + DnsFixture.LONDON));
    assertEquals(List.of(DnsFixture.AP), dns.digShort("www.example.test", "A", "+subnet=" + DnsFixture.MUMBAI));

    dns.publish("eu-west recovered", r -> r.withHealth(io.meridian.core.Health.HEALTHY));
    assertEquals(List.of(DnsFixture.EU), dns.digShort("www.example.test", "A", "+subnet=" + DnsFixture.LONDON));
  }

  @Test
  void withoutEcsTheSourceAddressLocatesTheClient() throws Exception {
    // 127.0.0.0/8 is placed in New York by the fixture's nets overrides
    assertEquals(List.of(DnsFixture.US), dns.digShort("www.example.test", "A"));
  }

  @Test
  void ecsOptionIsEchoedWithAScope() throws Exception {
    String out = dns.dig("www.example.test", "A", "+subnet=" + DnsFixture.LONDON);
    // the nets override is a /24, so the answer holds for the whole /24
    assertTrue(out.contains("CLIENT-SUBNET: 198.51.100.0/24/24"), out);
    assertTrue(out.contains("flags: qr aa"), out);
  }

  @Test
  void readyOnceSocketsAreBound() throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + dns.role.opsPort() + "/readyz")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
  }
}
