package io.meridian.geodns.impl;

import io.meridian.core.RegionSelector;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.Zones;
import java.util.List;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * Acts on the region {@link RegionSelector#choose} picked: the region's prepared RRset at the right TTL, the
 * configured fallback when no region was eligible, the ECS scope, and the explain TXT answer.
 */
final class GeoAnswers {
  private GeoAnswers() {}

  /** The geo-answer stage of the full pipeline (the fast path answers a region's prepared bytes instead). */
  static void answer(Query q, AnswerPipeline.Context c) {
    if (q.geo == null) {
      return;
    }
    GeoNameSpec g = q.geo;
    Message resp = q.response;
    RoutingPlan plan = q.plan; // the plan the region was chosen from
    DnsMetrics metrics = c.metrics();
    q.ecsScope = ecsScope(q, c);
    if (q.explain) {
      explain(q, plan);
      return;
    }
    if (q.unlocated != null) {
      metrics.unlocated(q.unlocated);
      if (q.unlocated == Query.Unlocated.ALL && allEligible(q, g, plan, metrics)) {
        return;
      }
    }
    GeoNameSpec.RegionAnswers ra = q.regionId == null ? null : g.region(q.regionId);
    if (ra == null) {
      fallback(q, g, metrics);
      return;
    }
    int slot = q.ttlRule.transitionTtl ? 1 : 0; // TtlRule: shorter while this client's traffic moves
    RRset set = pick(ra, q.qtype, slot);
    metrics.geoAnswer(q.regionId);
    if (set == null) {
      q.negative = true; // e.g. AAAA for a region with only IPv4: NODATA
      return;
    }
    AnswerPipeline.addAnswer(resp, set);
  }

  private static RRset pick(GeoNameSpec.RegionAnswers ra, int qtype, int slot) {
    RRset[] sets = qtype == Type.AAAA ? ra.aaaa() : ra.a();
    if (sets == null && qtype == Type.ANY) {
      sets = ra.aaaa(); // RFC 8482: any one RRset will do
    }
    return sets == null ? null : sets[slot];
  }

  /**
   * {@code dns.unlocated: all}: every eligible region's addresses at the short TTL (the client's resolver or stub
   * picks one). False when no region is eligible: the name's fallback applies, as for any client.
   */
  private static boolean allEligible(Query q, GeoNameSpec g, RoutingPlan plan, DnsMetrics metrics) {
    boolean eligible = false;
    boolean any = false;
    for (int i = 0; i < plan.topology().size(); i++) {
      if (!plan.region(i).eligible()) {
        continue;
      }
      eligible = true;
      GeoNameSpec.RegionAnswers ra = g.region(plan.topology().id(i));
      RRset set = ra == null ? null : pick(ra, q.qtype, 1);
      if (set != null) {
        AnswerPipeline.addAnswer(q.response, set);
        any = true;
      }
    }
    if (!eligible) {
      return false;
    }
    metrics.geoAnswer("all");
    q.negative = !any;
    return true;
  }

  /** No eligible region for this client (everything failed, drained, or fenced out). */
  private static void fallback(Query q, GeoNameSpec g, DnsMetrics metrics) {
    q.fellBack = true;
    metrics.geoAnswer("fallback");
    Message resp = q.response;
    GeoNameSpec.Fallback fb = g.fallback();
    if (fb instanceof GeoNameSpec.Servfail) {
      q.rcode = Rcode.SERVFAIL;
    } else if (fb instanceof GeoNameSpec.LastResort lr) {
      if (lr.cname() != null) {
        resp.addRecord(lr.cname(), Section.ANSWER);
        return;
      }
      RRset[] sets = q.qtype == Type.AAAA ? lr.aaaa() : lr.a();
      if (sets == null) {
        q.negative = true;
      } else {
        AnswerPipeline.addAnswer(resp, sets[1]);
      }
    } else {
      // fail open: every region (inside the fence, which holds even now) at the short TTL
      boolean any = false;
      for (GeoNameSpec.RegionAnswers ra : g.allRegions()) {
        if (q.fence != null && !q.fence.regions().contains(ra.region())) {
          continue;
        }
        RRset set = pick(ra, q.qtype, 1);
        if (set != null) {
          AnswerPipeline.addAnswer(resp, set);
          any = true;
        }
      }
      q.negative = !any;
    }
  }

  /**
   * RFC 7871 §7.2.1: the scope is as wide as the answer allows. {@code widestScope} is the widest prefix around the
   * client whose every address lands in the same zone/route decision ({@link EcsScopes}: neighbouring networks with
   * the same answer merged, as gdnsd does); it may be longer than the source prefix when the source range holds
   * addresses with other answers (§7.2.1: "not specific enough"). While the plan splits the client's zone by client
   * hash, which varies per /24 (/56), the scope is at least that — also for an unlocated client that
   * {@code dns.unlocated} placed in such a zone (at its resolver or at a region): its answer varies per /24 too.
   * Both paths take the scope here, from the plan the region was chosen from ({@code q.plan}).
   */
  static int ecsScope(Query q, AnswerPipeline.Context c) {
    if (q.ecsSource <= 0) {
      return 0;
    }
    RoutingPlan plan = q.plan;
    int family = q.ecsFamily == 1 ? 32 : 128;
    int scope = c.locator().widestScope(q, c);
    if (q.location != null && (plan.inTransition() || plan.zones().get(q.location.zone()) != null)) {
      scope = Math.max(scope, io.meridian.core.ClientKey.prefix(q.client));
    }
    return Math.min(scope, family);
  }

  /** The explain TXT answer: why this client gets this region (never cached: TTL 0). */
  private static void explain(Query q, RoutingPlan plan) {
    List<String> lines = Explainer.of(q, plan).toTxtStrings();
    q.response.addRecord(new TXTRecord(q.qname, DClass.IN, 0, lines), Section.ANSWER);
  }

  static String zoneId(Query q) {
    return q.location == null ? Zones.id(Zones.UNKNOWN) : Zones.id(q.location.zone());
  }
}
