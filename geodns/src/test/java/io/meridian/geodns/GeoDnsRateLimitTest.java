package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Response Rate Limiting: beyond the per-prefix rate, every slip-th response is truncated and the rest dropped;
 * TCP is never limited, so a real client behind a limited prefix still gets its answer.
 */
class GeoDnsRateLimitTest {
  static DnsFixture dns;

  @BeforeAll
  static void start() throws Exception {
    dns = DnsFixture.start("""
        dns:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          rrl: {responses_per_second: 20, slip: 2}
          zones:
            - origin: example.test.
              names:
                - name: www
        """);
  }

  @AfterAll
  static void stop() throws Exception {
    dns.close();
  }

  @Test
  void floodIsLimitedWithSlipAndTcpStillAnswers() throws Exception {
    Message q = DnsFixture.ecsQuery("www.example.test.", Type.A, DnsFixture.LONDON);
    byte[] wire = q.toWire();
    dns.tcp(List.of(q)); // warm up (class loading, JIT) over TCP, which is not limited

    int sent = 200;
    int full = 0;
    int truncated = 0;
    try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      s.setSoTimeout(1000);
      // well inside one second (a 1-second window), so at most ~2×20 get through even across a boundary
      for (int i = 0; i < sent; i++) {
        s.send(new DatagramPacket(wire, wire.length, InetAddress.getLoopbackAddress(), dns.port()));
      }
      byte[] buf = new byte[4096];
      while (true) {
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        try {
          s.receive(p);
        } catch (SocketTimeoutException e) {
          break;
        }
        Message r = new Message(java.util.Arrays.copyOf(buf, p.getLength()));
        if (r.getHeader().getFlag(Flags.TC)) {
          truncated++;
          assertTrue(r.getSection(Section.ANSWER).isEmpty(), "a slip carries no records");
        } else {
          full++;
        }
      }
    }
    assertTrue(full >= 20 && full <= 40, "full answers " + full + ", truncated " + truncated);
    int limited = sent - full;
    // slip 2: about half of the limited responses come back truncated, the rest are dropped
    assertTrue(truncated >= limited / 2 - 5 && truncated <= limited / 2 + 5, "truncated " + truncated + " of " + limited);

    List<Message> overTcp = dns.tcp(List.of(q, q, q));
    for (Message r : overTcp) {
      assertEquals(List.of(DnsFixture.EU), DnsFixture.addresses(r), "TCP is not rate limited");
    }
  }
}
