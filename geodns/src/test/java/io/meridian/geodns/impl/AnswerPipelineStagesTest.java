package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.Lifecycle;
import io.meridian.geodns.DnsFixture;
import io.meridian.geodns.DnssecKeyFile;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.GenericEDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The stage order is declared once, in {@link Stage}, and both paths run it: the README's table documents the same
 * order and what the fast path does with each stage (as CoreDNS's plugin.cfg and its docs), and for queries that
 * each stage changes — dropped by parse, NOTIMP from header, DO, NSID, cookies and BADVERS from edns, REFUSED from
 * zone, located by ECS or not, a region chosen under several plans, a transition TTL, an ECS scope, NXDOMAIN,
 * RRSIGs, RRL slips and drops — the fast path composed with the full pipeline gives byte-for-byte the answers of the
 * full pipeline alone.
 */
class AnswerPipelineStagesTest {
  @Test
  void theReadmeTableListsTheDeclaredStagesInOrderWithWhatTheFastPathDoes() throws Exception {
    // surefire runs in the module directory, where the README lives
    String readme = Files.readString(Path.of("README.md"));
    Matcher m = Pattern.compile("(?m)^\\| (\\d+) \\| ([a-z-]+) \\|.*\\| (same|raw|skipped)(?: \\(([^)]*)\\))? \\|$")
        .matcher(readme);
    List<String> documented = new ArrayList<>();
    List<String> fast = new ArrayList<>();
    while (m.find()) {
      assertEquals(documented.size() + 1, Integer.parseInt(m.group(1)), "numbered in order: " + m.group(2));
      documented.add(m.group(2));
      fast.add(m.group(3));
    }
    assertEquals(AnswerPipeline.stageNames(), documented);
    List<String> declared = new ArrayList<>();
    for (Stage s : Stage.ORDER) {
      declared.add(s.onFastPath == Stage.OnFastPath.SKIP ? "skipped" : s.onFastPath.name().toLowerCase());
      if (s.onFastPath == Stage.OnFastPath.SKIP) {
        assertFalse(s.fastNote.isBlank(), s + ": a skipped stage says why");
        assertFalse(s.always, s + ": a stage that always runs cannot be skipped");
      }
    }
    assertEquals(declared, fast, "the README's fast-path column");
  }

  static final byte[] CLIENT = HexFormat.of().parseHex("0102030405060708");

  static byte[] query(String name, int type, OPTRecord opt) {
    return AnswerPipelineFastPathTest.query(name, type, opt);
  }

  static OPTRecord ecs(int flags, String subnet) throws Exception {
    String[] p = subnet.split("/");
    return new OPTRecord(1232, 0, 0, flags, new ClientSubnetOption(Integer.parseInt(p[1]),
        InetAddress.getByName(p[0])));
  }

  /** Queries, each changed by one stage or more; the comment names the stage. */
  static List<byte[]> queries(byte[] validCookie) throws Exception {
    List<byte[]> out = new ArrayList<>();
    byte[] response = query("www.example.test.", Type.A, null);
    response[2] |= (byte) 0x80;
    out.add(response); // parse: a response, dropped
    out.add(new byte[] {1, 2, 3}); // parse: short, dropped
    Message notify = Message.newQuery(Record.newRecord(AnswerPipeline.name("www.example.test."), Type.SOA, 1));
    notify.getHeader().setOpcode(Opcode.NOTIFY);
    out.add(notify.toWire()); // header: NOTIMP
    out.add(query("www.example.test.", Type.A, new OPTRecord(1232, 0, 1))); // edns: BADVERS (version 1)
    out.add(query("other.test.", Type.A, null)); // zone: REFUSED
    out.add(query("example.test.", Type.SOA, new OPTRecord(1232, 0, 0, ExtendedFlags.DO))); // lookup, dnssec
    out.add(query("nope.example.test.", Type.A, null)); // lookup, negative: NXDOMAIN with the SOA
    out.add(query("nope.example.test.", Type.A, new OPTRecord(1232, 0, 0, ExtendedFlags.DO))); // dnssec: denial
    for (int type : new int[] {Type.A, Type.AAAA}) {
      out.add(query("www.example.test.", type, null)); // locate: the source (loopback: unlocated)
      out.add(query("www.example.test.", type, ecs(0, DnsFixture.LONDON))); // locate, choose, geo-answer scope
      out.add(query("www.example.test.", type, ecs(0, DnsFixture.NEW_YORK)));
      out.add(query("www.example.test.", type, ecs(0, "192.0.2.0/24"))); // unlocated: the resolver policy
      out.add(query("www.example.test.", type, ecs(ExtendedFlags.DO, DnsFixture.PARIS))); // dnssec: RRSIG
      out.add(query("www.example.test.", type, new OPTRecord(1232, 0, 0, ExtendedFlags.DO, new CookieOption(CLIENT),
          new GenericEDNSOption(EDNSOption.Code.NSID, new byte[0]), new ClientSubnetOption(24,
              InetAddress.getByName("203.0.113.0"))))); // edns: cookie, NSID; the rest of the geo stages
      out.add(query("www.example.test.", type, new OPTRecord(512, 0, 0, ExtendedFlags.DO, new CookieOption(CLIENT,
          validCookie)))); // edns: a valid server cookie, echoed
    }
    return out;
  }

  @Test
  void theFastPathAndTheFullPipelineGiveTheSameBytesForQueriesEachStageChanges() throws Exception {
    Path dir = Files.createTempDirectory("stages");
    Path key = DnssecKeyFile.generate("example.test.", DnssecKeyFile.ECDSAP256SHA256, true, 3600).write(dir);
    try (DnsFixture dns = DnsFixture.start(dir, DnsFixture.DEFAULT_DNS
        .replace("rrl: {responses_per_second: 0}", "rrl: {responses_per_second: 3, slip: 2}\n  nsid: stage-test")
        .replace("ttl: 30s", "ttl: 30s\n      dnssec: {keys: [" + key.getFileName() + "]}"))) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      assertTrue(p.context().limiter().enabled() && p.settings().nsid() != null && p.cookies() != null);
      byte[] src = {127, 0, 0, 1};
      p.rateLimiter(RateLimiter.OFF);
      byte[] first = p.handle(query("www.example.test.", Type.A, new OPTRecord(1232, 0, 0, 0,
          new CookieOption(CLIENT))), src, Transport.UDP);
      byte[] validCookie = ((CookieOption) new Message(first).getOPT().getOptions(EDNSOption.Code.COOKIE).get(0))
          .getServerCookie().orElseThrow();
      List<byte[]> queries = queries(validCookie);

      // what the stages did, over every plan and both paths: the test has teeth only if each effect shows up
      Effects seen = new Effects();
      List<Runnable> plans = List.of(() -> { },
          () -> AnswerPipelineFastPathTest.publish(dns, "eu-west", Lifecycle.DRAINING, 0.5),
          () -> AnswerPipelineFastPathTest.publish(dns, "us-east", Lifecycle.FAILED, 0),
          () -> AnswerPipelineFastPathTest.recoverAll(dns));
      int taken = 0;
      for (Runnable plan : plans) {
        plan.run();
        List<byte[]> full = run(p, queries, src, false);
        List<byte[]> composed = run(p, queries, src, true);
        for (int i = 0; i < full.size(); i++) {
          byte[] q = queries.get(i % queries.size());
          assertArrayEquals(full.get(i), composed.get(i), "query " + i + " " + HexFormat.of().formatHex(q)
              + "\nfull " + text(full.get(i)) + "\ncomposed " + text(composed.get(i)));
          seen.add(full.get(i));
        }
        p.rateLimiter(RateLimiter.OFF);
        for (byte[] q : queries) {
          taken += p.fast(new Query(q, src, Transport.UDP)) ? 1 : 0;
        }
      }
      // every geo query but the unlocated-all ones (none here: resolver policy, loopback placed nowhere → all)
      assertTrue(taken >= 4 * 8, "the fast path took " + taken + " of the queries");
      seen.check();
      assertEquals(0, p.metrics().internalErrors());
    }
  }

  /**
   * Each query {@code REPEAT} times (UDP: the rate limiter passes 3, then slips every second), then once more over
   * TCP (never limited), from a fresh limiter; with or without the fast path in front of the full pipeline.
   */
  static List<byte[]> run(AnswerPipeline p, List<byte[]> queries, byte[] src, boolean fastPath) {
    p.rateLimiter(RateLimiter.of(3, 2, 1024));
    p.fastPath = fastPath;
    List<byte[]> out = new ArrayList<>();
    try {
      for (int round = 0; round < REPEAT; round++) {
        for (byte[] q : queries) {
          out.add(p.handle(q, src, Transport.UDP));
        }
      }
      for (byte[] q : queries) {
        out.add(p.handle(q, src, Transport.TCP));
      }
    } finally {
      p.fastPath = true;
    }
    return out;
  }

  static final int REPEAT = 6;

  static String text(byte[] wire) {
    if (wire == null) {
      return "(dropped)";
    }
    try {
      return new Message(wire).toString();
    } catch (java.io.IOException e) {
      return HexFormat.of().formatHex(wire);
    }
  }

  /** What the answers showed, one flag per stage effect. */
  static final class Effects {
    boolean dropped;
    boolean notimp;
    boolean badvers;
    boolean refused;
    boolean slipped;
    boolean rrsig;
    boolean nsec;
    boolean cookie;
    boolean nsid;
    boolean scope;
    boolean eu;
    boolean us;
    boolean transitionTtl;

    void add(byte[] wire) throws Exception {
      if (wire == null) {
        dropped = true;
        return;
      }
      Message m = new Message(wire);
      notimp |= m.getRcode() == Rcode.NOTIMP;
      badvers |= m.getRcode() == Rcode.BADVERS;
      refused |= m.getRcode() == Rcode.REFUSED;
      slipped |= m.getHeader().getFlag(Flags.TC) && m.getSection(Section.ANSWER).isEmpty();
      for (Record r : m.getSection(Section.ANSWER)) {
        rrsig |= r.getType() == Type.RRSIG;
        eu |= r.rdataToString().equals(DnsFixture.EU);
        us |= r.rdataToString().equals(DnsFixture.US);
        transitionTtl |= r.getType() == Type.A && r.getTTL() == 5;
      }
      for (Record r : m.getSection(Section.AUTHORITY)) {
        nsec |= r.getType() == Type.NSEC;
      }
      OPTRecord opt = m.getOPT();
      if (opt != null) {
        for (EDNSOption o : opt.getOptions(EDNSOption.Code.COOKIE)) {
          cookie |= ((CookieOption) o).getServerCookie().isPresent();
        }
        nsid |= !opt.getOptions(EDNSOption.Code.NSID).isEmpty();
        for (EDNSOption o : opt.getOptions(EDNSOption.Code.CLIENT_SUBNET)) {
          scope |= ((ClientSubnetOption) o).getScopePrefixLength() > 0;
        }
      }
    }

    void check() {
      assertTrue(dropped, "parse or rate-limit dropped a packet");
      assertTrue(notimp, "header: NOTIMP");
      assertTrue(badvers, "edns: BADVERS");
      assertTrue(refused, "zone: REFUSED");
      assertTrue(slipped, "rate-limit: a slip (TC, no records)");
      assertTrue(rrsig, "dnssec: an RRSIG");
      assertTrue(nsec, "dnssec: a compact denial");
      assertTrue(cookie, "edns: a server cookie");
      assertTrue(nsid, "edns: NSID");
      assertTrue(scope, "geo-answer: an ECS scope");
      assertTrue(eu && us, "choose: regions by location");
      assertTrue(transitionTtl, "ttl: a transition TTL");
    }
  }
}
