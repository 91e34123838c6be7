package io.meridian.geodns.impl;

import java.util.List;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * The common case on raw bytes: a standard query (one question, class IN, type A or AAAA) for a geo name,
 * optionally with one OPT (version 0) carrying ECS, DO, NSID, a cookie. {@link Stage#fast} runs the pipeline's
 * stages in {@link Stage}'s order with the raw-bytes versions here for the stages that touch the message (parse,
 * header, edns, zone, geo-answer, dnssec, encode) and the very same functions for locate, choose, ttl and the
 * rate-limit verdict, without building dnsjava messages, and produces the same bytes (AnswerPipelineFastPathTest
 * compares them). With DO set for a signed zone, the region's answer is followed by its RRSIGs: bytes
 * {@link ZoneSigner} prepared when the zone was (re-)signed, so signed answers cost a copy, not a signature.
 * Anything else, or any doubt (odd options, trailing bytes, fallback answers, truncation), makes a stage return
 * {@code false} and the packet goes through the full pipeline on a fresh {@link Query}.
 */
final class FastPath {
  private FastPath() {}

  /** A geo name in the fast table: its lowercase wire form. */
  record Entry(byte[] wire, int hash, ZoneData zone, GeoNameSpec geo) {}

  /** Open-addressing table of geo names by lowercase wire name; built once per {@link Authority}. */
  static final class Table {
    static final Table EMPTY = new Table(List.of());
    private final Entry[] slots;
    private final int mask;

    Table(List<Entry> entries) {
      int n = Integer.highestOneBit(Math.max(4, entries.size() * 4 - 1)) << 1;
      slots = new Entry[n];
      mask = n - 1;
      for (Entry e : entries) {
        int i = e.hash & mask;
        while (slots[i] != null) {
          i = (i + 1) & mask;
        }
        slots[i] = e;
      }
    }

    Entry find(byte[] w, int off, int len, int hash) {
      int i = hash & mask;
      Entry e;
      while ((e = slots[i]) != null) {
        if (e.hash == hash && e.wire.length == len && equalsLower(e.wire, w, off)) {
          return e;
        }
        i = (i + 1) & mask;
      }
      return null;
    }
  }

  static Table table(List<ZoneData> zones) {
    List<Entry> out = new java.util.ArrayList<>();
    for (ZoneData z : zones) {
      if (z.hasCuts()) {
        continue; // referral rules apply above geo names there: leave them to the full lookup
      }
      for (GeoNameSpec g : z.geoNames()) {
        byte[] wire = g.name().toWireCanonical(); // lowercase
        out.add(new Entry(wire, hash(wire, 0, wire.length), z, g));
      }
    }
    return new Table(out);
  }

  static int hash(byte[] w, int off, int len) {
    int h = 0x811C9DC5;
    for (int i = off; i < off + len; i++) {
      h = (h ^ lower(w[i])) * 0x01000193;
    }
    return h;
  }

  private static int lower(byte b) {
    return b >= 'A' && b <= 'Z' ? b + 32 : b & 0xFF;
  }

  private static boolean equalsLower(byte[] lowerWire, byte[] w, int off) {
    for (int i = 0; i < lowerWire.length; i++) {
      if ((lowerWire[i] & 0xFF) != lower(w[off + i])) {
        return false;
      }
    }
    return true;
  }

  /** An RRset's records as answer bytes owned by a pointer to the question name (offset 12). */
  static byte[][] answerWire(RRset[] sets) {
    if (sets == null) {
      return null;
    }
    byte[][] out = new byte[sets.length][];
    for (int s = 0; s < sets.length; s++) {
      List<Record> rrs = sets[s].rrs(false);
      java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
      for (Record r : rrs) {
        byte[] rdata = r instanceof ARecord a ? a.getAddress().getAddress()
            : ((AAAARecord) r).getAddress().getAddress();
        b.write(0xC0);
        b.write(12);
        b.write(r.getType() >>> 8);
        b.write(r.getType());
        b.write(0);
        b.write(1);
        long ttl = r.getTTL();
        b.write((int) (ttl >>> 24));
        b.write((int) (ttl >>> 16));
        b.write((int) (ttl >>> 8));
        b.write((int) ttl);
        b.write(0);
        b.write(rdata.length);
        b.write(rdata, 0, rdata.length);
      }
      out[s] = b.toByteArray();
    }
    return out;
  }

  private static int u16(byte[] w, int i) {
    return ((w[i] & 0xFF) << 8) | (w[i + 1] & 0xFF);
  }

