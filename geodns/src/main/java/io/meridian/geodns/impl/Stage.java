package io.meridian.geodns.impl;

import io.meridian.core.RegionSelector;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.ClientLocation;
import io.meridian.config.DnsConfig;

/**
 * The answer pipeline's stages, in the one order both paths run them (like CoreDNS's {@code plugin.cfg}): the
 * declaration order of this enum is the stage order, and {@link #full} and {@link #fast} are the only places
 * stages are composed. Every stage is a static function of the {@link Query} and the per-plan
 * {@link AnswerPipeline.Context} (plan, zones with their signers, settings, locator, rate limiter, cookie secrets)
 * that the query read once; nothing else it reads changes while serving.
 *
 * <p>Each stage also says what the raw-bytes fast path does with it ({@link OnFastPath}): runs the very same
 * function ({@code SAME}), runs a raw-bytes version of it that takes the same decisions without dnsjava messages
 * ({@code RAW}; one that cannot take the decision gives the packet up to the full pipeline), or skips it because it
 * cannot apply to the packets the fast path accepts ({@code SKIP}, with the reason). geodns/README.md's table lists
 * the same stages in the same order (AnswerPipelineStagesTest checks it).
 *
 * <p>No lambdas, no boxing: the composition is a loop over a static array with a {@code switch} to static methods.
 */
enum Stage {
  PARSE("parse", false, OnFastPath.RAW,
      "the header and question read in place: ≥ 17 bytes, QR=0, one plain-label name, type A or AAAA, class IN"),
  HEADER("header", false, OnFastPath.RAW,
      "opcode QUERY, QDCOUNT 1, ANCOUNT and NSCOUNT 0, ARCOUNT ≤ 1; the response header is written by encode"),
  EDNS("edns", false, OnFastPath.RAW,
      "the one OPT walked in place: version 0, DO, size, ECS (capped), NSID, COOKIE offsets; anything odd: full"),
  ZONE("zone", false, OnFastPath.RAW,
      "one probe of the authority's table of geo names (lowercase wire name → zone and geo name)"),
  LOOKUP("lookup", false, OnFastPath.SKIP,
      "the table holds only geo names of zones without cuts, asked for A/AAAA: the lookup would stop at the name"),
  LOCATE("locate", false, OnFastPath.SAME, ""),
  CHOOSE("choose", false, OnFastPath.SAME, ""),
  TTL("ttl", false, OnFastPath.SAME, ""),
  GEO_ANSWER("geo-answer", false, OnFastPath.RAW,
      "the region's prepared answer bytes at the rule's TTL, ECS scope from the same function; fallback, NODATA or "
          + "every region: full"),
  NEGATIVE("negative", false, OnFastPath.SKIP,
      "cannot apply: every answer the fast path gives is a region's records (negative ones went to full)"),
  DNSSEC("dnssec", true, OnFastPath.RAW,
      "DO and a signed zone: the RRSIG bytes prepared with the region's set; not prepared: full"),
  RATE_LIMIT("rate-limit", true, OnFastPath.SAME,
      "the same verdict; slip or drop: full, which applies the verdict already taken"),
  ENCODE("encode", true, OnFastPath.RAW,
      "header, question, answer, RRSIGs and OPT written into the listener's buffer; over the client's size: full");

  /** What the fast path does with a stage. */
  enum OnFastPath {
    /** The same function as the full pipeline. */
    SAME,
    /** A raw-bytes version taking the same decisions; where it cannot, the packet goes to the full pipeline. */
    RAW,
    /** Cannot apply to the packets the fast path accepts (the note says why). */
    SKIP
  }

  /** The order, once: both compositions iterate this array. */
  static final Stage[] ORDER = values();

  /** The name in docs, metrics and tests. */
  final String label;
  /** Runs even after the outcome is settled (an error rcode, a referral, a finished lookup). */
  final boolean always;
  final OnFastPath onFastPath;
  /** What the fast path does instead, or why it skips the stage; empty for {@code SAME} stages without a caveat. */
  final String fastNote;

  Stage(String label, boolean always, OnFastPath onFastPath, String fastNote) {
    this.label = label;
    this.always = always;
    this.onFastPath = onFastPath;
    this.fastNote = fastNote;
  }

  /**
   * The full pipeline, on dnsjava messages: every stage in order. A stage that settles the outcome makes the
   * remaining resolution stages skip; {@link #always} stages (signing, rate limiting, encoding) still run. A
   * dropped packet ends it.
   */
  static Query full(Query q, AnswerPipeline.Context c) {
    for (Stage s : ORDER) {
      if (q.drop) {
        break;
      }
      if (q.settled && !s.always) {
        continue;
      }
      switch (s) {
        case PARSE -> AnswerPipeline.parse(q, c);
        case HEADER -> AnswerPipeline.header(q, c);
        case EDNS -> AnswerPipeline.edns(q, c);
        case ZONE -> AnswerPipeline.zone(q, c);
        case LOOKUP -> ZoneLookup.resolve(q, c.authority(), c.settings().explainLabel(),
            c.settings().explainClients());
        case LOCATE -> locate(q, c);
        case CHOOSE -> choose(q, c);
        case TTL -> ttl(q, c);
        case GEO_ANSWER -> GeoAnswers.answer(q, c);
        case NEGATIVE -> AnswerPipeline.negative(q, c);
        case DNSSEC -> AnswerPipeline.dnssec(q, c);
        case RATE_LIMIT -> rateLimit(q, c);
        case ENCODE -> AnswerPipeline.encode(q, c);
        default -> throw new IllegalStateException("stage " + s + " has no body");
      }
    }
    return q;
  }

