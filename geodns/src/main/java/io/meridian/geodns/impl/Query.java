package io.meridian.geodns.impl;

import io.meridian.core.geo.ClientLocation;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Record;

/**
 * One query on its way through the {@link Stage}s: what arrived, what each stage found, what goes back. Lives on
 * one thread for the duration of one packet; never shared. Everything that changes while serving is not here but
 * in the {@link AnswerPipeline.Context} the stages are given with it.
 */
final class Query {
  // what arrived
  /** The packet is {@code wire[0, wireLength)}; the full pipeline always gets an exact-size array. */
  byte[] wire;
  int wireLength;
  byte[] source; // transport source address, 4 or 16 bytes
  Transport transport;

  // parse
  Message request;
  Record question;
  Name qname;
  int qtype;
  int id;
  /** Length of the question name in wire form (from offset 12): the rate limiter's (name, type) key. */
  int nameLength;

  // the answer being built
  Message response;
  int rcode = Rcode.NOERROR;
  /** No further resolution: the response (or its rcode) is settled; only rate limiting and encoding remain. */
  boolean settled;
  /** Send nothing at all. */
  boolean drop;
  /** Send TC=1 with no records (RRL slip): the client may retry over TCP. */
  boolean truncate;
  /** The bytes to send, set by the encode stage: {@code out[0, outLength)}. */
  byte[] out;
  int outLength;
  /** Where the fast path may write its answer instead of a new array (the UDP listener's scratch), or null. */
  byte[] outBuffer;

  // EDNS (RFC 6891) and Client Subnet (RFC 7871)
  OPTRecord opt;
  int responseLimit = 512;
  ClientSubnetOption ecs;
  /** ECS family (1 = IPv4, 2 = IPv6) and source prefix as sent; 0 and -1 without ECS. */
  int ecsFamily;
  int ecsSource = -1;
  /** A rate-limit verdict already taken (by the fast path) for this packet, or null. */
  RateLimiter.Verdict rrlVerdict;
  int ecsScope;
  /** The query's DO bit (RFC 3225), copied into the response's OPT. */
  boolean dnssecOk;
  /** The query asked for our NSID (an empty NSID option, RFC 5001 §2.1) and we have one. */
  boolean nsid;
  /** The COOKIE option to answer with (the client cookie and our server cookie), or null. */
  org.xbill.DNS.CookieOption cookie;
  /** Address the client is located by: the ECS address cut to its (capped) source prefix, else the source. */
  byte[] client;

  // the fast path's view of the packet (Stage.fast): offsets into wire instead of dnsjava objects
  /** End of the question (the OPT starts there). */
  int questionEnd;
  /** The OPT's UDP payload size as sent, -1 without OPT. */
  int ednsPayload = -1;
  /** The ECS option's data (family onwards) and its length, -1 without ECS. */
  int ecsOffset = -1;
  int ecsLength;
  /** The COOKIE option's data (client cookie onwards) and its length, -1 without a cookie to answer. */
  int cookieOffset = -1;
  int cookieLength;
  /** The region's prepared answer: the RRset, its bytes, and the record count with any RRSIGs. */
  RRset answerSet;
  byte[] answerWire;
  int answerCount;
  /** The answer's prepared RRSIG bytes (DO, signed zone), or null. */
  byte[] signatureWire;

  // zone lookup
  ZoneData zone;
  /** NXDOMAIN or NODATA: the SOA goes into the authority section (RFC 2308 §2). */
  boolean negative;
  /** The geo name the lookup ended at (after any CNAMEs), when its answer comes from the plan. */
  GeoNameSpec geo;
  /** A TXT query for the explain label under a geo name. */
  boolean explain;
  /**
   * The name a negative answer denies (the last name of a CNAME chain), and the node whose types exist there (null
   * for NXDOMAIN), for the dnssec stage's NSEC; null when the lookup did not end in a denial of its own (a geo
   * name's NODATA: the geo name).
   */
  Name denied;
  ZoneData.Node deniedNode;
  /** A type that exists at {@link #denied} without a node holding it: TXT at an explain name. */
  int deniedExtra;
  /** A referral: the zone cut, whose DS (or the NSEC proving there is none) a signed zone adds. */
  Name cut;

