package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Health;
import io.meridian.core.Lifecycle;
import io.meridian.geodns.DnsFixture;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.GenericEDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The raw-bytes fast path must be invisible: for every query shape it takes, under every kind of plan, its
 * response is byte-for-byte the full pipeline's; shapes it must not take are left to the pipeline.
 */
class AnswerPipelineFastPathTest {
  static byte[] query(String name, int type, OPTRecord opt) {
    Message m = Message.newQuery(Record.newRecord(Name.fromConstantString(name), type, DClass.IN));
    if (opt != null) {
      m.addRecord(opt, Section.ADDITIONAL);
    }
    return m.toWire();
  }

  static OPTRecord ecs(int prefix, String addr) throws Exception {
    return new OPTRecord(1232, 0, 0, 0, new ClientSubnetOption(prefix, InetAddress.getByName(addr)));
  }

  static List<byte[]> takenShapes() throws Exception {
    List<byte[]> out = new ArrayList<>();
    for (int type : new int[] {Type.A, Type.AAAA}) {
      out.add(query("www.example.test.", type, null));
      out.add(query("WwW.Example.TEST.", type, null));
      out.add(query("www.example.test.", type, new OPTRecord(4096, 0, 0)));
      out.add(query("www.example.test.", type, new OPTRecord(512, 0, 0)));
      out.add(query("www.example.test.", type, ecs(24, "198.51.100.0")));
      out.add(query("www.example.test.", type, ecs(32, "100.65.7.9")));
      out.add(query("www.example.test.", type, ecs(16, "100.65.0.0")));
      out.add(query("www.example.test.", type, ecs(20, "100.64.0.0")));
      out.add(query("www.example.test.", type, ecs(0, "0.0.0.0")));
      out.add(query("www.example.test.", type, ecs(56, "2001:db8:1:200::")));
      out.add(query("www.example.test.", type, new OPTRecord(1232, 0, 0, 0, new GenericEDNSOption(65001,
          new byte[] {1}), new ClientSubnetOption(24, InetAddress.getByName("100.64.1.0")))));
      // EDNS details: DO (RFC 3225), other Z bits (not echoed), NSID (RFC 5001), cookies (RFC 7873/9018)
      out.add(query("www.example.test.", type, new OPTRecord(1232, 0, 0, ExtendedFlags.DO)));
      out.add(query("www.example.test.", type, new OPTRecord(1232, 0, 0, ExtendedFlags.DO | 0x0101)));
      out.add(query("www.example.test.", type, new OPTRecord(1232, 0, 0, 0, new GenericEDNSOption(
          EDNSOption.Code.NSID, new byte[0]))));
      out.add(query("www.example.test.", type, new OPTRecord(1232, 0, 0, 0, new GenericEDNSOption(
          EDNSOption.Code.NSID, new byte[] {7}))));
      out.add(query("www.example.test.", type, new OPTRecord(1232, 0, 0, 0, new CookieOption(CLIENT))));
      out.add(query("www.example.test.", type, new OPTRecord(1232, 0, 0, 0, new CookieOption(CLIENT,
          HexFormat.of().parseHex("010000005cf79f111f8130c3eee29480")))));
      out.add(query("www.example.test.", type, new OPTRecord(1232, 0, 0, 0, new CookieOption(CLIENT,
          new byte[] {1, 2, 3, 4, 5, 6, 7, 8}))));
      out.add(query("www.example.test.", type, new OPTRecord(4096, 0, 0, ExtendedFlags.DO, new CookieOption(CLIENT),
          new GenericEDNSOption(EDNSOption.Code.NSID, new byte[0]), new ClientSubnetOption(24,
              InetAddress.getByName("198.51.100.0")))));
      out.add(query("www.example.test.", type, new OPTRecord(1232, 0, 0, 0, new ClientSubnetOption(24,
          InetAddress.getByName("192.0.2.0"))))); // unlocated: placed at its resolver's location
    }
    return out;
  }

  static final byte[] CLIENT = HexFormat.of().parseHex("2464c4abcf10c957");

  @Test
  void fastPathBytesEqualTheFullPipelineUnderEveryPlan() throws Exception {
    try (DnsFixture dns = DnsFixture.start()) {
      int taken = compareUnderEveryPlan(dns);
      assertTrue(taken >= takenShapes().size() * 4, "the fast path took " + taken + " queries");
    }
  }

