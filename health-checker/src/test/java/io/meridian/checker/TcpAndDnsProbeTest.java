package io.meridian.checker;

import static io.meridian.checker.HttpProbeOutcomesTest.get;
import static io.meridian.checker.HttpProbeOutcomesTest.probe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.HealthCheckConfig.Endpoint;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.net.NetServer;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;

/** TCP connect and DNS probes against real servers on loopback. */
@ExtendWith(VertxExtension.class)
class TcpAndDnsProbeTest {
  static final HealthProbe.Settings SETTINGS = new HealthProbe.Settings(Duration.ofSeconds(3), "t", 256);
  static final HealthProbe.Settings SHORT = new HealthProbe.Settings(Duration.ofMillis(300), "t", 256);

  @Test
  void tcpConnectPassesAndRefusedFails(Vertx vertx) throws Exception {
    NetServer server = get(vertx.createNetServer().connectHandler(s -> { }).listen(0, "127.0.0.1"));
    int port = server.actualPort();
    ProbeResult up = probe(vertx, Endpoint.tcp("127.0.0.1", port), SETTINGS);
    assertTrue(up.ok(), up.toString());
    assertTrue(up.output().matches("connected in [0-9.]+ms"), up.output());
    get(server.close());
    // a port bound but not listening refuses connections. Not the closed server's port: it is in the ephemeral
    // range, and a connect to a free ephemeral port can pick that same port as its source and connect to itself
    // (TCP simultaneous open), which made this test flaky
    try (java.net.Socket bound = new java.net.Socket()) {
      bound.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
      int closed = bound.getLocalPort();
      ProbeResult down = probe(vertx, Endpoint.tcp("127.0.0.1", closed), SETTINGS);
      assertEquals(ProbeFailure.REFUSED, down.failure(), down.toString());
      assertTrue(down.output().startsWith("connection refused connecting to 127.0.0.1:" + closed), down.output());
    }
  }

  /** A tiny authoritative server: answers app.example.com A, NXDOMAIN for the rest, silence for "mute.". */
  private static DatagramSocket dnsServer(Vertx vertx) throws Exception {
    DatagramSocket s = vertx.createDatagramSocket();
    s.handler(p -> {
      try {
        Message q = new Message(p.data().getBytes());
        String name = q.getQuestion().getName().toString();
        if (name.startsWith("mute.")) {
          return;
        }
        Message a = new Message(q.getHeader().getID());
        a.getHeader().setFlag(Flags.QR);
        a.getHeader().setFlag(Flags.AA);
        a.addRecord(q.getQuestion(), Section.QUESTION);
        if (name.equals("app.example.com.")) {
          a.addRecord(new ARecord(q.getQuestion().getName(), 1, 30,
              java.net.InetAddress.getByName("192.0.2.10")), Section.ANSWER);
        } else {
          a.getHeader().setRcode(Rcode.NXDOMAIN);
        }
        s.send(Buffer.buffer(a.toWire()), p.sender().port(), p.sender().host());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    return get(s.listen(0, "127.0.0.1"));
  }

  @Test
  void dnsAnswerPasses(Vertx vertx) throws Exception {
    DatagramSocket server = dnsServer(vertx);
    int port = server.localAddress().port();
    ProbeResult r = probe(vertx, Endpoint.dns("127.0.0.1", port, "app.example.com", "A"), SETTINGS);
    assertTrue(r.ok(), r.toString());
    assertTrue(r.output().startsWith("NOERROR, 1 answer(s) (A 192.0.2.10) in "), r.output());
    assertEquals(Rcode.NOERROR, r.status());
  }

  @Test
  void dnsErrorRcodeAndSilenceFail(Vertx vertx) throws Exception {
    DatagramSocket server = dnsServer(vertx);
    int port = server.localAddress().port();
    ProbeResult nx = probe(vertx, Endpoint.dns("127.0.0.1", port, "other.example.com", "A"), SETTINGS);
    assertEquals(ProbeFailure.RCODE, nx.failure());
    assertTrue(nx.output().startsWith("NXDOMAIN for other.example.com/A at 127.0.0.1:" + port), nx.output());
    ProbeResult mute = probe(vertx, Endpoint.dns("127.0.0.1", port, "mute.example.com", "A"), SHORT);
    assertEquals(ProbeFailure.TIMEOUT, mute.failure());
    assertTrue(mute.output().startsWith("timeout after 300ms waiting for an answer to mute.example.com/A"),
        mute.output());
  }
}
