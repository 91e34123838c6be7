package io.meridian.geodns.impl;

import io.meridian.core.RegionSelector;
import io.meridian.core.RegionState;
import io.meridian.core.geo.ClientLocation;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Record;

/**
 * A name answered from the routing plan, with every answer it can give prepared up front: per region, its A and
 * AAAA RRsets at the normal and the transition TTL. The hot path picks one of these; it never builds records.
 */
final class GeoNameSpec {

  /** What to answer when no region is eligible for the client (all failed or drained, or fenced out). */
  sealed interface Fallback permits AllRegions, Servfail, LastResort {}

  /** Fail open: every region (inside the client's fence) — a dead region beats no answer for most apps. */
  record AllRegions() implements Fallback {}

  /** SERVFAIL: resolvers retry elsewhere or fail fast, for apps that prefer no answer to a wrong one. */
  record Servfail() implements Fallback {}

  /** A fixed last-resort answer: a CNAME (e.g. a static "sorry" site) or addresses. */
  record LastResort(Record cname, RRset[] a, RRset[] aaaa) implements Fallback {}

  /**
   * Clients whose country or continent is listed only ever get the listed regions (data residency, legal).
   * {@code constraint} is built once so the hot path does not allocate.
   */
  record Fence(Set<String> countries, Set<String> continents, Set<String> regions,
      RegionSelector.Constraint constraint, RegionSelector.Constraint[] byFamily) {
    static Fence of(Set<String> countries, Set<String> continents, Set<String> regions) {
      Set<String> rs = Set.copyOf(regions);
      RegionSelector.Constraint c = (RegionState r) -> rs.contains(r.id());
      return new Fence(Set.copyOf(countries), Set.copyOf(continents), rs, c,
          new RegionSelector.Constraint[] {c, c, c});
    }

    /** This fence, also limited to the regions that can answer each address family (see {@link #constraint}). */
    Fence forFamilies(RegionSelector.Constraint[] family) {
      RegionSelector.Constraint[] by = new RegionSelector.Constraint[3];
      for (int i = 0; i < 3; i++) {
        RegionSelector.Constraint f = family[i];
        by[i] = f == RegionSelector.Constraint.NONE ? constraint : (RegionState r) -> regions.contains(r.id())
            && f.allows(r);
      }
      return new Fence(countries, continents, regions, constraint, by);
    }

    boolean covers(ClientLocation where) {
      return where != null && io.meridian.config.DnsConfig.Geofence.covers(countries, continents, where.country(),
          where.continent());
    }
  }

  /** A region's answers; [0] at the normal TTL, [1] at the transition TTL; null when it has none of that type. */
  record RegionAnswers(String region, RRset[] a, RRset[] aaaa, byte[][] aWire, byte[][] aaaaWire) {
    RegionAnswers(String region, RRset[] a, RRset[] aaaa) {
      this(region, a, aaaa, FastPath.answerWire(a), FastPath.answerWire(aaaa));
    }
  }

  private final Name name;
  private final long ttl;
  private final long transitionTtl;
  /** How long after a change answers it touched keep the transition TTL ({@link TtlRule#CHANGED}). */
  private final long changeWindowMillis;
  private final Map<String, RegionAnswers> byRegion;
  private final RegionAnswers[] all; // config order
  private final Fallback fallback;
  private final List<Fence> fences;
  /** Without a fence, per address family slot (0 other types, 1 A, 2 AAAA): see {@link #constraint}. */
  private final RegionSelector.Constraint[] unfenced;
  private final String familyKey;

  private GeoNameSpec(Name name, long ttl, long transitionTtl, Map<String, RegionAnswers> byRegion,
      RegionAnswers[] all, Fallback fallback, List<Fence> fences, RegionSelector.Constraint[] unfenced) {
    this.unfenced = unfenced;
    StringBuilder k = new StringBuilder("A:");
    for (RegionAnswers ra : all) {
      k.append(ra.a() == null ? "" : ra.region() + ",");
    }
    k.append(" AAAA:");
    for (RegionAnswers ra : all) {
      k.append(ra.aaaa() == null ? "" : ra.region() + ",");
    }
    this.familyKey = k.toString();
    this.name = name;
    this.ttl = ttl;
    this.transitionTtl = transitionTtl;
    this.changeWindowMillis = transitionTtl * 1000 * TtlRule.WINDOW_TTLS;
    this.byRegion = byRegion;
    this.all = all;
    this.fallback = fallback;
    this.fences = fences;
  }

  /** A region's addresses, as the config lists them. */
  record RegionAddresses(String region, List<String> a, List<String> aaaa) {}

  /** The fallback as configured, before records are built. */
  record FallbackSpec(String kind, String cname, List<String> a, List<String> aaaa) {
    static final FallbackSpec ALL = new FallbackSpec("all", null, List.of(), List.of());
  }