  // ---- the fast path's versions of the stages (Stage.fast composes them, in Stage's order) -------------------
  // Each returns false when it cannot take its stage's decision on raw bytes: the packet then goes to the full
  // pipeline on a fresh Query, so nothing written here before giving up is ever read by the full pipeline.

  /** parse: the question read in place — one plain-label name (no compression), type A or AAAA, class IN. */
  static boolean parse(Query q) {
    byte[] w = q.wire;
    int len = q.wireLength;
    if (len < 17 || (w[2] & 0x80) != 0) {
      return false; // short or a response: the full pipeline drops it and counts why
    }
    int i = 12;
    while (true) {
      if (i >= len) {
        return false;
      }
      int l = w[i] & 0xFF;
      if (l == 0) {
        break;
      }
      if (l > 63) {
        return false;
      }
      i += l + 1;
    }
    int nameLen = i + 1 - 12;
    if (nameLen > 255 || i + 5 > len) {
      return false;
    }
    int qtype = u16(w, i + 1);
    if ((qtype != Type.A && qtype != Type.AAAA) || u16(w, i + 3) != 1) {
      return false;
    }
    q.id = u16(w, 0);
    q.qtype = qtype;
    q.nameLength = nameLen;
    q.questionEnd = i + 5;
    return true;
  }

  /** header: opcode QUERY, exactly one question, nothing else but at most one additional record (the OPT). */
  static boolean header(Query q) {
    byte[] w = q.wire;
    return (w[2] & 0x78) == 0 && u16(w, 4) == 1 && u16(w, 6) == 0 && u16(w, 8) == 0 && u16(w, 10) <= 1;
  }

  /**
   * edns: exactly one OPT at the root, version 0 (BADVERS is the full pipeline's); DO (RFC 3225 §3), the UDP size,
   * ECS at most once and well-formed (RFC 7871 §6), NSID (RFC 5001), COOKIE (RFC 7873) located in place; other
   * options ignored, those dnsjava checks (keepalive, extended error) left to the full pipeline. The client is the
   * ECS address cut to its capped source prefix, else the source, as the full edns stage has it.
   */
  static boolean edns(Query q, AnswerPipeline.Context c) {
    byte[] w = q.wire;
    int len = q.wireLength;
    int qEnd = q.questionEnd;
    int payload = -1;
    int ecsOff = -1;
    int ecsLen = 0;
    boolean dnssecOk = false;
    boolean nsidAsked = false;
    boolean nsidSeen = false;
    int cookieOff = -1;
    int cookieLen = 0;
    ServerCookies cookies = c.cookies();
    if (u16(w, 10) == 1) {
      int o = qEnd;
      if (o + 11 > len || w[o] != 0 || u16(w, o + 1) != Type.OPT || w[o + 6] != 0) {
        return false; // not an OPT, or EDNS version ≠ 0
      }
      payload = u16(w, o + 3);
      dnssecOk = (w[o + 7] & 0x80) != 0; // RFC 3225 §3: DO is copied into the response
      int rdlen = u16(w, o + 9);
      int r = o + 11;
      if (r + rdlen != len) {
        return false;
      }
      while (r < len) {
        if (r + 4 > len) {
          return false;
        }
        int code = u16(w, r);
        int olen = u16(w, r + 2);
        if (r + 4 + olen > len) {
          return false;
        }
        if (code == 8) {
          if (ecsOff >= 0 || olen < 4) {
            return false;
          }
          int family = u16(w, r + 4);
          int source = w[r + 6] & 0xFF;
          int max = family == 1 ? 32 : family == 2 ? 128 : -1;
          if (max < 0 || source > max || w[r + 7] != 0 || olen != 4 + (source + 7) / 8) {
            return false;
          }
          if ((source & 7) != 0 && (w[r + 8 + source / 8 - 0] & (0xFF >>> (source & 7))) != 0) {
            return false; // bits beyond the source prefix: let the full parser judge
          }
          ecsOff = r + 4;
          ecsLen = olen;
        } else if (code == 3) { // NSID (RFC 5001): answered only to an empty option
          if (nsidSeen) {
            return false;
          }
          nsidSeen = true;
          nsidAsked = olen == 0;
        } else if (code == 10) { // COOKIE (RFC 7873)
          if (olen != 8 && (olen < 16 || olen > 40)) {
            return false; // malformed: FORMERR (RFC 7873 §5.2.2), the pipeline's answer even with cookies off
          }
          if (cookies != null) {
            if (cookieOff >= 0) {
              return false; // repeated: FORMERR, the pipeline's
            }
            cookieOff = r + 4;
            cookieLen = olen;
          }
        } else if (code == 11 || code == 15) {
          return false; // TCP keepalive, extended error: options dnsjava checks, so the pipeline may FORMERR
        }
        r += 4 + olen;
      }
    } else if (qEnd != len) {
      return false; // trailing bytes: the full parser judges
    }
    AnswerPipeline.Settings s = c.settings();
    q.ednsPayload = payload;
    q.dnssecOk = dnssecOk;
    q.nsid = nsidAsked && s.nsid() != null;
    q.cookieOffset = cookieOff;
    q.cookieLength = cookieLen;
    q.responseLimit = q.transport == Transport.TCP ? 65535
        : payload < 0 ? 512 : Math.max(512, Math.min(payload, s.payloadSize()));
    q.client = q.source;
    q.ecsOffset = ecsOff;
    q.ecsLength = ecsLen;
    if (ecsOff >= 0) {
      int family = u16(w, ecsOff);
      int source = w[ecsOff + 2] & 0xFF;
      q.ecsFamily = family;
      q.ecsSource = source;
      if (source > 0) { // RFC 7871 §7.1.2: source 0 means "do not use my address": the resolver's is used
        // into the query's scratch array (ClientAddress.truncate's result, without its two arrays per query)
        q.client = ClientAddress.truncateInto(w, ecsOff + 4, ecsLen - 4,
            Math.min(source, family == 1 ? s.ecsMaxV4() : s.ecsMaxV6()), q.ecsClient(family == 1 ? 4 : 16));
      }
    }
    return true;
  }

