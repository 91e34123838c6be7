package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

/**
 * The native UDP listener (blocking recvmmsg/sendmmsg threads through the foreign linker) where the socket layer is
 * its own: IPv6 and dual-stack sockets with IPv4-mapped senders, datagrams longer than its receive slot, and a
 * stop that gives the port and the threads back. The build runs tests with the JVM flags it needs; without them
 * these tests would serve on another listener, which the first assertion of each catches. On Java 17 the listener
 * runs on the incubator linker, on Java 22+ on {@code java.lang.foreign} (which one: {@code LibcBindingTest}).
 */
class GeoDnsNativeUdpTest {
  /** The JDKs with a binding for the native listener; Java 18-21 serve UDP on epoll (GeoDnsUdpBurstTest checks). */
  static final boolean NATIVE_JDK = Runtime.version().feature() == 17 || Runtime.version().feature() >= 22;

  private static final String DUAL_STACK = DnsFixture.DEFAULT_DNS.replace("listen: 127.0.0.1:0", "listen: \"[::]:0\"");

  @BeforeEach
  void nativeListener() {
    assumeTrue(NATIVE_JDK, "Java " + Runtime.version().feature() + " has no native UDP binding (17 or 22+ has)");
    System.setProperty("meridian.geodns.udp", "native");
  }

  @AfterEach
  void clear() {
    System.clearProperty("meridian.geodns.udp");
  }

  @Test
  void aDualStackSocketAnswersIpv6ClientsAndLocatesIpv4MappedOnesAsIpv4() throws Exception {
    InetAddress v6 = InetAddress.getByName("::1");
    assumeTrue(ipv6Loopback(), "this machine has no IPv6 loopback");
    try (DnsFixture dns = DnsFixture.start(DUAL_STACK)) {
      assertNative(dns);
      // 127.0.0.1 arrives as ::ffff:127.0.0.1 and must be located by its IPv4 net (New York in the fixture)
      Message fromV4 = query(dns, InetAddress.getByName("127.0.0.1"), plainQuery());
      assertEquals(List.of(DnsFixture.US), DnsFixture.addresses(fromV4));
      Message fromV6 = query(dns, v6, plainQuery());
      assertEquals(Rcode.NOERROR, fromV6.getRcode());
      assertEquals(1, DnsFixture.addresses(fromV6).size(), "an IPv6 client gets one region's address");
      // ECS over IPv6 transport still decides
      Message london = query(dns, v6, DnsFixture.ecsQuery("www.example.test.", Type.A, DnsFixture.LONDON));
      assertEquals(List.of(DnsFixture.EU), DnsFixture.addresses(london));
    }
  }

  @Test
  void aDatagramLongerThanTheReceiveSlotIsCutAndServingGoesOn() throws Exception {
    try (DnsFixture dns = DnsFixture.start()) {
      assertNative(dns);
      // a question name that never ends, 4000 bytes of 63-byte labels: cut at the 2048-byte slot, malformed either way
      byte[] huge = new byte[4000];
      huge[0] = 0x12;
      huge[1] = 0x34;
      huge[5] = 1; // QDCOUNT 1
      for (int i = 12; i + 64 <= huge.length; i += 64) {
        huge[i] = 63;
        Arrays.fill(huge, i + 1, i + 64, (byte) 'a');
      }
      byte[] answer = dns.udpRaw(huge);
      assertNotNull(answer, "a malformed query with a readable header is answered");
      assertEquals(Rcode.FORMERR, answer[3] & 0x0F, "rcode");
      assertEquals(0x12, answer[0], "the query's ID");
      assertEquals(0x34, answer[1], "the query's ID");
      assertEquals(List.of(DnsFixture.US), DnsFixture.addresses(dns.udp(plainQuery())));
    }
  }

  @Test
  void stoppingGivesThePortAndTheThreadsBack() throws Exception {
    int port;
    try (DnsFixture dns = DnsFixture.start()) {
      assertNative(dns);
      port = dns.port();
      assertTrue(udpThreads() > 0, "the listener runs threads of its own");
    }
    assertEquals(0, udpThreadsAfterExit(), "no UDP thread survives the stop");
    try (DatagramSocket again = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
      assertEquals(port, again.getLocalPort());
    }
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"native", "epoll"})
  void aPortInUseFailsTheStartInsteadOfBeingShared(String listener) throws Exception {
    System.setProperty("meridian.geodns.udp", listener);
    try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
      String dnsSection = DnsFixture.DEFAULT_DNS.replace("listen: 127.0.0.1:0", "listen: 127.0.0.1:" + taken.getLocalPort());
      Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> DnsFixture.start(dnsSection));
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      assertTrue(String.valueOf(root.getMessage()).contains("Address already in use"), "why: " + root);
      assertEquals(0, udpThreadsAfterExit(), "no thread left behind by the failed start");
    }
  }

  private static void assertNative(DnsFixture dns) throws Exception {
    String metrics = GeoDnsMetricsTest.scrape(dns);
    assertTrue(metrics.contains("meridian_geodns_udp_listener_info{listener=\"native\"} 1"),
        "serving on the native listener: " + metrics.lines().filter(l -> l.contains("udp_listener")).toList());
  }

  /**
   * The UDP threads still alive after giving them up to 5 s to exit: Netty completes an event loop group's
   * termination future from its last thread, which is then still alive for a moment (CI saw one on Java 25).
   */
  private static long udpThreadsAfterExit() throws InterruptedException {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
    while (udpThreads() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    return udpThreads();
  }

  private static long udpThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("meridian-dns-udp-")).count();
  }

  private static boolean ipv6Loopback() {
    try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("::1"), 0))) {
      return s.getLocalAddress() instanceof Inet6Address;
    } catch (Exception e) {
      return false;
    }
  }

  private static Message plainQuery() {
    return Message.newQuery(org.xbill.DNS.Record.newRecord(org.xbill.DNS.Name.fromConstantString(
        "www.example.test."), Type.A, org.xbill.DNS.DClass.IN));
  }

  private static Message query(DnsFixture dns, InetAddress to, Message q) throws Exception {
    try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(to, 0))) {
      s.setSoTimeout(3000);
      byte[] w = q.toWire();
      s.send(new DatagramPacket(w, w.length, to, dns.port()));
      byte[] buf = new byte[4096];
      DatagramPacket p = new DatagramPacket(buf, buf.length);
      s.receive(p);
      Message m = new Message(Arrays.copyOf(buf, p.getLength()));
      assertEquals(q.getHeader().getID(), m.getHeader().getID());
      assertFalse(m.getHeader().getFlag(org.xbill.DNS.Flags.TC));
      return m;
    }
  }
}
