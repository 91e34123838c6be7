package io.meridian.geodns.impl;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.xbill.DNS.DClass;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Type;

/**
 * One authoritative zone as an immutable value: its static records (from a zone file, or a synthesised SOA and NS
 * at the apex) indexed by owner name, plus the geo names whose A/AAAA come from the routing plan. Lookups are
 * read-only hash probes, so any number of event loops can share one instance without locks; a reload builds a
 * new instance and swaps it in.
 *
 * <p>Every ancestor of an owner name inside the zone is present as a node, possibly empty: those are the "empty
 * non-terminals" that make a name exist for NXDOMAIN purposes (RFC 4592 §2.2.2, RFC 8020).
 */
public final class ZoneData {
  /** Records at one owner name, by type. An empty map is an empty non-terminal. */
  static final class Node {
    final Map<Integer, RRset> sets = new HashMap<>(4);
    final List<RRset> ordered = new ArrayList<>(2);

    RRset get(int type) {
      return sets.get(type);
    }

    boolean isEmpty() {
      return sets.isEmpty();
    }
  }

  private final Name origin;
  private final SOARecord soa;
  private final RRset soaSet;
  private final RRset nsSet;
  private final Map<Name, Node> nodes;
  private final Map<Name, GeoNameSpec> geoNames;
  private final SOARecord negativeSoa;
  private final boolean hasCuts;
  private final boolean hasWildcards;
  private final String source;
  /** Online signing, or null for an unsigned zone. */
  private final ZoneSigner signer;

  /** What a signed zone is signed with ({@code dns.zones[].dnssec}). */
  record Signing(List<io.meridian.geodns.DnssecKeyFile> keys, java.time.Duration validity) {}

  private ZoneData(Name origin, Map<Name, Node> nodes, Map<Name, GeoNameSpec> geoNames, String source,
      Signing signing) {
    this.origin = origin;
    this.nodes = nodes;
    this.geoNames = geoNames;
    this.source = source;
    Node apex = nodes.get(origin);
    this.soaSet = apex.get(Type.SOA);
    this.soa = (SOARecord) soaSet.first();
    this.nsSet = apex.get(Type.NS);
    // RFC 2308 §3: the SOA in a negative answer carries min(SOA TTL, SOA MINIMUM)
    this.negativeSoa = new SOARecord(origin, DClass.IN, Math.min(soa.getTTL(), soa.getMinimum()), soa.getHost(),
        soa.getAdmin(), soa.getSerial(), soa.getRefresh(), soa.getRetry(), soa.getExpire(), soa.getMinimum());
    boolean cuts = false;
    boolean wild = false;
    for (Map.Entry<Name, Node> e : nodes.entrySet()) {
      cuts |= !e.getKey().equals(origin) && e.getValue().get(Type.NS) != null;
      wild |= e.getKey().isWild();
    }
    this.hasCuts = cuts;
    this.hasWildcards = wild;
    // last: signing reads the finished zone
    this.signer = signing == null ? null
        : new ZoneSigner(this, signing.keys(), signing.validity(), java.time.Instant.now());
  }

  /**
   * Builds a zone from its records (already checked to be inside {@code origin}) and geo names.
   *
   * @throws IllegalArgumentException when the apex lacks an SOA or NS, or a name has a CNAME beside other data
   */
  static ZoneData of(Name origin, List<Record> records, List<GeoNameSpec> geo, String source) {
    return of(origin, records, geo, source, null);
  }