  /**
   * zone (and, by construction, lookup): one probe of the authority's table of geo names. The table holds only
   * the geo names of zones without cuts, so the lookup stage would end at the name itself for A/AAAA.
   */
  static boolean zone(Query q, AnswerPipeline.Context c) {
    Entry e = c.authority().fastTable().find(q.wire, 12, q.nameLength, hash(q.wire, 12, q.nameLength));
    if (e == null) {
      return false;
    }
    q.zone = e.zone();
    q.geo = e.geo();
    return true;
  }

  /**
   * geo-answer: the chosen region's answer, prepared as bytes per TTL slot, and the ECS scope from the same
   * function as the full stage. No region's records (fallback, NODATA, {@code dns.unlocated: all}): the full
   * pipeline builds those.
   */
  static boolean geoAnswer(Query q, AnswerPipeline.Context c) {
    GeoNameSpec.RegionAnswers ra = q.region < 0 ? null : q.geo.region(q.plan.topology(), q.region);
    byte[][] wires = ra == null ? null : q.qtype == Type.A ? ra.aWire() : ra.aaaaWire();
    if (wires == null) {
      return false;
    }
    int slot = q.ttlRule.transitionTtl ? 1 : 0; // TtlRule: shorter while this client's traffic moves
    RRset set = (q.qtype == Type.A ? ra.a() : ra.aaaa())[slot];
    q.answerSet = set;
    q.answerWire = wires[slot];
    q.answerCount = set.size();
    q.ecsScope = GeoAnswers.ecsScope(q, c);
    return true;
  }

  /**
   * dnssec: with DO for a signed zone, the answer's RRSIGs follow it (RFC 4035 §3.1.1) — the bytes
   * {@link ZoneSigner} prepared with the region's set when the zone was (re-)signed: a copy, not a signature.
   */
  static boolean dnssec(Query q) {
    ZoneSigner signer = q.dnssecOk ? q.zone.signer() : null;
    if (signer == null) {
      return true;
    }
    byte[] sigs = signer.answerWire(q.answerSet);
    if (sigs == null) {
      return false; // not prepared (cannot happen for a region's set): the full dnssec stage signs it
    }
    q.signatureWire = sigs;
    q.answerCount += signer.answerCount(q.answerSet);
    return true;
  }