  static GeoNameSpec of(Name name, long ttl, long transitionTtl, List<RegionAddresses> regions,
      FallbackSpec fallback, List<Fence> fences) {
    Map<String, RegionAnswers> by = new HashMap<>();
    RegionAnswers[] all = new RegionAnswers[regions.size()];
    for (int i = 0; i < regions.size(); i++) {
      RegionAddresses r = regions.get(i);
      RegionAnswers ra = new RegionAnswers(r.region(), addressSets(name, ttl, transitionTtl, r.a(), false),
          addressSets(name, ttl, transitionTtl, r.aaaa(), true));
      by.put(r.region(), ra);
      all[i] = ra;
    }
    Fallback fb = switch (fallback.kind()) {
      case "servfail" -> new Servfail();
      case "last-resort" -> new LastResort(
          fallback.cname() == null ? null
              : new CNAMERecord(name, DClass.IN, transitionTtl, Name.fromConstantString(fallback.cname())),
          addressSets(name, transitionTtl, transitionTtl, fallback.a(), false),
          addressSets(name, transitionTtl, transitionTtl, fallback.aaaa(), true));
      default -> new AllRegions();
    };
    RegionSelector.Constraint[] family = {RegionSelector.Constraint.NONE, familyConstraint(all, false),
        familyConstraint(all, true)};
    List<Fence> fenced = new ArrayList<>();
    for (Fence f : fences) {
      fenced.add(f.forFamilies(family));
    }
    return new GeoNameSpec(name, ttl, transitionTtl, Map.copyOf(by), all, fb, List.copyOf(fenced), family);
  }

  /**
   * Only the regions that have records of the family, when some but not all do: a client nearest an AAAA-only
   * region that asks for A gets the nearest region with A records, not NODATA while three others could answer.
   * When every region has the family, or none has, no constraint (none: NODATA, as before — the fallback is for
   * regions that are out, not for a type the name never has).
   */
  private static RegionSelector.Constraint familyConstraint(RegionAnswers[] all, boolean v6) {
    Set<String> with = new java.util.HashSet<>();
    for (RegionAnswers ra : all) {
      if ((v6 ? ra.aaaa() : ra.a()) != null) {
        with.add(ra.region());
      }
    }
    if (with.isEmpty() || with.size() == all.length) {
      return RegionSelector.Constraint.NONE;
    }
    Set<String> frozen = Set.copyOf(with);
    return (RegionState r) -> frozen.contains(r.id());
  }

  /**
   * The constraint the region choice runs under for this query: the client's fence (null: none) and the asked
   * type's address family. Prepared once per name; no allocation here.
   */
  /** Which regions have A and which AAAA records: names alike in this (and fences) get the same decisions. */
  String familyKey() {
    return familyKey;
  }

  RegionSelector.Constraint constraint(Fence fence, int qtype) {
    int slot = qtype == org.xbill.DNS.Type.A ? 1 : qtype == org.xbill.DNS.Type.AAAA ? 2 : 0;
    return fence == null ? unfenced[slot] : fence.byFamily()[slot];
  }

  private static RRset[] addressSets(Name owner, long ttl, long shortTtl, List<String> addresses, boolean v6) {
    if (addresses.isEmpty()) {
      return null;
    }
    return new RRset[] {addressSet(owner, ttl, addresses, v6), addressSet(owner, shortTtl, addresses, v6)};
  }

  private static RRset addressSet(Name owner, long ttl, List<String> addresses, boolean v6) {
    RRset set = new RRset();
    for (String s : addresses) {
      InetAddress addr;
      try {
        addr = InetAddress.getByName(s); // validated literals from the config: no lookup happens
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("address: " + s + " (expected: an IP literal)", e);
      }
      set.addRR(v6 ? new AAAARecord(owner, DClass.IN, ttl, addr) : new ARecord(owner, DClass.IN, ttl, addr));
    }
    return set;
  }

  Name name() {
    return name;
  }

  long ttl() {
    return ttl;
  }

  long transitionTtl() {
    return transitionTtl;
  }

  long changeWindowMillis() {
    return changeWindowMillis;
  }

  RegionAnswers region(String id) {
    return byRegion.get(id);
  }

  /**
   * {@link #region(String)} of the region at {@code index} in {@code topology}: an array index instead of hashing
   * and comparing the id on every answer (the map probe was ≈ 5 % of the ECS fast path's Java samples). The array
   * is built once per topology (plans share theirs while the regions stay the same) and published whole; racing
   * builders build the same array.
   */
  RegionAnswers region(io.meridian.core.Topology topology, int index) {
    ByIndex b = byIndex;
    if (b == null || b.topology != topology) {
      RegionAnswers[] answers = new RegionAnswers[topology.size()];
      for (int i = 0; i < answers.length; i++) {
        answers[i] = byRegion.get(topology.id(i));
      }
      b = new ByIndex(topology, answers);
      byIndex = b;
    }
    return b.answers[index];
  }

  /** The regions' answers in one topology's order. */
  private record ByIndex(io.meridian.core.Topology topology, RegionAnswers[] answers) {}

  /** The answers by index for the last topology asked about ({@link #region(io.meridian.core.Topology, int)}). */
  private volatile ByIndex byIndex;

  RegionAnswers[] allRegions() {
    return all;
  }

  Fallback fallback() {
    return fallback;
  }

  /** The fence that applies to this client, or null. */
  Fence fenceFor(ClientLocation where) {
    for (int i = 0; i < fences.size(); i++) {
      if (fences.get(i).covers(where)) {
        return fences.get(i);
      }
    }
    return null;
  }

  List<Fence> fences() {
    return fences;
  }

  static List<RegionAddresses> addressesOf(List<io.meridian.config.RegionConfig> regions) {
    List<RegionAddresses> out = new ArrayList<>();
    for (io.meridian.config.RegionConfig r : regions) {
      out.add(new RegionAddresses(r.id(), r.dnsA(), r.dnsAaaa()));
    }
    return out;
  }
}