  /**
   * Builds a zone, signed with {@code signing} when not null: its keys' DNSKEY, CDS and CDNSKEY records (RFC 7344)
   * are added at the apex, and the zone file must hold no DNSSEC records of its own (they would be signed twice
   * or contradict the online denial).
   */
  static ZoneData of(Name origin, List<Record> records, List<GeoNameSpec> geo, String source, Signing signing) {
    Map<Name, Node> nodes = new HashMap<>();
    if (signing != null) {
      for (Record r : records) {
        int t = r.getType();
        if (t == Type.RRSIG || t == Type.NSEC || t == Type.NSEC3 || t == Type.NSEC3PARAM || t == Type.DNSKEY
            || t == Type.CDS || t == Type.CDNSKEY) {
          throw new IllegalArgumentException(r.getName() + " " + Type.string(t) + ": a zone with dnssec keys is"
              + " signed online; remove the DNSSEC records from the zone file (DS at delegations is fine)");
        }
      }
      records = new ArrayList<>(records);
      for (io.meridian.geodns.DnssecKeyFile k : signing.keys()) {
        org.xbill.DNS.DNSKEYRecord key = (org.xbill.DNS.DNSKEYRecord) k.dnskey().withName(origin);
        records.add(key);
        if (k.sep()) {
          // RFC 7344 §4: the child's wish for its DS set — what a parent that polls (RFC 8078) will publish
          records.add(new org.xbill.DNS.CDSRecord(origin, DClass.IN, key.getTTL(), org.xbill.DNS.DNSSEC.Digest.SHA256,
              key));
          records.add(new org.xbill.DNS.CDNSKEYRecord(origin, DClass.IN, key.getTTL(), key.getFlags(),
              key.getProtocol(), key.getAlgorithm(), key.getKey()));
        }
      }
    }
    for (Record r : records) {
      if (!r.getName().subdomain(origin)) {
        throw new IllegalArgumentException(r.getName() + " is outside the zone " + origin);
      }
      if (r.getDClass() != DClass.IN) {
        throw new IllegalArgumentException(r.getName() + ": class " + DClass.string(r.getDClass())
            + " (expected: IN)");
      }
      Node n = node(nodes, origin, r.getName());
      RRset set = n.sets.get(r.getType());
      if (set == null) {
        set = new RRset();
        n.sets.put(r.getType(), set);
        n.ordered.add(set);
      }
      set.addRR(r);
    }
    Map<Name, GeoNameSpec> geoByName = new HashMap<>();
    for (GeoNameSpec g : geo) {
      node(nodes, origin, g.name());
      geoByName.put(g.name(), g);
    }
    Node apex = nodes.get(origin);
    if (apex == null || apex.get(Type.SOA) == null) {
      throw new IllegalArgumentException("zone " + origin + " has no SOA record at its apex (RFC 1035 §5.2)");
    }
    if (apex.get(Type.NS) == null) {
      throw new IllegalArgumentException("zone " + origin + " has no NS records at its apex (RFC 1035 §5.2)");
    }
    if (apex.get(Type.SOA).size() != 1) {
      throw new IllegalArgumentException("zone " + origin + " has " + apex.get(Type.SOA).size()
          + " SOA records (expected: 1)");
    }
    for (Map.Entry<Name, Node> e : nodes.entrySet()) {
      Node n = e.getValue();
      if (n.get(Type.CNAME) != null && n.sets.size() > 1) {
        // RFC 1034 §3.6.2: a CNAME owner has no other data
        throw new IllegalArgumentException(e.getKey() + " has a CNAME and other records (RFC 1034 §3.6.2)");
      }
      if (n.get(Type.CNAME) != null && geoByName.containsKey(e.getKey())) {
        throw new IllegalArgumentException(e.getKey() + " is a geo name and also has a CNAME in the zone file");
      }
    }
    if (signing != null && signing.keys().stream().noneMatch(io.meridian.geodns.DnssecKeyFile::sep)) {
      throw new IllegalArgumentException("zone " + origin + ": no key has the SEP flag (257); one must sign the"
          + " DNSKEY RRset and be the one the parent's DS points at");
    }
    return new ZoneData(origin, nodes, geoByName, source, signing);
  }

  /** The records a zone without a file serves: an SOA and one NS at the apex, made up from the origin. */
  static List<Record> synthesisedApex(Name origin, long negativeTtl) {
    Name ns = Name.fromConstantString("ns1." + origin);
    Name admin = Name.fromConstantString("hostmaster." + origin);
    long serial = System.currentTimeMillis() / 1000;
    return List.of(
        new SOARecord(origin, DClass.IN, 3600, ns, admin, serial, 3600, 600, 604800, negativeTtl),
        new NSRecord(origin, DClass.IN, 3600, ns));
  }

  private static Node node(Map<Name, Node> nodes, Name origin, Name owner) {
    Node n = nodes.get(owner);
    if (n == null) {
      n = new Node();
      nodes.put(owner, n);
      // empty non-terminals up to the apex
      for (Name p = parent(owner); p != null && p.subdomain(origin) && !nodes.containsKey(p); p = parent(p)) {
        nodes.put(p, new Node());
      }
    }
    return n;
  }

  static Name parent(Name n) {
    return n.labels() <= 1 ? null : new Name(n, 1);
  }

  public Name origin() {
    return origin;
  }

  SOARecord soa() {
    return soa;
  }

  RRset soaSet() {
    return soaSet;
  }

  RRset nsSet() {
    return nsSet;
  }

  Node node(Name name) {
    return nodes.get(name);
  }

  Map<Name, Node> nodes() {
    return nodes;
  }

  /** The zone cut at or above {@code name} (an owner of NS below the apex), or null when there is none. */
  Name cutAtOrAbove(Name name) {
    if (!hasCuts) {
      return null;
    }
    Name cut = null;
    for (Name n = name; n != null && n.subdomain(origin) && !n.equals(origin); n = parent(n)) {
      Node node = nodes.get(n);
      if (node != null && node.get(Type.NS) != null) {
        cut = n; // keep walking: the cut nearest the apex wins
      }
    }
    return cut;
  }

  /** Online signing, or null when the zone is not signed. */
  ZoneSigner signer() {
    return signer;
  }

  /** The types that exist at a geo name in some answer: A and AAAA as its regions and last resort have them. */
  static java.util.Set<Integer> geoTypes(GeoNameSpec g) {
    java.util.Set<Integer> t = new java.util.TreeSet<>();
    for (GeoNameSpec.RegionAnswers ra : g.allRegions()) {
      if (ra.a() != null) {
        t.add(Type.A);
      }
      if (ra.aaaa() != null) {
        t.add(Type.AAAA);
      }
    }
    if (g.fallback() instanceof GeoNameSpec.LastResort lr) {
      if (lr.a() != null) {
        t.add(Type.A);
      }
      if (lr.aaaa() != null) {
        t.add(Type.AAAA);
      }
    }
    return t;
  }

  GeoNameSpec geoName(Name name) {
    return geoNames.get(name);
  }

  Iterable<GeoNameSpec> geoNames() {
    return geoNames.values();
  }

  boolean hasCuts() {
    return hasCuts;
  }

  boolean hasWildcards() {
    return hasWildcards;
  }

  /** Where the static data came from: a file path or "synthesised". */
  public String source() {
    return source;
  }

  /** The SOA for negative answers, its TTL the negative-caching TTL (RFC 2308 §3, §5). */
  SOARecord negativeSoa() {
    return negativeSoa;
  }
}
