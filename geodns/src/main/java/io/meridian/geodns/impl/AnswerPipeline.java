package io.meridian.geodns.impl;

import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.ClientLocation;
import io.meridian.core.geo.GeoLocator;
import java.io.IOException;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.GenericEDNSOption;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * How a DNS packet becomes an answer: the entry points the listeners call, and the per-plan {@link Context} the
 * {@link Stage}s answer from. The stage order is declared once, in {@link Stage}; {@link Stage#fast} (raw bytes,
 * the common query) and {@link Stage#full} (dnsjava messages, everything) compose the same stages from it. The
 * full pipeline's message stages live here, the fast path's raw versions in {@link FastPath}, the stages both run
 * as they are in {@link Stage}.
 *
 * <p>Runs on event loops and UDP threads: stages never block and take no locks; everything they read that changes
 * while serving is one immutable {@link Context} read from a volatile field once per query, so a new plan or zone
 * applies to the very next query and one answer never mixes two.
 */
public final class AnswerPipeline {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AnswerPipeline.class);

  /** Longest CNAME chain followed inside our zones; also the loop guard (RFC 1034 §4.3.2 step 3a). */
  static final int MAX_CNAME_HOPS = 8;
  /** Our EDNS UDP payload size: the DNS Flag Day 2020 value, avoiding IP fragmentation. */
  static final int DEFAULT_PAYLOAD = 1232;

  /**
   * Everything the stages read that changes while serving, as one immutable value: a query reads it once and every
   * stage, on the fast path and the full pipeline alike, answers from that snapshot. Replaced whole (synchronized
   * setters, never on the query path) when any part changes.
   */
  private volatile Context context;
  /** Tests turn it off to compare the fast path's bytes with the full pipeline's. */
  volatile boolean fastPath = true;

  /**
   * Knobs from {@code dns:} that the stages read.
   *
   * @param longestChangeWindowMillis  the longest {@link TtlRule#CHANGED} window of any geo name: how long zone
   *                                   route changes are remembered
   */
  record Settings(int payloadSize, int ecsMaxV4, int ecsMaxV6, String explainLabel, long longestChangeWindowMillis,
      byte[] nsid, ClientNetworks explainClients, Unlocated unlocated) {
    /** Defaults of the knobs tests rarely set: no NSID, explain for loopback and private clients, resolver policy. */
    Settings(int payloadSize, int ecsMaxV4, int ecsMaxV6, String explainLabel, long longestChangeWindowMillis) {
      this(payloadSize, ecsMaxV4, ecsMaxV6, explainLabel, longestChangeWindowMillis, null,
          ClientNetworks.of(io.meridian.config.DnsConfig.ExplainAccess.DEFAULTS), Unlocated.RESOLVER);
    }
  }

  /**
   * Where unlocated clients go ({@code dns.unlocated}).
   *
   * @param region  the location unlocated clients are given: the configured region's coordinates (policy region,
   *                or resolver's fallback), or null
   */
  record Unlocated(io.meridian.config.DnsConfig.Unlocated.Policy policy, ClientLocation region) {
    static final Unlocated RESOLVER = new Unlocated(io.meridian.config.DnsConfig.Unlocated.Policy.RESOLVER, null);
  }

  /**
   * The per-plan context every stage is a function of (with the query): the plan and when what decides answers last
   * changed, the zones (each signed zone with its {@link ZoneSigner}: the signer), the {@code dns:} settings, the
   * locator (GeoIP, location cache, ECS scope tables), the rate limiter, the cookie secrets (null: off), and the
   * pipeline's metrics and clock (the same in every context). Swapped atomically, whole, on a plan, zone or config
   * change.
   */
  record Context(ServedPlan served, Authority authority, Settings settings, Locator locator, RateLimiter limiter,
      ServerCookies cookies, DnsMetrics metrics, Clock clock) {
    Context with(ServedPlan p) {
      return new Context(p, authority, settings, locator, limiter, cookies, metrics, clock);
    }

    Context with(Authority a) {
      return new Context(served, a, settings, locator, limiter, cookies, metrics, clock);
    }

    Context with(Settings s) {
      return new Context(served, authority, s, locator, limiter, cookies, metrics, clock);
    }

    Context with(RateLimiter r) {
      return new Context(served, authority, settings, locator, r, cookies, metrics, clock);
    }

    Context with(ServerCookies c) {
      return new Context(served, authority, settings, locator, limiter, c, metrics, clock);
    }
  }

  /** A plan as served: the plan and when the parts of it that decide answers last changed. */
  record ServedPlan(RoutingPlan plan, PlanChanges changes) {}

  private AnswerPipeline(GeoLocator geo, DnsMetrics metrics, RoutingPlan plan, Settings settings, Clock clock) {
    this.context = new Context(new ServedPlan(plan, PlanChanges.initial(plan)), Authority.EMPTY, settings,
        new Locator(geo), RateLimiter.OFF, null, metrics, clock);
  }

  static AnswerPipeline create(GeoLocator geo, DnsMetrics metrics, RoutingPlan plan, Settings settings,
      Clock clock) {
    AnswerPipeline p = new AnswerPipeline(geo, metrics, plan, settings, clock);
    p.context.locator().start(p.context); // like the database's first load: the first answers have their scopes
    return p;
  }

  /** Builds the ECS scope table for the current context now, on this thread (tests; normally a worker does). */
  void buildScopes() {
    context.locator().build();
  }

  /** The current scope table (tests, reports). */
  EcsScopes scopes() {
    return context.locator().scopes();
  }

  /** The stage names in order, for docs and tests. */
  static List<String> stageNames() {
    return Arrays.stream(Stage.ORDER).map(s -> s.label).toList();
  }

  /**
   * Swaps in a new plan (the plan listener; never on the query path). Compares it with the plan it replaces to
   * date what changed ({@link PlanChanges}); synchronized so that two deliveries cannot interleave their
   * comparisons — queries never take this lock, they read {@link #context}.
   */
  synchronized void plan(RoutingPlan p) {
    Context c = context;
    ServedPlan before = c.served();
    long now = c.clock().millis();
    PlanChanges changes = PlanChanges.between(before.changes(), before.plan(), p, now,
        c.settings().longestChangeWindowMillis());
    context = c.with(new ServedPlan(p, changes));
    c.metrics().planVersion(p.version());
    c.locator().follow(context);
  }

  RoutingPlan plan() {
    return context.served().plan();
  }

  /** The context queries read now. */
  Context context() {
    return context;
  }

  synchronized void authority(Authority a) {
    context = context.with(a);
    context.locator().follow(context);
  }

  Authority authority() {
    return context.authority();
  }

  synchronized void settings(Settings s) {
    context = context.with(s);
    context.locator().clearCache(); // a config change may have changed the nets overrides
    context.locator().follow(context);
  }

  Settings settings() {
    return context.settings();
  }

  synchronized void cookies(ServerCookies c) {
    context = context.with(c);
  }

  ServerCookies cookies() {
    return context.cookies();
  }

  synchronized void rateLimiter(RateLimiter r) {
    context = context.with(r);
  }

  GeoLocator geo() {
    return context.locator().geo();
  }

  DnsMetrics metrics() {
    return context.metrics();
  }

  /**
   * Answers one packet. Never throws: whatever a packet holds, the result is a response or null (drop).
   * Records the query's latency (packet in → response out of this method).
   *
   * @param wire       the packet
   * @param source     the transport source address (4 or 16 bytes)
   * @param transport  UDP or TCP
   */
  public byte[] handle(byte[] wire, byte[] source, Transport transport) {
    long start = System.nanoTime();
    Context ctx = context;
    Query q = answer(ctx, null, wire, wire.length, source, transport, null);
    if (q.out == null) {
      return null;
    }
    ctx.metrics().latency(transport, System.nanoTime() - start, 1);
    return q.outLength == q.out.length ? q.out : Arrays.copyOf(q.out, q.outLength);
  }

  /**
   * The UDP listener's entry: answers {@code wire[0, length)} into {@code out} and returns the answer's length, or
   * -1 to send nothing. Neither array is kept. Latency is the caller's to record (once per read burst).
   */
  int answerUdp(byte[] wire, int length, byte[] source, byte[] out) {
    return answerUdp(null, wire, length, source, out);
  }

  /**
   * {@link #answerUdp(byte[], int, byte[], byte[])} with the calling thread's {@code scratch} ({@link #scratch()}):
   * the fast path runs on it, reset, instead of on a new {@link Query} per packet.
   */
  int answerUdp(Query scratch, byte[] wire, int length, byte[] source, byte[] out) {
    Query q = answer(context, scratch, wire, length, source, Transport.UDP, out);
    if (q.out == null) {
      return -1;
    }
    if (q.out != out) {
      if (q.outLength > out.length) {
        return -1; // cannot happen: UDP answers are cut to the client's size (≤ 65535) with TC
      }
      System.arraycopy(q.out, 0, out, 0, q.outLength);
    }
    return q.outLength;
  }

  /**
   * One packet through the stages, from one context ({@code ctx}, read once by the caller): the fast path when it
   * takes the packet, else the full pipeline on a fresh {@link Query} with arrays of its own (the caller's are
   * scratch), carrying only the rate-limit verdict the fast path may have taken.
   */
  private Query answer(Context ctx, Query scratch, byte[] wire, int length, byte[] source, Transport transport,
      byte[] outBuffer) {
    Query q;
    if (scratch != null) {
      q = scratch.reuse(wire, length, source, transport);
      if (q.stripeOf != ctx.metrics()) { // first use, on the thread that reuses it
        q.stripeOf = ctx.metrics();
        q.stripe = q.stripeOf.stripe();
      }
    } else {
      q = new Query(wire, length, source, transport);
    }
    q.outBuffer = outBuffer;
    try {
      if (!fastPath || !Stage.fast(q, ctx)) {
        RateLimiter.Verdict verdict = q.rrlVerdict;
        q = new Query(length == wire.length ? wire : Arrays.copyOf(wire, length), source.clone(), transport);
        q.rrlVerdict = verdict;
        Stage.full(q, ctx);
        q.outLength = q.out == null ? 0 : q.out.length;
      }
    } catch (RuntimeException e) {
      // A bug, not the client's fault: answer SERVFAIL rather than let one packet take the loop down.
      ctx.metrics().internalError();
      LOG.warn("answer pipeline failed on a {}-byte packet", length, e);
      q.out = q.id >= 0 && length >= 12 ? headerOnly(wire, Rcode.SERVFAIL) : null;
      q.outLength = q.out == null ? 0 : q.out.length;
      q.rcode = Rcode.SERVFAIL;
    }
    if (q.out != null) {
      if (q.stripe != null) {
        ctx.metrics().query(q.stripe, transport, q.qtype, q.rcode);
      } else {
        ctx.metrics().query(transport, q.qtype, q.rcode);
      }
    }
    return q;
  }

  /** A query object for one UDP thread to pass to {@link #answerUdp(Query, byte[], int, byte[], byte[])}. */
  static Query scratch() {
    return new Query(new byte[0], new byte[4], Transport.UDP);
  }

  /** The fast path alone on {@code q}, from the current context (tests): false when it leaves the packet. */
  boolean fast(Query q) {
    return Stage.fast(q, context);
  }

  /** The explanation for {@code client} asking for geo name {@code name}, or null when it is not a geo name. */
  io.meridian.geodns.Explanation explain(Name name, byte[] client) {
    Context ctx = context;
    ZoneData z = ctx.authority().zoneFor(name);
    GeoNameSpec g = z == null ? null : z.geoName(name);
    if (g == null) {
      return null;
    }
    Query q = new Query(new byte[0], client, Transport.UDP);
    q.zone = z;
    q.geo = g;
    q.client = client;
    // the geo stages, as a query for the name would run them
    Stage.locate(q, ctx);
    Stage.choose(q, ctx);
    Stage.ttl(q, ctx);
    return Explainer.of(q, q.plan);
  }

  // ---- the full pipeline's message stages (Stage.full composes them, in Stage's order) ------------------------

  /** Wire → Message. Too short for a header, or a response: drop (never answer answers: reflection loops). */
  static void parse(Query q, Context c) {
    byte[] w = q.wire;
    if (w.length < 12) {
      c.metrics().dropped("short");
      q.drop = true;
      return;
    }
    if ((w[2] & 0x80) != 0) {
      c.metrics().dropped("response");
      q.drop = true;
      return;
    }
    q.id = ((w[0] & 0xFF) << 8) | (w[1] & 0xFF);
    try {
      q.request = new Message(w);
    } catch (IOException | RuntimeException e) {
      // RFC 1035 §4.1.1: FORMERR; the header is all we can trust
      q.out = headerOnly(w, Rcode.FORMERR);
      q.rcode = Rcode.FORMERR;
      q.drop = true; // out is already set; nothing else runs (handle counts the query)
    }
  }

  /** Opcode and question count; builds the response skeleton (QR, RD copied, question echoed as sent). */
  static void header(Query q, Context c) {
    Message req = q.request;
    int opcode = req.getHeader().getOpcode();
    Message resp = new Message(q.id);
    resp.getHeader().setFlag(Flags.QR);
    resp.getHeader().setOpcode(opcode);
    if (req.getHeader().getFlag(Flags.RD)) {
      resp.getHeader().setFlag(Flags.RD); // RFC 1035 §4.1.1: copied; RA stays 0: we are not a resolver
    }
    q.response = resp;
    List<Record> questions = req.getSection(Section.QUESTION);
    if (questions.size() == 1) {
      q.question = questions.get(0);
      q.qname = q.question.getName();
      q.qtype = q.question.getType();
      q.nameLength = q.qname.length();
      resp.addRecord(q.question, Section.QUESTION);
    }
    if (opcode != Opcode.QUERY) {
      q.settle(Rcode.NOTIMP); // RFC 1035 §4.1.1; NOTIFY/UPDATE are not ours to take
      return;
    }
    if (questions.size() != 1) {
      q.settle(Rcode.FORMERR); // RFC 9619: exactly one question
    }
  }

  /** EDNS0 (RFC 6891) and Client Subnet (RFC 7871). */
  static void edns(Query q, Context c) {
    Settings s = c.settings();
    List<Record> additional = q.request.getSection(Section.ADDITIONAL);
    int opts = 0;
    for (int i = 0; i < additional.size(); i++) {
      if (additional.get(i).getType() == Type.OPT) {
        opts++;
        q.opt = (OPTRecord) additional.get(i);
      }
    }
    if (opts > 1) {
      q.settle(Rcode.FORMERR); // RFC 6891 §6.1.1: more than one OPT
      return;
    }
    q.client = q.source;
    if (q.opt == null) {
      q.responseLimit = q.transport == Transport.TCP ? 65535 : 512;
      c.metrics().ecs(false);
      return;
    }
    // RFC 3225 §3: the DO bit MUST be copied into the response, whatever else the OPT says (also with BADVERS)
    q.dnssecOk = (q.opt.getFlags() & ExtendedFlags.DO) != 0;
    if (q.opt.getVersion() != 0) {
      q.settle(Rcode.BADVERS); // RFC 6891 §6.1.3
      return;
    }
    q.responseLimit = q.transport == Transport.TCP ? 65535
        : Math.max(512, Math.min(q.opt.getPayloadSize(), s.payloadSize()));
    if (!nsidAndCookie(q, c, s)) {
      return;
    }
    List<EDNSOption> subnet = q.opt.getOptions(EDNSOption.Code.CLIENT_SUBNET);
    if (subnet.isEmpty()) {
      c.metrics().ecs(false);
      return;
    }
    c.metrics().ecs(true);
    ClientSubnetOption ecs = (ClientSubnetOption) subnet.get(0);
    q.ecs = ecs;
    q.ecsFamily = ecs.getFamily();
    q.ecsSource = ecs.getSourcePrefixLength();
    int cap = ecs.getFamily() == 1 ? s.ecsMaxV4() : s.ecsMaxV6();
    int prefix = Math.min(ecs.getSourcePrefixLength(), cap);
    if (ecs.getSourcePrefixLength() == 0) {
      // RFC 7871 §7.1.2: source prefix 0 means "do not use my address"; fall back to the resolver's address
      return;
    }
    byte[] a = ecs.getAddress().getAddress();
    q.client = ClientAddress.truncate(a, prefix);
  }

  /**
   * NSID (RFC 5001 §2.1: answered only to an empty NSID option) and COOKIE (RFC 7873 §5.2). A COOKIE option of a
   * wrong length never gets here: dnsjava refuses the message and the parse stage answers FORMERR (§5.2.2). False
   * when the query is settled.
   */
  private static boolean nsidAndCookie(Query q, Context ctx, Settings s) {
    if (s.nsid() != null) {
      for (EDNSOption o : q.opt.getOptions(EDNSOption.Code.NSID)) {
        if (o.toWire().length == 4) { // code and length only
          q.nsid = true;
        }
      }
    }
    ServerCookies c = ctx.cookies();
    if (c == null) {
      return true; // cookies off: the option is ignored, as by a server that does not know it (RFC 7873 §5.2.1)
    }
    List<EDNSOption> found = q.opt.getOptions(EDNSOption.Code.COOKIE);
    if (found.isEmpty()) {
      return true;
    }
    if (found.size() > 1) {
      q.settle(Rcode.FORMERR); // which one would be ours to answer? As ambiguous as two OPT records
      return false;
    }
    CookieOption co = (CookieOption) found.get(0);
    byte[] server = co.getServerCookie().orElse(new byte[0]);
    byte[] w = new byte[8 + server.length];
    System.arraycopy(co.getClientCookie(), 0, w, 0, 8);
    System.arraycopy(server, 0, w, 8, server.length);
    byte[] out = new byte[ServerCookies.LENGTH];
    // policy: never BADCOOKIE. A query without a valid server cookie is answered normally with a fresh one
    // (RFC 7873 §5.2.3/§5.2.4), so resolvers that do not keep cookies lose nothing
    ServerCookies.Verdict v = c.respond(w, 0, 8, server.length, q.source, ctx.clock().millis() / 1000, out, 0);
    ctx.metrics().cookie(v);
    q.cookie = new CookieOption(co.getClientCookie(), out);
    return true;
  }

  /** Which of our zones holds the name; REFUSED otherwise — we are authoritative-only, never a resolver. */
  static void zone(Query q, Context c) {
    int qclass = q.question.getDClass();
    if (qclass == DClass.CH && chaos(q, c)) {
      return;
    }
    if (qclass != DClass.IN && qclass != DClass.ANY) {
      q.settle(Rcode.REFUSED);
      return;
    }
    if (q.qtype == Type.AXFR || q.qtype == Type.IXFR) {
      q.settle(Rcode.REFUSED); // zone transfers are not offered
      return;
    }
    ZoneData z = c.authority().zoneFor(q.qname);
    if (z == null) {
      q.settle(Rcode.REFUSED);
      return;
    }
    if (q.qtype == ZoneSigner.NXNAME && z.signer() != null) {
      q.settle(Rcode.FORMERR); // RFC 9824 §3.5: NXNAME is a meta-type, only ever in a compact denial's NSEC
      return;
    }
    q.zone = z;
    q.response.getHeader().setFlag(Flags.AA);
  }

  private static final Name ID_SERVER = Name.fromConstantString("id.server.");
  private static final Name HOSTNAME_BIND = Name.fromConstantString("hostname.bind.");

  /**
   * CH TXT {@code id.server} (RFC 4892 §2.2) and its older spelling {@code hostname.bind}: the NSID value, so
   * operators without NSID support in their tools can tell instances apart. Everything else in CH (notably
   * {@code version.bind}) is REFUSED by the zone stage: no version disclosure. False when not answered here.
   */
  private static boolean chaos(Query q, Context c) {
    byte[] nsid = c.settings().nsid();
    if (nsid == null || (q.qtype != Type.TXT && q.qtype != Type.ANY)
        || !(q.qname.equals(ID_SERVER) || q.qname.equals(HOSTNAME_BIND))) {
      return false;
    }
    try {
      q.response.addRecord(new TXTRecord(q.qname, DClass.CH, 0, escape(nsid)), Section.ANSWER);
    } catch (IllegalArgumentException e) {
      return false;
    }
    q.response.getHeader().setFlag(Flags.AA);
    q.settled = true;
    return true;
  }

  /** Bytes as a TXT character-string in master-file syntax (RFC 1035 §5.1): printable as is, others \DDD. */
  private static String escape(byte[] b) {
    StringBuilder sb = new StringBuilder();
    for (byte x : b) {
      int c = x & 0xFF;
      if (c >= 0x21 && c <= 0x7E && c != '"' && c != '\\' && c != ';') {
        sb.append((char) c);
      } else {
        sb.append('\\').append(String.format("%03d", c));
      }
    }
    return sb.toString();
  }

  /** RFC 2308 §2.1/§2.2: NXDOMAIN and NODATA carry the zone's SOA, with the negative TTL, in authority. */
  static void negative(Query q, Context c) {
    if (q.negative && q.zone != null) {
      q.response.addRecord(q.zone.negativeSoa(), Section.AUTHORITY);
    }
  }

  /**
   * DNSSEC (RFC 4035 §3.1): for a query with DO set, the RRSIGs of every authoritative RRset in the answer and
   * authority sections of a signed zone, and the proof of a denial: RFC 9824 compact denial — an NSEC owned by
   * the denied name listing the types that exist there (minus the one asked for), or only NXNAME when the name does
   * not exist, with the rcode then NOERROR (§3.2). A referral gets the cut's DS or the NSEC proving it has none
   * (§3.1.4). Prepared sets' signatures come from {@link ZoneSigner}'s cache; a query without DO, or for an unsigned
   * zone, is left exactly as it was.
   */
  static void dnssec(Query q, Context c) {
    if (!q.dnssecOk || q.drop || q.out != null || q.response == null || q.zone == null
        || (q.rcode != Rcode.NOERROR && q.rcode != Rcode.NXDOMAIN)) {
      return;
    }
    Authority auth = c.authority();
    Message resp = q.response;
    for (int section : new int[] {Section.ANSWER, Section.AUTHORITY}) {
      for (RRset set : resp.getSectionRRsets(section)) {
        Name owner = set.getName();
        // the zone that holds the set: a CNAME chain may cross into another of our zones, signed or not
        ZoneData z = auth.zoneFor(owner);
        if (z == null || z.signer() == null || set.getType() == Type.RRSIG
            || (section == Section.AUTHORITY && set.getType() == Type.NS && !owner.equals(z.origin()))) {
          continue; // a referral's NS are the child's, not signed here (RFC 4035 §2.2)
        }
        for (org.xbill.DNS.RRSIGRecord sig : z.signer().sign(set)) {
          resp.addRecord(sig, section);
        }
      }
    }
    if (q.cut != null) {
      ZoneSigner signer = q.zone.signer();
      if (signer != null) {
        ZoneData.Node cutNode = q.zone.node(q.cut);
        RRset ds = cutNode.get(Type.DS);
        if (ds != null) {
          for (Record r : ds.rrs(false)) {
            resp.addRecord(r, Section.AUTHORITY);
          }
          for (org.xbill.DNS.RRSIGRecord sig : signer.sign(ds)) {
            resp.addRecord(sig, Section.AUTHORITY);
          }
        } else {
          addAll(resp, signer.denial(q.cut, types(cutNode, null, -1, 0)), Section.AUTHORITY);
        }
      }
      return;
    }
    if (!q.negative) {
      return;
    }
    Name denied = q.denied != null ? q.denied : q.geo.name();
    ZoneData dz = q.denied != null ? q.zone : auth.zoneFor(denied); // the lookup set q.zone to the denial's zone
    ZoneSigner signer = dz == null ? null : dz.signer();
    if (signer == null) {
      return;
    }
    RRset nsec;
    if (q.rcode == Rcode.NXDOMAIN) {
      nsec = signer.denial(denied, null);
      q.rcode = Rcode.NOERROR; // RFC 9824 §3.2: the name "exists" with no data but NSEC, RRSIG, NXNAME
      resp.getHeader().setRcode(Rcode.NOERROR);
    } else {
      ZoneData.Node node = q.denied != null ? q.deniedNode : dz.node(denied);
      GeoNameSpec g = q.denied != null && q.deniedNode != null ? dz.geoName(denied) : q.geo;
      nsec = signer.denial(denied, types(node, g, q.qtype, q.deniedExtra));
    }
    addAll(resp, nsec, Section.AUTHORITY);
  }

  /** The types an NSEC lists at a name: those of its node and geo name, plus {@code extra}, minus {@code asked}. */
  private static int[] types(ZoneData.Node node, GeoNameSpec geo, int asked, int extra) {
    java.util.TreeSet<Integer> t = new java.util.TreeSet<>();
    if (node != null) {
      t.addAll(node.sets.keySet());
    }
    if (geo != null) {
      t.addAll(ZoneData.geoTypes(geo));
    }
    if (extra != 0) {
      t.add(extra);
    }
    t.remove(asked); // the set may hold it in another region's variant: this answer has none (RFC 9824 §3.1)
    return t.stream().mapToInt(Integer::intValue).toArray();
  }

  private static void addAll(Message m, RRset set, int section) {
    for (Record r : set.rrs(false)) {
      m.addRecord(r, section);
    }
    for (Record r : set.sigs()) {
      m.addRecord(r, section);
    }
  }

  /** OPT and ECS echo, rcode (extended bits into OPT), truncation to the client's size with TC (RFC 7766). */
  static void encode(Query q, Context c) {
    if (q.out != null) {
      return;
    }
    Message resp = q.response;
    resp.getHeader().setRcode(q.rcode & 0xF);
    OPTRecord opt = null;
    if (q.opt != null) {
      // options in one fixed order, the fast path's: ECS, NSID, COOKIE
      List<EDNSOption> options = new java.util.ArrayList<>(3);
      if (q.ecs != null) {
        options.add(new ClientSubnetOption(q.ecs.getSourcePrefixLength(), q.ecsScope, q.ecs.getAddress()));
      }
      if (q.nsid) {
        options.add(new GenericEDNSOption(EDNSOption.Code.NSID, c.settings().nsid()));
      }
      if (q.cookie != null) {
        options.add(q.cookie);
      }
      opt = new OPTRecord(c.settings().payloadSize(), q.rcode >>> 4, 0, q.dnssecOk ? ExtendedFlags.DO : 0, options);
      resp.addRecord(opt, Section.ADDITIONAL);
    }
    byte[] w = q.truncate ? null : resp.toWire();
    if (w == null || w.length > q.responseLimit) {
      // RFC 2181 §9 / RFC 7766 §5: set TC and let the client retry over TCP; keep question and OPT only
      Message tc = new Message(q.id);
      tc.getHeader().setFlag(Flags.QR);
      tc.getHeader().setFlag(Flags.TC);
      if (resp.getHeader().getFlag(Flags.AA)) {
        tc.getHeader().setFlag(Flags.AA);
      }
      if (resp.getHeader().getFlag(Flags.RD)) {
        tc.getHeader().setFlag(Flags.RD);
      }
      tc.getHeader().setRcode(q.rcode & 0xF);
      if (q.question != null) {
        tc.addRecord(q.question, Section.QUESTION);
      }
      if (opt != null) {
        tc.addRecord(opt, Section.ADDITIONAL);
      }
      w = tc.toWire();
    }
    q.out = w;
  }

  /** A 12-byte response carrying only the header: same id and opcode, QR set, RD copied, no sections. */
  static byte[] headerOnly(byte[] request, int rcode) {
    byte[] h = new byte[12];
    h[0] = request[0];
    h[1] = request[1];
    h[2] = (byte) (0x80 | (request[2] & 0x79)); // QR, opcode, RD; AA and TC cleared
    h[3] = (byte) (rcode & 0xF);
    return h;
  }

  /** Records of {@code set} into the answer section. */
  static void addAnswer(Message m, RRset set) {
    for (Record r : set.rrs(false)) {
      m.addRecord(r, Section.ANSWER);
    }
  }

  static Name name(String s) {
    return Name.fromConstantString(s);
  }
}