  /**
   * A signed zone: queries with DO get the answer's RRSIGs, prepared per region and TTL; the fast path appends their
   * bytes and must still equal the full pipeline's dnssec stage, and takes those queries too.
   */
  @Test
  void signedAnswersFromTheFastPathEqualTheFullPipelines() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("fast-signed");
    java.nio.file.Path key = io.meridian.geodns.DnssecKeyFile.generate("example.test.",
        io.meridian.geodns.DnssecKeyFile.ECDSAP256SHA256, true, 3600).write(dir);
    try (DnsFixture dns = DnsFixture.start(dir, DnsFixture.DEFAULT_DNS.replace("ttl: 30s",
        "ttl: 30s\n      dnssec: {keys: [" + key.getFileName() + "]}"))) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      assertTrue(p.authority().zones().iterator().next().signer() != null, "the zone is signed");
      int taken = compareUnderEveryPlan(dns);
      assertTrue(taken >= takenShapes().size() * 4, "the fast path took " + taken + " queries");
      byte[] q = query("www.example.test.", Type.A, new OPTRecord(1232, 0, 0, ExtendedFlags.DO));
      Query probe = new Query(q, new byte[] {127, 0, 0, 1}, Transport.UDP);
      assertTrue(p.fast(probe));
      Message r = new Message(java.util.Arrays.copyOf(probe.out, probe.outLength));
      assertEquals(1, r.getSectionRRsets(Section.ANSWER).get(0).sigs().size(), r.toString());
    }
  }

  /** Every taken shape under every kind of plan, fast vs full; returns how many the fast path took. */
  static int compareUnderEveryPlan(DnsFixture dns) throws Exception {
    {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      byte[] src = {127, 0, 0, 1};
      // each TTL rule: normal, stepping and moved (drain), moved (failure), changed (recovery), then normal again
      List<Runnable> plans = List.of(() -> { }, () -> publish(dns, "eu-west", Lifecycle.DRAINING, 0.5),
          () -> publish(dns, "us-east", Lifecycle.FAILED, 0), () -> recoverAll(dns),
          () -> dns.clock.advance(java.time.Duration.ofMinutes(1)));
      int taken = 0;
      // one query object for every packet, as a UDP thread has: each packet must find it as new (Query.reuse)
      Query scratch = AnswerPipeline.scratch();
      for (Runnable plan : plans) {
        plan.run();
        List<byte[]> shapes = new ArrayList<>(takenShapes());
        shapes.add(withValidServerCookie(p, src));
        for (byte[] q : shapes) {
          p.fastPath = false;
          byte[] slow = p.handle(q, src, Transport.UDP);
          p.fastPath = true;
          byte[] fast = p.handle(q, src, Transport.UDP);
          Query probe = new Query(q, src, Transport.UDP);
          boolean took = p.fast(probe);
          taken += took ? 1 : 0;
          assertArrayEquals(slow, fast, "query " + HexFormat.of().formatHex(q) + "\nslow " + new Message(slow)
              + "\nfast " + new Message(fast));
          // the UDP listener's entry: the query in a longer reused buffer with junk after it, the answer built
          // over the junk of the previous one; every byte of the answer must still be written
          byte[] in = new byte[EpollUdpListener.MAX_DATAGRAM];
          java.util.Arrays.fill(in, (byte) 0x5A);
          System.arraycopy(q, 0, in, 0, q.length);
          byte[] out = new byte[65535];
          java.util.Arrays.fill(out, (byte) 0xFF);
          int n = p.answerUdp(in, q.length, src, out);
          assertArrayEquals(slow, java.util.Arrays.copyOf(out, n), "answerUdp, query " + HexFormat.of().formatHex(q));
          java.util.Arrays.fill(out, (byte) 0xFF);
          n = p.answerUdp(scratch, in, q.length, src, out);
          assertArrayEquals(slow, java.util.Arrays.copyOf(out, n),
              "answerUdp on a reused query, query " + HexFormat.of().formatHex(q));
        }
      }
      return taken;
    }
  }

  /** A query sending back the server cookie the server just gave this source: valid, echoed. */
  static byte[] withValidServerCookie(AnswerPipeline p, byte[] src) throws Exception {
    byte[] first = p.handle(query("www.example.test.", Type.A, new OPTRecord(1232, 0, 0, 0, new CookieOption(CLIENT))),
        src, Transport.UDP);
    CookieOption got = (CookieOption) new Message(first).getOPT().getOptions(EDNSOption.Code.COOKIE).get(0);
    return query("www.example.test.", Type.AAAA, new OPTRecord(1232, 0, 0, ExtendedFlags.DO, new CookieOption(CLIENT,
        got.getServerCookie().orElseThrow())));
  }

  @Test
  void theFastPathAnswersEdnsDetailsWithoutTheFullPipeline() throws Exception {
    try (DnsFixture dns = DnsFixture.start()) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      byte[] src = {127, 0, 0, 1};
      for (byte[] q : List.of(query("www.example.test.", Type.A, new OPTRecord(1232, 0, 0, ExtendedFlags.DO)),
          query("www.example.test.", Type.A, new OPTRecord(1232, 0, 0, 0, new GenericEDNSOption(
              EDNSOption.Code.NSID, new byte[0]))),
          query("www.example.test.", Type.A, new OPTRecord(1232, 0, 0, 0, new CookieOption(CLIENT))),
          withValidServerCookie(p, src))) {
        Query probe = new Query(q, src, Transport.UDP);
        assertTrue(p.fast(probe), HexFormat.of().formatHex(q));
        Message r = new Message(java.util.Arrays.copyOf(probe.out, probe.outLength));
        OPTRecord opt = r.getOPT();
        Message asked = new Message(q);
        assertEquals(asked.getOPT().getFlags() & ExtendedFlags.DO, opt.getFlags(), "DO echoed, nothing else");
        assertEquals(asked.getOPT().getOptions(EDNSOption.Code.NSID).isEmpty(),
            opt.getOptions(EDNSOption.Code.NSID).isEmpty());
        assertEquals(asked.getOPT().getOptions(EDNSOption.Code.COOKIE).isEmpty(),
            opt.getOptions(EDNSOption.Code.COOKIE).isEmpty());
      }
    }
  }

  static void publish(DnsFixture dns, String region, Lifecycle l, double share) {
    try {
      dns.publish("test", r -> r.id().equals(region)
          ? r.withLifecycle(l, share).withHealth(l == Lifecycle.FAILED ? Health.FAILED : r.health()) : r);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static void recoverAll(DnsFixture dns) {
    try {
      dns.publish("recovered", r -> r.withLifecycle(Lifecycle.ACTIVE, 1).withHealth(Health.HEALTHY));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void unusualShapesAreLeftToTheFullPipeline() throws Exception {
    try (DnsFixture dns = DnsFixture.start()) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      byte[] src = {127, 0, 0, 1};
      List<byte[]> left = List.of(query("www.example.test.", Type.TXT, null),
          query("mail.example.test.", Type.A, null), query("www.example.test.", Type.A, new OPTRecord(1232, 0, 1)),
          query("_explain.www.example.test.", Type.TXT, null));
      for (byte[] q : left) {
        assertFalse(p.fast(new Query(q, src, Transport.UDP)));
        assertTrue(p.handle(q, src, Transport.UDP) != null);
      }
      // a malformed or repeated COOKIE option is FORMERR (RFC 7873 §5.2.2): the full pipeline's to answer
      for (OPTRecord bad : List.of(new OPTRecord(1232, 0, 0, 0, new GenericEDNSOption(EDNSOption.Code.COOKIE,
          new byte[5])), new OPTRecord(1232, 0, 0, 0, new CookieOption(CLIENT), new CookieOption(CLIENT)))) {
        byte[] q = query("www.example.test.", Type.A, bad);
        assertFalse(p.fast(new Query(q, src, Transport.UDP)));
        assertEquals(1, p.handle(q, src, Transport.UDP)[3] & 0xF, "FORMERR");
      }
      byte[] trailing = java.util.Arrays.copyOf(query("www.example.test.", Type.A, null), 40);
      assertFalse(p.fast(new Query(trailing, src, Transport.UDP)));
      assertEquals(0, p.metrics().internalErrors());
    }
  }
}
