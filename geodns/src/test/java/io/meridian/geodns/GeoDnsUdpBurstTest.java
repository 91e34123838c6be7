package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.Message;
import org.xbill.DNS.Type;

/**
 * Bursts of UDP queries from several clients at once — what the batched epoll listener reads with one
 * {@code recvmmsg} and answers with one flush ({@code sendmmsg}) — are each answered, to the client that asked,
 * with its own ID and the right region; on each UDP listener: native (recvmmsg/sendmmsg threads), Netty's epoll
 * channel, and the Vert.x DatagramSocket fallback.
 */
class GeoDnsUdpBurstTest {
  static final int CLIENTS = 4;
  static final int BURST = 8;
  static final int ROUNDS = 25;

  @ParameterizedTest
  @ValueSource(strings = {"native", "epoll", "vertx"})
  void everyQueryOfABurstIsAnsweredToItsSender(String listener) throws Exception {
    System.setProperty("meridian.geodns.udp", listener);
    try (DnsFixture dns = DnsFixture.start()) {
      // the listener asked for is the one serving (the build runs tests with the flags the native one needs), but
      // for native on a JDK without a binding for it (18-21), which falls back to epoll
      String serving = listener.equals("native") && !GeoDnsNativeUdpTest.NATIVE_JDK ? "epoll" : listener;
      assertTrue(GeoDnsMetricsTest.scrape(dns).contains("meridian_geodns_udp_listener_info{listener=\"" + serving
          + "\"} 1"), "serving on the " + serving + " listener on Java " + Runtime.version().feature());
      InetAddress lo = InetAddress.getLoopbackAddress();
      List<DatagramSocket> clients = new ArrayList<>();
      try {
        for (int c = 0; c < CLIENTS; c++) {
          DatagramSocket s = new DatagramSocket(0, lo);
          s.setReceiveBufferSize(1 << 20);
          s.setSoTimeout(5000);
          clients.add(s);
        }
        String[] subnets = {DnsFixture.LONDON, DnsFixture.NEW_YORK, DnsFixture.MUMBAI, DnsFixture.PARIS};
        String[] expected = {DnsFixture.EU, DnsFixture.US, DnsFixture.AP, DnsFixture.EU};
        // rounds of BURST queries per client sent without waiting, so they queue up on the server's socket (small
        // enough for the default socket receive buffer, which would otherwise drop some on a busy machine)
        byte[] buf = new byte[2048];
        for (int round = 0; round < ROUNDS; round++) {
          for (int i = 0; i < BURST; i++) {
            for (int c = 0; c < CLIENTS; c++) {
              Message q = DnsFixture.ecsQuery("www.example.test.", Type.A, subnets[c]);
              q.getHeader().setID(round * BURST + i);
              byte[] w = q.toWire();
              clients.get(c).send(new DatagramPacket(w, w.length, lo, dns.port()));
            }
          }
          for (int c = 0; c < CLIENTS; c++) {
            Set<Integer> ids = new HashSet<>();
            for (int i = 0; i < BURST; i++) {
              DatagramPacket p = new DatagramPacket(buf, buf.length);
              clients.get(c).receive(p);
              Message r = new Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
              ids.add(r.getHeader().getID());
              assertEquals(List.of(expected[c]), DnsFixture.addresses(r), "client " + c);
            }
            Set<Integer> want = new HashSet<>();
            for (int i = 0; i < BURST; i++) {
              want.add(round * BURST + i);
            }
            assertEquals(want, ids, "client " + c + " got exactly its own answers");
          }
        }
      } finally {
        clients.forEach(DatagramSocket::close);
      }
    } finally {
      System.clearProperty("meridian.geodns.udp");
    }
  }
}