  /**
   * The fast path, on raw bytes: the same stages in the same order, {@code SKIP} stages left out. Returns false as
   * soon as a stage cannot take its decision on raw bytes; the caller then runs {@link #full} on a fresh
   * {@link Query} (only the rate-limit verdict, if one was taken, carries over: one token per packet).
   */
  static boolean fast(Query q, AnswerPipeline.Context c) {
    for (Stage s : ORDER) {
      if (s.onFastPath == OnFastPath.SKIP) {
        continue;
      }
      boolean go = switch (s) {
        case PARSE -> FastPath.parse(q);
        case HEADER -> FastPath.header(q);
        case EDNS -> FastPath.edns(q, c);
        case ZONE -> FastPath.zone(q, c);
        case LOCATE -> {
          locate(q, c);
          yield true;
        }
        case CHOOSE -> {
          choose(q, c);
          yield true;
        }
        case TTL -> {
          ttl(q, c);
          yield true;
        }
        case GEO_ANSWER -> FastPath.geoAnswer(q, c);
        case DNSSEC -> FastPath.dnssec(q);
        case RATE_LIMIT -> verdict(q, c) == RateLimiter.Verdict.PASS;
        case ENCODE -> FastPath.encode(q, c);
        default -> throw new IllegalStateException("stage " + s + " is declared SKIP on the fast path");
      };
      if (!go) {
        return false;
      }
    }
    return true;
  }

  // ---- the stages both paths run as they are -------------------------------------------------------------------

  /** Locates the client (only when a geo name is being answered): nets overrides, then GeoIP. */
  static void locate(Query q, AnswerPipeline.Context c) {
    if (q.geo == null) {
      return;
    }
    q.location = c.locator().locate(q.client);
    q.clientHash = io.meridian.core.ClientKey.of(q.client);
    if (q.location == null) {
      unlocated(q, c);
    }
  }

  /**
   * {@code dns.unlocated}: a client with no GeoIP entry and no nets match is placed where its resolver is (when
   * the resolver sent ECS and is itself located), at the configured region, or nowhere (every region answers).
   * Its ECS scope is the unlocated run around it ({@link EcsScopes}), at least /24 (/56) where the zone it is
   * placed in splits by client hash ({@link GeoAnswers#ecsScope}).
   */
  private static void unlocated(Query q, AnswerPipeline.Context c) {
    AnswerPipeline.Unlocated u = c.settings().unlocated();
    DnsConfig.Unlocated.Policy p = u.policy();
    if (p == DnsConfig.Unlocated.Policy.RESOLVER && q.client != q.source) {
      ClientLocation resolver = c.locator().locate(q.source);
      if (resolver != null) {
        q.location = resolver;
        q.unlocated = Query.Unlocated.RESOLVER;
        return;
      }
    }
    if (p != DnsConfig.Unlocated.Policy.ALL && u.region() != null) {
      q.location = u.region();
      q.unlocated = Query.Unlocated.REGION;
      return;
    }
    q.unlocated = Query.Unlocated.ALL;
  }

  /**
   * The one decision: {@link RegionSelector#choose}, under the name's geofence for this client and, for A and
   * AAAA, among the regions with records of that family. The plan is read here once: the TTL and the ECS scope
   * come from the same plan.
   */
  static void choose(Query q, AnswerPipeline.Context c) {
    if (q.geo == null) {
      return;
    }
    AnswerPipeline.ServedPlan s = c.served();
    RoutingPlan p = s.plan();
    q.plan = p;
    q.changes = s.changes();
    if (q.unlocated == Query.Unlocated.ALL) {
      return; // no region is chosen: every eligible one answers (GeoAnswers)
    }
    q.fence = q.geo.fenceFor(q.location);
    RegionSelector.Constraint con = q.geo.constraint(q.fence, q.qtype);
    int zoneIndex = q.location == null ? io.meridian.core.geo.Zones.UNKNOWN : q.location.zone();
    q.region = RegionSelector.choose(p, zoneIndex, q.clientHash, con);
    if (q.region >= 0) {
      q.regionId = p.topology().id(q.region);
    }
  }

  /** Which TTL the answer carries: {@link TtlRule#of}, from the same plan the region was chosen from. */
  static void ttl(Query q, AnswerPipeline.Context c) {
    if (q.geo == null) {
      return;
    }
    q.ttlRule = TtlRule.of(q, q.changes, c.clock());
  }

  /**
   * The rate-limit verdict for this packet (RRL, {@link RateLimiter}), taken once and kept in the query: UDP only,
   * never for a packet the parse stage answered FORMERR. Both paths take it here; the full pipeline then applies it.
   */
  static RateLimiter.Verdict verdict(Query q, AnswerPipeline.Context c) {
    RateLimiter r = c.limiter();
    if (!r.enabled() || q.transport != Transport.UDP || q.out != null && q.rcode == org.xbill.DNS.Rcode.FORMERR) {
      return RateLimiter.Verdict.PASS;
    }
    if (q.rrlVerdict == null) {
      // the context's clock, as every input of a stage comes from the query or the context (the system clock in
      // production; tests stand it still, so a run's verdicts do not depend on where a second boundary falls)
      q.rrlVerdict = r.check(q.source, RateLimiter.responseKey(q.wire, q.nameLength, q.qtype), c.clock().millis());
    }
    return q.rrlVerdict;
  }

  /** Applies the verdict: slip (TC=1, no records) or drop. */
  private static void rateLimit(Query q, AnswerPipeline.Context c) {
    switch (verdict(q, c)) {
      case PASS -> { }
      case SLIP -> {
        q.truncate = true;
        c.metrics().rrlSlip();
      }
      case DROP -> {
        q.drop = true;
        q.out = null;
        c.metrics().rrlDrop();
      }
    }
  }
}