  /**
   * encode: the response written into the listener's buffer (or a new array) — every byte of it, the buffer is
   * reused — with the OPT options in the full encode's order (ECS, NSID, COOKIE). Over the client's size: the full
   * pipeline answers TC. This is where the fast path commits: it counts what the full stages count on their way
   * (ECS, cookie, region, unlocated), so a packet given up earlier is counted once, by the full pipeline.
   */
  static boolean encode(Query q, AnswerPipeline.Context c) {
    byte[] w = q.wire;
    int qEnd = q.questionEnd;
    int payload = q.ednsPayload;
    int ecsOff = q.ecsOffset;
    int ecsLen = q.ecsLength;
    int cookieOff = q.cookieOffset;
    AnswerPipeline.Settings s = c.settings();
    byte[] nsid = q.nsid ? s.nsid() : null;
    byte[] answer = q.answerWire;
    byte[] sigs = q.signatureWire;
    int sigLen = sigs == null ? 0 : sigs.length;
    int optionsLen = (ecsOff >= 0 ? 4 + ecsLen : 0) + (nsid != null ? 4 + nsid.length : 0)
        + (cookieOff >= 0 ? 4 + 8 + ServerCookies.LENGTH : 0);
    int optLen = payload < 0 ? 0 : 11 + optionsLen;
    int outLen = qEnd + answer.length + sigLen + optLen;
    if (outLen > q.responseLimit) {
      return false;
    }
    byte[] out = q.outBuffer != null && q.outBuffer.length >= outLen ? q.outBuffer : new byte[outLen];
    System.arraycopy(w, 0, out, 0, qEnd);
    out[2] = (byte) (0x84 | (w[2] & 0x01)); // QR, AA, RD copied; opcode QUERY; TC clear
    out[3] = 0; // RA=0, rcode NOERROR
    out[6] = 0;
    out[7] = (byte) q.answerCount;
    out[10] = 0;
    out[11] = (byte) (payload < 0 ? 0 : 1);
    System.arraycopy(answer, 0, out, qEnd, answer.length);
    if (sigs != null) {
      System.arraycopy(sigs, 0, out, qEnd + answer.length, sigLen);
    }
    DnsMetrics metrics = c.metrics();
    DnsMetrics.Stripe stripe = q.stripe != null && q.stripeOf == metrics ? q.stripe : metrics.stripe();
    if (payload >= 0) {
      int o = qEnd + answer.length + sigLen;
      // every byte written: out may be a reused buffer, not a zeroed new array
      out[o] = 0; // root owner
      out[o + 1] = 0;
      out[o + 2] = (byte) Type.OPT;
      out[o + 3] = (byte) (s.payloadSize() >>> 8);
      out[o + 4] = (byte) s.payloadSize();
      out[o + 5] = 0; // extended rcode
      out[o + 6] = 0; // EDNS version 0
      out[o + 7] = (byte) (q.dnssecOk ? 0x80 : 0); // flags: DO only, the other Z bits are zero (RFC 6891 §6.1.4)
      out[o + 8] = 0;
      out[o + 9] = (byte) (optionsLen >>> 8);
      out[o + 10] = (byte) optionsLen;
      o += 11;
      if (ecsOff >= 0) {
        out[o] = 0;
        out[o + 1] = 8; // option code 8: ECS
        out[o + 2] = 0;
        out[o + 3] = (byte) ecsLen;
        System.arraycopy(w, ecsOff, out, o + 4, ecsLen);
        out[o + 4 + 3] = (byte) q.ecsScope;
        o += 4 + ecsLen;
      }
      if (nsid != null) {
        out[o] = 0;
        out[o + 1] = 3; // option code 3: NSID
        out[o + 2] = (byte) (nsid.length >>> 8);
        out[o + 3] = (byte) nsid.length;
        System.arraycopy(nsid, 0, out, o + 4, nsid.length);
        o += 4 + nsid.length;
      }
      if (cookieOff >= 0) {
        out[o] = 0;
        out[o + 1] = 10; // option code 10: COOKIE — the client cookie, then ours (RFC 7873 §5.2.3/§5.2.4)
        out[o + 2] = 0;
        out[o + 3] = 8 + ServerCookies.LENGTH;
        System.arraycopy(w, cookieOff, out, o + 4, 8);
        DnsMetrics.cookie(stripe, c.cookies().respond(w, cookieOff, cookieOff + 8, q.cookieLength - 8, q.source,
            c.clock().millis() / 1000, out, o + 12));
      }
    }
    q.rcode = Rcode.NOERROR;
    q.out = out;
    q.outLength = outLen;
    DnsMetrics.ecs(stripe, ecsOff >= 0);
    metrics.geoAnswer(stripe, q.regionId);
    if (q.unlocated != null) {
      DnsMetrics.unlocated(stripe, q.unlocated);
    }
    return true;
  }
}
