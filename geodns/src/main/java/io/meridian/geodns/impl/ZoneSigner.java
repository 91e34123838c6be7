package io.meridian.geodns.impl;

import io.meridian.geodns.DnssecKeyFile;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.NSECRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.NameTooLongException;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * Online DNSSEC signing of one zone: the zone's keys and its current signatures. Every RRset the zone can answer
 * with is known in advance — static records, each geo name's per-region A/AAAA sets at both TTLs, the fallbacks,
 * the negative SOA, the NODATA NSECs of geo names — so they are all signed off the query path, when the zone is
 * loaded and again when a quarter of the validity has passed ({@link #due}); a query finds its signatures with
 * one identity-hash probe. What cannot be known in advance (NXDOMAIN denials, wildcard answers, unions of regions
 * that depend on the plan) is signed on first use and kept in a bounded cache that is dropped with the
 * signatures it belongs to.
 *
 * <p>Denial of existence is RFC 9824 Compact Denial ("black lies"): one NSEC owned by the query name, its next name
 * the name's immediate successor ({@code \000.name}), so it covers nothing else and discloses nothing of the zone.
 */
final class ZoneSigner {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ZoneSigner.class);

  /** RFC 9824 §3.2: the NXNAME meta-type in the NSEC bitmap of a name that does not exist. */
  static final int NXNAME = 128;
  /** Signatures start this far in the past: validators whose clocks run behind accept them (RFC 6781 §4.4.2.1). */
  static final Duration INCEPTION_SKEW = Duration.ofHours(1);
  /** Online signatures kept per zone before the cache starts over (a bound on memory under random-name floods). */
  static final int ONLINE_CACHE_MAX = 10_000;

  /**
   * Signatures of a prepared RRset: valid for a response RRset with the same first record and size. {@code wire}:
   * the RRSIGs as answer records owned by a pointer to the question name (offset 12), for the fast path.
   */
  private record Prepared(int size, RRSIGRecord[] sigs, byte[] wire) {}

  /** An RRset by content, for sets the zone does not hold as one object (unions, re-owned, denials). */
  private record Key(Name name, int type, long ttl, List<String> rdata) {
    static Key of(RRset set) {
      TreeSet<String> rd = new TreeSet<>();
      for (Record r : set.rrs(false)) {
        rd.add(r.rdataToString());
      }
      return new Key(set.getName(), set.getType(), set.getTTL(), List.copyOf(rd));
    }
  }

  /** One generation of signatures, all with the same inception and expiration; replaced whole. */
  static final class Signatures {
    final Instant signedAt;
    final Instant expiration;
    private final IdentityHashMap<Record, Prepared> prepared;
    private final Map<Key, RRSIGRecord[]> byContent;
    private final ConcurrentHashMap<Key, RRSIGRecord[]> online = new ConcurrentHashMap<>();

    Signatures(Instant signedAt, Instant expiration, IdentityHashMap<Record, Prepared> prepared,
        Map<Key, RRSIGRecord[]> byContent) {
      this.signedAt = signedAt;
      this.expiration = expiration;
      this.prepared = prepared;
      this.byContent = byContent;
    }

    int preparedCount() {
      return prepared.size() + byContent.size();
    }

    int onlineCount() {
      return online.size();
    }
  }

  private final ZoneData zone;
  private final List<DnssecKeyFile> keys;
  /** Keys that sign the DNSKEY, CDS and CDNSKEY RRsets: the SEP keys (KSKs or CSKs). */
  private final List<DnssecKeyFile> ksks;
  /** Keys that sign everything else: the non-SEP keys, or the SEP keys when there are none (CSKs). */
  private final List<DnssecKeyFile> zsks;
  private final Duration validity;
  private volatile Signatures current;
  /** The online cache's bound: {@link #ONLINE_CACHE_MAX}; tests lower it (each entry costs a signature to fill). */
  int onlineMax = ONLINE_CACHE_MAX;

  ZoneSigner(ZoneData zone, List<DnssecKeyFile> keys, Duration validity, Instant now) {
    this.zone = zone;
    this.keys = List.copyOf(keys);
    this.ksks = keys.stream().filter(DnssecKeyFile::sep).toList();
    List<DnssecKeyFile> non = keys.stream().filter(k -> !k.sep()).toList();
    this.zsks = non.isEmpty() ? ksks : non;
    this.validity = validity;
    this.current = build(now);
  }

  List<DnssecKeyFile> keys() {
    return keys;
  }

  Signatures signatures() {
    return current;
  }

  /** Whether a quarter of the signatures' validity has passed: renew them now, long before any expires. */
  boolean due(Instant now) {
    Signatures s = current;
    return !now.isBefore(s.signedAt.plus(validity.dividedBy(4)));
  }

  /** Signs everything again (a worker thread's job: hundreds of signatures) and swaps the result in. */
  void resign(Instant now) {
    current = build(now);
    LOG.info("zone {} re-signed: {} RRsets, valid until {}", zone.origin(), current.preparedCount(),
        current.expiration);
  }

  /**
   * The signatures for {@code set} as it appears in a response. Prepared sets cost one identity probe; others are
   * signed now and cached (not when their TTL is 0: those are per-query answers such as explain TXT).
   */
  RRSIGRecord[] sign(RRset set) {
    Signatures s = current;
    Prepared p = s.prepared.get(set.first());
    if (p != null && p.size == set.size()) {
      return p.sigs;
    }
    Key k = Key.of(set);
    RRSIGRecord[] sigs = s.byContent.get(k);
    if (sigs != null) {
      return sigs;
    }
    sigs = s.online.get(k);
    if (sigs != null) {
      return sigs;
    }
    sigs = signNow(set, s, signingKeys(set));
    if (set.getTTL() > 0) {
      if (s.online.size() >= onlineMax) {
        s.online.clear(); // start over rather than track recency on the query path
      }
      s.online.put(k, sigs);
    }
    return sigs;
  }

  /**
   * The RRSIGs of a prepared RRset as answer bytes owned by a pointer to the question (offset 12), exactly as the
   * full pipeline encodes them; null when the set is not prepared. One identity probe, no allocation.
   */
  byte[] answerWire(RRset set) {
    Prepared p = current.prepared.get(set.first());
    return p == null || p.size != set.size() ? null : p.wire;
  }

  /** How many RRSIGs {@link #answerWire} holds: one per signing key. */
  int answerCount(RRset set) {
    Prepared p = current.prepared.get(set.first());
    return p == null ? 0 : p.sigs.length;
  }

  /**
   * The NSEC that denies {@code qtype} at {@code owner} (RFC 9824 §3): {@code types} are the types that exist
   * there ({@code null}: the name does not exist, NXNAME); the NSEC's TTL is the negative TTL (RFC 9077).
   */
  RRset denial(Name owner, int[] types) {
    int[] bitmap;
    if (types == null) {
      bitmap = new int[] {Type.RRSIG, Type.NSEC, NXNAME};
    } else {
      bitmap = java.util.Arrays.copyOf(types, types.length + 2);
      bitmap[types.length] = Type.RRSIG;
      bitmap[types.length + 1] = Type.NSEC;
    }
    NSECRecord nsec = new NSECRecord(owner, org.xbill.DNS.DClass.IN, zone.negativeSoa().getTTL(), successor(owner),
        bitmap);
    RRset set = new RRset(nsec);
    for (RRSIGRecord sig : sign(set)) {
      set.addRR(sig);
    }
    return set;
  }

  /**
   * The immediate successor of {@code n} in canonical order (RFC 4034 §6.1): {@code \000.n}. When that is too long
   * for a name, any later name that covers nothing of ours does: {@code n} with a zero byte appended to its first
   * label, or the name itself (RFC 4470 §2 allows any name "between" that denies only what is asked).
   */
  static Name successor(Name n) {
    try {
      return Name.concatenate(ZERO, n);
    } catch (NameTooLongException e) {
      return n;
    }
  }

  private static final Name ZERO = Name.fromConstantString("\\000");

  private List<DnssecKeyFile> signingKeys(RRset set) {
    int t = set.getType();
    boolean keySet = t == Type.DNSKEY || t == Type.CDS || t == Type.CDNSKEY;
    return keySet && set.getName().equals(zone.origin()) ? ksks : zsks;
  }

  private RRSIGRecord[] signNow(RRset set, Signatures s, List<DnssecKeyFile> by) {
    Instant inception = s.signedAt.minus(INCEPTION_SKEW);
    RRSIGRecord[] out = new RRSIGRecord[by.size()];
    for (int i = 0; i < by.size(); i++) {
      DnssecKeyFile k = by.get(i);
      try {
        out[i] = DNSSEC.sign(set, k.dnskey(), k.privateKey(), inception, s.expiration);
      } catch (DNSSEC.DNSSECException e) {
        throw new IllegalStateException("zone " + zone.origin() + ": key " + k.tag() + " cannot sign "
            + set.getName() + " " + Type.string(set.getType()) + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  /** Signs every RRset the zone answers with as one object, and the unions of regions it can answer with. */
  private Signatures build(Instant now) {
    IdentityHashMap<Record, Prepared> prepared = new IdentityHashMap<>();
    Map<Key, RRSIGRecord[]> byContent = new HashMap<>();
    Signatures s = new Signatures(now, now.plus(validity), prepared, byContent);
    for (Map.Entry<Name, ZoneData.Node> e : zone.nodes().entrySet()) {
      Name owner = e.getKey();
      Name cut = zone.cutAtOrAbove(owner);
      for (RRset set : e.getValue().ordered) {
        if (cut != null && !(owner.equals(cut) && set.getType() == Type.DS)) {
          continue; // RFC 4035 §2.2: delegation NS and glue are not authoritative, so not signed
        }
        prepare(prepared, s, set);
      }
    }
    prepare(prepared, s, new RRset(zone.negativeSoa()));
    for (GeoNameSpec g : zone.geoNames()) {
      for (GeoNameSpec.RegionAnswers ra : g.allRegions()) {
        prepareAll(prepared, s, ra.a());
        prepareAll(prepared, s, ra.aaaa());
      }
      if (g.fallback() instanceof GeoNameSpec.LastResort lr) {
        if (lr.cname() != null) {
          prepare(prepared, s, new RRset(lr.cname()));
        }
        prepareAll(prepared, s, lr.a());
        prepareAll(prepared, s, lr.aaaa());
      } else if (g.fallback() instanceof GeoNameSpec.AllRegions) {
        // fail open: every region inside the client's fence (or every region), at the transition TTL
        List<java.util.Set<String>> scopes = new ArrayList<>();
        scopes.add(null);
        for (GeoNameSpec.Fence f : g.fences()) {
          scopes.add(f.regions());
        }
        for (java.util.Set<String> scope : scopes) {
          for (boolean v6 : new boolean[] {false, true}) {
            RRset union = new RRset();
            for (GeoNameSpec.RegionAnswers ra : g.allRegions()) {
              RRset[] sets = v6 ? ra.aaaa() : ra.a();
              if (sets != null && (scope == null || scope.contains(ra.region()))) {
                sets[1].rrs(false).forEach(union::addRR);
              }
            }
            if (union.size() > 0) {
              byContent.putIfAbsent(Key.of(union), signNow(union, s, zsks));
            }
          }
        }
      }
    }
    return s;
  }

  private void prepareAll(IdentityHashMap<Record, Prepared> prepared, Signatures s, RRset[] sets) {
    if (sets != null) {
      for (RRset set : sets) {
        prepare(prepared, s, set);
      }
    }
  }

  private void prepare(IdentityHashMap<Record, Prepared> prepared, Signatures s, RRset set) {
    if (set.size() == 0 || prepared.containsKey(set.first())) {
      return;
    }
    RRSIGRecord[] sigs = signNow(set, s, signingKeys(set));
    java.io.ByteArrayOutputStream w = new java.io.ByteArrayOutputStream();
    for (RRSIGRecord sig : sigs) {
      // the record as dnsjava writes it in a message (the signer's name is never compressed, RFC 4034 §3.1.7),
      // with the owner replaced by a pointer to the question name: what the fast path's answers are owned by
      byte[] full = sig.toWire(org.xbill.DNS.Section.ANSWER);
      int ownerLength = sig.getName().length();
      w.write(0xC0);
      w.write(12);
      w.write(full, ownerLength, full.length - ownerLength);
    }
    prepared.put(set.first(), new Prepared(set.size(), sigs, w.toByteArray()));
  }
}