  // geo policy
  /**
   * The plan this query's region was chosen from, read once by the choose stage: the answer's TTL and ECS scope
   * come from the same plan, even when a new one is swapped in meanwhile.
   */
  io.meridian.core.RoutingPlan plan;
  /** What changed in the plans before {@link #plan}, read together with it (the ttl stage's input). */
  PlanChanges changes;
  ClientLocation location;
  int clientHash;
  GeoNameSpec.Fence fence;
  int region = -1;
  String regionId;
  boolean fellBack;
  /** How an unlocated client was placed ({@code dns.unlocated}), or null when it was located. */
  Unlocated unlocated;
  /** Why the answer gets the TTL it gets (the ttl stage). */
  TtlRule ttlRule = TtlRule.NORMAL;

  /** {@link #ecsClient}'s arrays, allocated at first use; not part of a query's state ({@link #reuse} keeps them). */
  private byte[] client4;
  private byte[] client16;
  /**
   * The metrics stripe of the thread that reuses this query ({@link AnswerPipeline#answerUdp}), looked up once on
   * that thread; null on a query made for one packet (its counters look the stripe up). Kept by {@link #reuse}.
   */
  DnsMetrics.Stripe stripe;
  /** The metrics {@link #stripe} belongs to. */
  DnsMetrics stripeOf;

  Query(byte[] wire, byte[] source, Transport transport) {
    this(wire, wire.length, source, transport);
  }

  Query(byte[] wire, int wireLength, byte[] source, Transport transport) {
    this.wire = wire;
    this.wireLength = wireLength;
    this.source = source;
    this.transport = transport;
  }

  /**
   * The fast path's query object for the next packet of a UDP thread ({@link AnswerPipeline#answerUdp}): every
   * field back to what a new {@code Query} holds, so a packet never sees its predecessor's state (QueryReuseTest
   * compares every field with a fresh one's), without allocating ~250 bytes per packet — most of the fast path's
   * allocation. Only the ECS address scratch ({@link #ecsClient}) is kept: it is rewritten before it is read.
   */
  Query reuse(byte[] wire, int wireLength, byte[] source, Transport transport) {
    this.wire = wire;
    this.wireLength = wireLength;
    this.source = source;
    this.transport = transport;
    request = null;
    question = null;
    qname = null;
    qtype = 0;
    id = 0;
    nameLength = 0;
    response = null;
    rcode = Rcode.NOERROR;
    settled = false;
    drop = false;
    truncate = false;
    out = null;
    outLength = 0;
    outBuffer = null;
    opt = null;
    responseLimit = 512;
    ecs = null;
    ecsFamily = 0;
    ecsSource = -1;
    rrlVerdict = null;
    ecsScope = 0;
    dnssecOk = false;
    nsid = false;
    cookie = null;
    client = null;
    questionEnd = 0;
    ednsPayload = -1;
    ecsOffset = -1;
    ecsLength = 0;
    cookieOffset = -1;
    cookieLength = 0;
    answerSet = null;
    answerWire = null;
    answerCount = 0;
    signatureWire = null;
    zone = null;
    negative = false;
    geo = null;
    explain = false;
    denied = null;
    deniedNode = null;
    deniedExtra = 0;
    cut = null;
    plan = null;
    changes = null;
    location = null;
    clientHash = 0;
    fence = null;
    region = -1;
    regionId = null;
    fellBack = false;
    unlocated = null;
    ttlRule = TtlRule.NORMAL;
    return this;
  }

  /**
   * A scratch array for the ECS address of this query (4 or 16 bytes), kept across {@link #reuse}: the fast path
   * writes the truncated address into it instead of allocating two arrays per ECS query. Its contents are only
   * ever the current packet's: written whole before {@link #client} points at it.
   */
  byte[] ecsClient(int bytes) {
    if (bytes == 4) {
      byte[] c = client4;
      return c != null ? c : (client4 = new byte[4]);
    }
    byte[] c = client16;
    return c != null ? c : (client16 = new byte[16]);
  }

  /** What {@code dns.unlocated} did with a client that could not be located (the metric's label). */
  enum Unlocated {
    RESOLVER("resolver"), REGION("region"), ALL("all");

    final String label;

    Unlocated(String label) {
      this.label = label;
    }
  }

  /** Ends resolution with {@code code}; the response keeps the question (if any) and gets this rcode. */
  void settle(int code) {
    rcode = code;
    settled = true;
  }
}
