package io.meridian.geodns.impl;

import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The static part of answering (RFC 1034 §4.3.2 for an authoritative server): exact matches, CNAME chains inside
 * our zones, wildcard synthesis (RFC 4592), referrals at zone cuts, NXDOMAIN vs NODATA. When the chain reaches a
 * geo name asked for A/AAAA/ANY, it stops and leaves the answer to the geo stages.
 */
final class ZoneLookup {
  private ZoneLookup() {}

  static void resolve(Query q, Authority authority, String explainLabel, ClientNetworks explainClients) {
    ZoneData zone = q.zone;
    Name name = q.qname;
    int qtype = q.qtype;
    Message resp = q.response;
    // dns.explain is checked against the transport source, never the ECS address (any client can write that). A
    // client not allowed gets what the zone holds, as if the feature did not exist: NXDOMAIN (or a wildcard's
    // answer). Not REFUSED: a resolver that is refused retries every other server of the zone and then fails its
    // client, and may count us as a broken server for the whole zone; an absent name is cached and done with.
    if (explainLabel != null && name.labels() > 2 && isExplain(name, explainLabel)
        && explainClients.contains(q.source)) {
      GeoNameSpec g = zone.geoName(new Name(name, 1));
      if (g != null) {
        if (qtype == Type.TXT || qtype == Type.ANY) {
          q.geo = g;
          q.explain = true;
        } else {
          // RFC 8020: the name exists (it has a TXT), so other types are NODATA — an NXDOMAIN here would let a
          // resolver deny the TXT too, and everything below the name
          q.negative = true;
          q.zone = zone;
          q.denied = name;
          q.deniedExtra = Type.TXT;
        }
        return;
      }
    }
    for (int hop = 0; hop <= AnswerPipeline.MAX_CNAME_HOPS; hop++) {
      if (zone.hasCuts() && referral(q, zone, name)) {
        return;
      }
      GeoNameSpec g = zone.geoName(name);
      ZoneData.Node node = zone.node(name);
      if (g != null && (qtype == Type.A || qtype == Type.AAAA || qtype == Type.ANY)) {
        q.geo = g;
        return;
      }
      Name owner = name;
      if (node == null && zone.hasWildcards()) {
        node = wildcard(zone, name);
      }
      if (node == null) {
        q.rcode = Rcode.NXDOMAIN; // RFC 6604 §2: the rcode describes the last name in the chain
        q.negative = true;
        q.zone = zone;
        q.denied = name;
        return;
      }
      RRset cname = node.get(Type.CNAME);
      if (cname != null && qtype != Type.CNAME) {
        Record c = cname.first();
        resp.addRecord(c.getName().equals(owner) ? c : c.withName(owner), Section.ANSWER);
        Name target = ((CNAMERecord) c).getTarget();
        ZoneData next = authority.zoneFor(target);
        if (next == null) {
          return; // outside our authority: the resolver follows it (RFC 1034 §4.3.2 step 3a)
        }
        if (next != zone) {
          zone = next; // another zone of ours: keep following; AA holds for the whole chain we return
        }
        name = target;
        continue;
      }
      if (qtype == Type.ANY) {
        // RFC 8482 §4.1: answer ANY with one RRset of our choosing instead of everything
        if (node.ordered.isEmpty()) {
          q.negative = true;
          q.zone = zone;
          q.denied = name;
          q.deniedNode = node;
        } else {
          addSet(resp, node.ordered.get(0), name);
        }
        return;
      }
      RRset set = node.get(qtype);
      if (set == null) {
        q.negative = true; // NODATA: the name exists without this type (RFC 2308 §2.2)
        q.zone = zone;
        q.denied = name;
        q.deniedNode = node;
        return;
      }
      addSet(resp, set, name);
      return;
    }
    // A CNAME chain longer than we follow, or a loop: what we have is returned; the resolver gives up or retries.
    q.rcode = Rcode.SERVFAIL;
  }

  private static boolean isExplain(Name name, String label) {
    return name.getLabelString(0).equalsIgnoreCase(label);
  }

  /** Adds a set to the answer, re-owned to the query name when it was synthesised from a wildcard. */
  private static void addSet(Message resp, RRset set, Name owner) {
    boolean synthesised = set.getName().isWild() && !owner.isWild();
    for (Record r : set.rrs(false)) {
      resp.addRecord(synthesised ? r.withName(owner) : r, Section.ANSWER);
    }
  }

  /**
   * RFC 4592 §3.3.1: the closest encloser is the longest existing ancestor; if it has a "*" child, that is the
   * source of synthesis. Empty non-terminals exist, so a name below one never matches a wildcard above it.
   */
  private static ZoneData.Node wildcard(ZoneData zone, Name name) {
    Name origin = zone.origin();
    for (Name p = ZoneData.parent(name); p != null && p.subdomain(origin); p = ZoneData.parent(p)) {
      if (zone.node(p) != null) {
        try {
          return zone.node(Name.concatenate(WILD, p));
        } catch (org.xbill.DNS.NameTooLongException e) {
          return null;
        }
      }
    }
    return null;
  }

  private static final Name WILD = Name.fromConstantString("*");

  /**
   * Below a zone cut we are not authoritative: a referral with the child's NS (and glue we hold) and AA clear
   * (RFC 1034 §4.3.2 step 3b). The cut nearest the apex wins.
   */
  private static boolean referral(Query q, ZoneData zone, Name name) {
    Name origin = zone.origin();
    int below = name.labels() - origin.labels();
    for (int strip = below - 1; strip >= 0; strip--) {
      Name n = strip == 0 ? name : new Name(name, strip);
      ZoneData.Node node = zone.node(n);
      if (node == null) {
        continue;
      }
      RRset ns = node.get(Type.NS);
      if (ns == null || n.equals(origin)) {
        continue;
      }
      if (n.equals(name) && q.qtype == Type.DS) {
        return false; // DS lives in the parent (RFC 4035 §3.1.4.1); we hold none, so NODATA follows
      }
      Message resp = q.response;
      resp.getHeader().unsetFlag(Flags.AA);
      q.cut = n;
      q.zone = zone;
      for (Record r : ns.rrs(false)) {
        resp.addRecord(r, Section.AUTHORITY);
        Name host = ((NSRecord) r).getTarget();
        ZoneData.Node glue = zone.node(host);
        if (glue != null && host.subdomain(n)) {
          addGlue(resp, glue.get(Type.A));
          addGlue(resp, glue.get(Type.AAAA));
        }
      }
      q.settled = true;
      return true;
    }
    return false;
  }

  private static void addGlue(Message resp, RRset set) {
    if (set != null) {
      for (Record r : set.rrs(false)) {
        resp.addRecord(r, Section.ADDITIONAL);
      }
    }
  }
}
