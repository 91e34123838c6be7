package io.meridian.geodns.impl;

import io.meridian.core.RegionSelector;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.ClientLocation;
import io.meridian.core.geo.GeoLocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * ECS scopes (RFC 7871 §7.2.1): for a client address, the widest prefix around it whose every address gets the
 * same answer. The address space of each family is cut into runs — maximal intervals of neighbouring addresses that
 * get the same answer — and the scope is the widest aligned block around the client that stays inside its run:
 * one binary search and a loop over prefix lengths, no allocation.
 *
 * <p>Two levels, both built off the query path ({@link AnswerPipeline} builds them on a worker):
 * <ul>
 *   <li>{@link Locations}, per GeoIP database and {@code nets} ({@link GeoLocator#version()}): runs of addresses
 *       with the same <em>location class</em> — unlocated, or located in the same client zone, country and
 *       continent (all that {@link RegionSelector#choose}, the geofences and {@link TtlRule} read of a location).
 *       Correct under any plan: the fallback while a plan's table is being built.
 *   <li>{@link EcsScopes} itself, per served plan and zone set: neighbouring runs whose classes get the same region
 *       and the same TTL rule inputs for every geo name merge further, as gdnsd merges networks that map to the
 *       same datacenters. A zone the plan splits by client hash (weighted route, traffic shares, a recent route
 *       change) is not merged with its neighbours: its answers vary per /24 (/56), which
 *       {@link GeoAnswers#ecsScope} enforces as a floor. Unlocated space merges with located neighbours only
 *       under {@code dns.unlocated: {region: ID}}, where its answer is that of a client at the region's coordinates
 *       whatever the address (gdnsd too merges it with networks that map to its default datacenters); under
 *       {@code resolver} it follows the querying resolver, under {@code all} it is every region: its own.
 * </ul>
 */
final class EcsScopes {
  /** Location class of unlocated addresses: their answer does not depend on the address. */
  static final int UNLOCATED = 0;
  /** Location class of addresses whose location may vary inside the run (aliased IPv6 ranges): scope /128. */
  static final int OPAQUE = 1;

  /** One query type per constraint slot of {@link GeoNameSpec#constraint}: other types, A, AAAA. */
  private static final int[] FAMILY_TYPES = {org.xbill.DNS.Type.TXT, org.xbill.DNS.Type.A, org.xbill.DNS.Type.AAAA};

  final Locations locations;
  final AnswerPipeline.ServedPlan served;
  final Authority authority;
  /** The {@code dns.unlocated} setting the table was built for (compared by identity on the query path). */
  final AnswerPipeline.Unlocated unlocated;
  private final Runs v4;
  private final Runs v6;

  private EcsScopes(Locations locations, AnswerPipeline.ServedPlan served, Authority authority,
      AnswerPipeline.Unlocated unlocated, Runs v4, Runs v6) {
    this.locations = locations;
    this.served = served;
    this.authority = authority;
    this.unlocated = unlocated;
    this.v4 = v4;
    this.v6 = v6;
  }

  /**
   * The widest scope for {@code client} (4 or 16 bytes): from the merged runs when this table was built for the
   * query's plan and zones ({@code fresh}), else from the plan-independent location runs.
   */
  int scope(byte[] client, boolean fresh) {
    if (client.length == 4) {
      return (fresh ? v4 : locations.v4).scope(0, ((client[0] & 0xFFL) << 24) | ((client[1] & 0xFFL) << 16)
          | ((client[2] & 0xFFL) << 8) | (client[3] & 0xFFL));
    }
    return (fresh ? v6 : locations.v6).scope(bytesToLong(client, 0), bytesToLong(client, 8));
  }

  /** Runs after merging, for reports and tests: how many intervals each family is cut into. */
  int runs(boolean ipv6) {
    return (ipv6 ? v6 : v4).starts();
  }

  /**
   * Merges the location runs whose classes get the same answers under {@code served} for every geo name;
   * unlocated space too when {@code unlocated} places it at a fixed location (policy region).
   */
  static EcsScopes of(Locations l, AnswerPipeline.ServedPlan served, Authority authority,
      AnswerPipeline.Unlocated unlocated) {
    List<GeoNameSpec> names = new ArrayList<>();
    Map<List<Object>, Boolean> seen = new HashMap<>();
    for (ZoneData z : authority.zones()) {
      for (GeoNameSpec g : z.geoNames()) {
        // names with the same fences and the same regions per address family get the same decisions: one of
        // them stands for all
        if (seen.putIfAbsent(List.of(g.fences(), g.familyKey()), Boolean.TRUE) == null) {
          names.add(g);
        }
      }
    }
    RoutingPlan plan = served.plan();
    boolean hashSplitsAll = plan.inTransition();
    Map<List<Integer>, Integer> keys = new HashMap<>();
    // AnswerPipeline.unlocated: under policy region (with a region) every unlocated address is answered as a
    // client at the region's coordinates; under resolver the location depends on who asks, under all there is none
    ClientLocation placed = unlocated != null
        && unlocated.policy() == io.meridian.config.DnsConfig.Unlocated.Policy.REGION ? unlocated.region() : null;
    int[] keyOf = new int[l.classes.size()];
    for (int c = 0; c < keyOf.length; c++) {
      ClientLocation loc = c == UNLOCATED ? placed : l.classes.get(c);
      List<Integer> key = new ArrayList<>();
      if (loc == null) {
        key.add(-1 - c); // OPAQUE, and UNLOCATED unless placed: their own keys
      } else {
        int zone = loc.zone();
        if (hashSplitsAll || plan.zones().get(zone) != null
            || served.changes().zoneChangedAt(zone) != PlanChanges.NEVER) {
          key.add(-1 - c); // answers vary by client hash or by change time in this zone: never merged
        } else {
          // RegionSelector.choose with no route and every share 0 or 1 does not read the hash: 0 stands for all
          for (GeoNameSpec g : names) {
            GeoNameSpec.Fence fence = g.fenceFor(loc);
            // an A and an AAAA query may go to different regions (a region with only one family)
            for (int qtype : FAMILY_TYPES) {
              RegionSelector.Constraint k = g.constraint(fence, qtype);
              key.add(RegionSelector.choose(plan, zone, 0, k));
              key.add(TtlRule.normalRegion(plan, zone, k)); // TtlRule.MOVED compares with it
            }
          }
        }
      }
      Integer id = keys.putIfAbsent(key, keys.size());
      keyOf[c] = id == null ? keys.size() - 1 : id;
    }
    return new EcsScopes(l, served, authority, unlocated, l.v4.merge(keyOf), l.v6.merge(keyOf));
  }

  /** The location runs of both families, tagged with the locator version they were built from. */
  static final class Locations {
    final long geoVersion;
    /** Class id → a location of that class; null for {@link #UNLOCATED} and {@link #OPAQUE}. */
    final List<ClientLocation> classes;
    final Runs v4;
    final Runs v6;

    private Locations(long geoVersion, List<ClientLocation> classes, Runs v4, Runs v6) {
      this.geoVersion = geoVersion;
      this.classes = classes;
      this.v4 = v4;
      this.v6 = v6;
    }

    /**
     * Walks the locator's networks (blocking: seconds for a full GeoLite2 City). Every address between two
     * consecutive network boundaries locates alike, so each elementary interval is located once, by its first
     * address, through {@link GeoLocator#locate} itself: the table cannot disagree with the query path.
     */
    static Locations build(GeoLocator geo) {
      long version = geo == null ? -1 : geo.version();
      List<ClientLocation> classes = new ArrayList<>();
      classes.add(null); // UNLOCATED
      classes.add(null); // OPAQUE
      Map<List<Object>, Integer> ids = new HashMap<>();
      Runs v4 = family(geo, 4, classes, ids);
      Runs v6 = family(geo, 16, classes, ids);
      return new Locations(version, java.util.Collections.unmodifiableList(classes), v4, v6);
    }

    private static Runs family(GeoLocator geo, int bytes, List<ClientLocation> classes, Map<List<Object>, Integer> ids) {
      List<long[]> bounds = new ArrayList<>(); // {hi, lo}: first address of an interval
      List<long[]> opaque = new ArrayList<>(); // {hi, lo, prefix} of networks that are not uniform
      bounds.add(new long[] {0, 0});
      if (geo != null) {
        int bits = bytes * 8;
        geo.forEachNetwork(bytes, (address, prefix, uniform) -> {
          long hi = bytes == 4 ? 0 : bytesToLong(address, 0);
          long lo = bytes == 4 ? ((address[0] & 0xFFL) << 24) | ((address[1] & 0xFFL) << 16)
              | ((address[2] & 0xFFL) << 8) | (address[3] & 0xFFL) : bytesToLong(address, 8);
          long[] first = blockStart(hi, lo, bits - prefix);
          bounds.add(first);
          long[] last = blockEnd(first[0], first[1], bits - prefix);
          long[] next = increment(last[0], last[1]);
          if (!isMax(last, bits)) {
            bounds.add(next);
          }
          if (!uniform) {
            opaque.add(new long[] {first[0], first[1], bits - prefix});
          }
        });
      }
      bounds.sort(EcsScopes::compare);
      long[] hi = new long[bounds.size()];
      long[] lo = new long[bounds.size()];
      int[] cls = new int[bounds.size()];
      int n = 0;
      byte[] addr = new byte[bytes];
      for (long[] b : bounds) {
        if (n > 0 && hi[n - 1] == b[0] && lo[n - 1] == b[1]) {
          continue;
        }
        int c = classOf(geo, b, addr, opaque, classes, ids);
        if (n > 0 && cls[n - 1] == c) {
          continue; // same class as the run before: the run goes on
        }
        hi[n] = b[0];
        lo[n] = b[1];
        cls[n++] = c;
      }
      return new Runs(bytes * 8, Arrays.copyOf(hi, n), Arrays.copyOf(lo, n), Arrays.copyOf(cls, n));
    }

    private static int classOf(GeoLocator geo, long[] b, byte[] addr, List<long[]> opaque,
        List<ClientLocation> classes, Map<List<Object>, Integer> ids) {
      for (long[] o : opaque) {
        long[] start = blockStart(b[0], b[1], (int) o[2]);
        if (start[0] == o[0] && start[1] == o[1]) {
          return OPAQUE;
        }
      }
      if (geo == null) {
        return UNLOCATED;
      }
      if (addr.length == 4) {
        for (int i = 0; i < 4; i++) {
          addr[i] = (byte) (b[1] >>> (24 - 8 * i));
        }
      } else {
        for (int i = 0; i < 8; i++) {
          addr[i] = (byte) (b[0] >>> (56 - 8 * i));
          addr[8 + i] = (byte) (b[1] >>> (56 - 8 * i));
        }
      }
      ClientLocation loc = geo.locate(addr.clone());
      if (loc == null) {
        return UNLOCATED;
      }
      // what choose, the fences (country, continent) and the TTL rules (zone) read of a location
      List<Object> key = List.of(loc.zone(), String.valueOf(loc.country()), String.valueOf(loc.continent()));
      Integer id = ids.get(key);
      if (id == null) {
        id = classes.size();
        ids.put(key, id);
        classes.add(loc);
      }
      return id;
    }
  }

  /** Sorted run starts of one family ({@code bits} 32 or 128; IPv4 in {@code lo}), with each run's class or key. */
  static final class Runs {
    /**
     * Slots of the IPv4 scope memo: resolvers repeat the same few thousand client subnets. Four-way: the
     * direct-mapped 4,096 slots it had missed for ≈ 22 % of the ~1,000 /24s of bench/dns/run.sh's ECS mix (any
     * two that share a slot evict each other on every query), and each miss is a binary search: 8 % of the UDP
     * thread's user time (perf).
     */
    private static final int MEMO_BITS = 13;
    private static final int MEMO_WAYS = 4;
    private static final java.lang.invoke.VarHandle MEMO_SLOT =
        java.lang.invoke.MethodHandles.arrayElementVarHandle(long[].class);
    private final int bits;
    private final long[] hi;
    private final long[] lo;
    private final int[] cls;
    /**
     * IPv4 only (null for IPv6): address → scope of this table, four-way set-associative. Each slot is one long, (address |
     * 1 << 32) << 8 | scope (0: empty), read and written whole with opaque access, so a racing writer only
     * replaces an entry, never tears one; a table is immutable, so an entry never goes stale — a new plan or
     * database brings new Runs with an empty memo. Saves the binary search over ~10^4 runs and the prefix walk:
     * together about a quarter of the ECS fast path's Java time (JFR, bench/dns/run.sh's ECS mix).
     */
    private final long[] memo;

    Runs(int bits, long[] hi, long[] lo, int[] cls) {
      this.bits = bits;
      this.hi = hi;
      this.lo = lo;
      this.cls = cls;
      this.memo = bits == 32 ? new long[1 << MEMO_BITS] : null;
    }

    int starts() {
      return hi.length;
    }

    /** Joins neighbouring runs whose classes map to the same key. */
    Runs merge(int[] keyOf) {
      long[] h = new long[hi.length];
      long[] l = new long[lo.length];
      int[] k = new int[cls.length];
      int n = 0;
      for (int i = 0; i < hi.length; i++) {
        int key = cls[i] == OPAQUE ? -1 : keyOf[cls[i]];
        if (n > 0 && k[n - 1] == key && key != -1) {
          continue;
        }
        h[n] = hi[i];
        l[n] = lo[i];
        k[n++] = key;
      }
      // merged runs keep OPAQUE recognisable: key -1 marks them
      int[] marks = Arrays.copyOf(k, n);
      for (int i = 0; i < n; i++) {
        marks[i] = marks[i] == -1 ? OPAQUE : marks[i] + 2;
      }
      return new Runs(bits, Arrays.copyOf(h, n), Arrays.copyOf(l, n), marks);
    }

    /** The widest prefix around (hi, lo) that stays inside its run. Allocation-free. */
    int scope(long ahi, long alo) {
      long[] m = memo;
      if (m == null) {
        return search(ahi, alo);
      }
      long key = (alo | 1L << 32) << 8;
      int set = (int) (((alo * 0x9E3779B97F4A7C15L) >>> (64 - MEMO_BITS))) & -MEMO_WAYS;
      for (int i = set; i < set + MEMO_WAYS; i++) {
        long e = (long) MEMO_SLOT.getOpaque(m, i);
        if ((e & ~0xFFL) == key) {
          return (int) (e & 0xFF);
        }
        if (e == 0) {
          break; // ways fill from the first: nothing further along
        }
      }
      int scope = search(ahi, alo);
      // the newest first, the others one way along, the last forgotten; each slot still written whole
      for (int i = set + MEMO_WAYS - 1; i > set; i--) {
        MEMO_SLOT.setOpaque(m, i, (long) MEMO_SLOT.getOpaque(m, i - 1));
      }
      MEMO_SLOT.setOpaque(m, set, key | scope);
      return scope;
    }

    private int search(long ahi, long alo) {
      int lowIdx = 0;
      int high = hi.length - 1; // hi[0] = lo[0] = 0: the first run starts at the first address
      while (lowIdx < high) {
        int mid = (lowIdx + high + 1) >>> 1;
        if (compare(hi[mid], lo[mid], ahi, alo) <= 0) {
          lowIdx = mid;
        } else {
          high = mid - 1;
        }
      }
      int i = lowIdx;
      if (cls[i] == OPAQUE) {
        return bits;
      }
      long shi = hi[i];
      long slo = lo[i];
      boolean last = i + 1 == hi.length;
      long nhi = last ? 0 : hi[i + 1]; // first address after the run
      long nlo = last ? 0 : lo[i + 1];
      for (int prefix = 0; prefix < bits; prefix++) {
        int host = bits - prefix;
        long bhi = host > 64 ? (host == 128 ? 0 : ahi & (-1L << (host - 64))) : ahi;
        long blo = host >= 64 ? 0 : alo & (-1L << host);
        if (compare(bhi, blo, shi, slo) < 0) {
          continue; // the block starts before the run
        }
        long ehi = host > 64 ? (host == 128 ? -1L : ahi | ~(-1L << (host - 64))) : ahi;
        long elo = host >= 64 ? -1L : alo | ~(-1L << host);
        if (bits == 32) {
          elo &= 0xFFFF_FFFFL;
        }
        if (last || compare(ehi, elo, nhi, nlo) < 0) {
          return prefix;
        }
      }
      return bits;
    }
  }

  static int compare(long ahi, long alo, long bhi, long blo) {
    int c = Long.compareUnsigned(ahi, bhi);
    return c != 0 ? c : Long.compareUnsigned(alo, blo);
  }

  private static int compare(long[] a, long[] b) {
    return compare(a[0], a[1], b[0], b[1]);
  }

  private static long[] blockStart(long hi, long lo, int host) {
    if (host >= 64) {
      return new long[] {host == 128 ? 0 : hi & (-1L << (host - 64)), 0};
    }
    return new long[] {hi, lo & (-1L << host)};
  }

  private static long[] blockEnd(long hi, long lo, int host) {
    if (host >= 64) {
      return new long[] {host == 128 ? -1L : hi | ~(-1L << (host - 64)), -1L};
    }
    return new long[] {hi, host == 0 ? lo : lo | ~(-1L << host)};
  }

  private static boolean isMax(long[] a, int bits) {
    return bits == 32 ? a[1] == 0xFFFF_FFFFL : a[0] == -1L && a[1] == -1L;
  }

  private static long[] increment(long hi, long lo) {
    return lo == -1L ? new long[] {hi + 1, 0} : new long[] {hi, lo + 1};
  }

  static long bytesToLong(byte[] b, int off) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (b[off + i] & 0xFFL);
    }
    return v;
  }
}
