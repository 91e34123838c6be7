package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.geodns.DnsFixture;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Mutation fuzzing: 100,000 packets derived from valid queries by bit flips, interesting bytes, compression
 * pointers, count-field corruption, truncation, extension and splicing go through the real server's answer
 * pipeline (alternating UDP and TCP rules), and 5,000 more through its UDP socket. No packet may hit a bug
 * (internal errors stay 0), every response must parse and echo the query id, and the server answers correctly
 * afterwards. The seed is fixed so a failure reproduces; set -Dfuzz.seed to explore.
 */
class AnswerPipelineFuzzTest {
  static final int IN_PROCESS = 100_000;
  static final int OVER_UDP = 5_000;

  static List<byte[]> corpus() throws Exception {
    List<byte[]> out = new ArrayList<>();
    String[] names = {"www.example.test.", "mail.example.test.", "alias.example.test.", "chain1.example.test.",
        "x.wild.example.test.", "host.sub.example.test.", "nothing.example.test.", "example.test.",
        "_explain.www.example.test.", "big.example.test.", "www.example.org."};
    int[] types = {Type.A, Type.AAAA, Type.ANY, Type.TXT, Type.SOA, Type.NS, Type.CNAME, Type.MX};
    for (String n : names) {
      for (int t : types) {
        Message m = Message.newQuery(Record.newRecord(Name.fromConstantString(n), t, DClass.IN));
        out.add(m.toWire());
        Message e = Message.newQuery(Record.newRecord(Name.fromConstantString(n), t, DClass.IN));
        e.addRecord(new OPTRecord(4096, 0, 0, 0,
            new ClientSubnetOption(24, InetAddress.getByName("198.51.100.0"))), Section.ADDITIONAL);
        out.add(e.toWire());
      }
    }
    return out;
  }

  static byte[] mutate(byte[] seed, byte[] other, Random rnd) {
    byte[] b = seed.clone();
    int rounds = 1 + rnd.nextInt(4);
    for (int r = 0; r < rounds; r++) {
      int op = rnd.nextInt(8);
      if (b.length < 12 && (op == 3 || op == 7)) {
        op = 5; // header-field mutations need a header: grow it instead
      }
      switch (op) {
        case 0 -> { // bit flip
          int i = rnd.nextInt(b.length);
          b[i] ^= (byte) (1 << rnd.nextInt(8));
        }
        case 1 -> { // interesting byte
          byte[] values = {0, (byte) 0xFF, 0x7F, (byte) 0x80, (byte) 0xC0, 0x3F, 0x40, 1};
          b[rnd.nextInt(b.length)] = values[rnd.nextInt(values.length)];
        }
        case 2 -> { // a compression pointer somewhere, possibly to itself or forward
          if (b.length > 13) {
            int i = 12 + rnd.nextInt(b.length - 13);
            b[i] = (byte) (0xC0 | rnd.nextInt(0x40));
            b[i + 1] = (byte) rnd.nextInt(256);
          }
        }
        case 3 -> { // corrupt a count field (QD/AN/NS/AR)
          int i = 4 + 2 * rnd.nextInt(4);
          b[i] = (byte) rnd.nextInt(256);
          b[i + 1] = (byte) rnd.nextInt(256);
        }
        case 4 -> b = Arrays.copyOf(b, rnd.nextInt(b.length + 1)); // truncate
        case 5 -> { // extend with random bytes
          int n = 1 + rnd.nextInt(64);
          byte[] e = Arrays.copyOf(b, b.length + n);
          for (int i = b.length; i < e.length; i++) {
            e[i] = (byte) rnd.nextInt(256);
          }
          b = e;
        }
        case 6 -> { // splice with another packet
          int cut = rnd.nextInt(b.length + 1);
          int from = rnd.nextInt(other.length + 1);
          byte[] s = Arrays.copyOf(b, cut + other.length - from);
          System.arraycopy(other, from, s, cut, other.length - from);
          b = s;
        }
        default -> { // header flags / opcode / rcode noise, keeping QR clear half the time
          b[2] = (byte) rnd.nextInt(256);
          b[3] = (byte) rnd.nextInt(256);
          if (rnd.nextBoolean()) {
            b[2] &= 0x7F;
          }
        }
      }
      if (b.length == 0) {
        b = new byte[] {(byte) rnd.nextInt(256)};
      }
    }
    return b;
  }

  static void checkResponse(byte[] query, byte[] response) throws Exception {
    if (response == null) {
      return; // dropped: runts, responses, rate limiting
    }
    assertTrue(response.length >= 12, "a response has a header");
    assertEquals(query[0], response[0]);
    assertEquals(query[1], response[1]);
    Message m = new Message(response); // must parse
    assertTrue(m.getHeader().getFlag(Flags.QR));
  }

  @Test
  void malformedPacketsNeverBreakTheServer() throws Exception {
    Path dir = Files.createTempDirectory("geodns-fuzz");
    try (InputStream in = getClass().getResourceAsStream("/zones/example.test.zone")) {
      Files.copy(in, dir.resolve("example.test.zone"));
    }
    try (DnsFixture dns = DnsFixture.start(dir, """
        dns:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          rrl: {responses_per_second: 0}
          zones:
            - origin: example.test.
              file: example.test.zone
              names: [{name: www}]
        """)) {
      AnswerPipeline pipeline = ((GeoDnsServer) dns.role).pipeline();
      long seed = Long.getLong("fuzz.seed", 20240101L);
      Random rnd = new Random(seed);
      List<byte[]> corpus = corpus();
      byte[] source = {(byte) 198, 51, 100, 7};
      int answered = 0;
      for (int i = 0; i < IN_PROCESS; i++) {
        byte[] q = mutate(corpus.get(rnd.nextInt(corpus.size())), corpus.get(rnd.nextInt(corpus.size())), rnd);
        byte[] r = pipeline.handle(q, source, (i & 1) == 0 ? Transport.UDP : Transport.TCP);
        try {
          checkResponse(q, r);
        } catch (Throwable t) {
          throw new AssertionError("seed " + seed + " packet " + i + ": " + java.util.HexFormat.of().formatHex(q), t);
        }
        answered += r == null ? 0 : 1;
      }
      assertEquals(0, pipeline.metrics().internalErrors(), "packets that hit a bug (seed " + seed + ")");
      assertTrue(answered > IN_PROCESS / 2, "most mutated packets still get a response: " + answered);

      try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
        for (int i = 0; i < OVER_UDP; i++) {
          byte[] q = mutate(corpus.get(rnd.nextInt(corpus.size())), corpus.get(rnd.nextInt(corpus.size())), rnd);
          s.send(new DatagramPacket(q, q.length, InetAddress.getLoopbackAddress(), dns.port()));
        }
      }
      assertEquals(0, pipeline.metrics().internalErrors());
      // and it still answers correctly
      // the burst may still be draining (UDP: the kernel drops what does not fit the socket buffer), so allow
      // a few attempts before judging
      Message ok = null;
      for (int attempt = 0; attempt < 10 && ok == null; attempt++) {
        ok = dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.A, DnsFixture.LONDON));
      }
      assertNotNull(ok);
      assertEquals(List.of(DnsFixture.EU), DnsFixture.addresses(ok));
      assertEquals(List.of(DnsFixture.EU), dns.digShort("www.example.test", "A", "+subnet=" + DnsFixture.LONDON));
    }
  }
}
