package io.meridian.core;

import io.meridian.core.geo.Zones;
import java.util.Map;

/**
 * The plan's per-zone weighted routes, indexed for the hot path: {@link #get(int)} is one array read.
 * Zones without an entry are served "nearest eligible first".
 */
public final class ZoneRoutes {
  public static final ZoneRoutes NONE = new ZoneRoutes(Map.of());

  /** By zone id; built on first use when the routes came by index (a decoded plan): the hot path never needs it. */
  private volatile Map<String, ZoneRoute> byId;
  private final ZoneRoute[] byIndex; // null when empty
  private final int size;

  private ZoneRoutes(Map<String, ZoneRoute> byId) {
    this.byId = Map.copyOf(byId);
    this.size = byId.size();
    if (byId.isEmpty()) {
      this.byIndex = null;
    } else {
      this.byIndex = new ZoneRoute[Zones.COUNT];
      byId.forEach((id, route) -> {
        int i = Zones.parse(id);
        if (i == Zones.UNKNOWN) {
          throw new IllegalArgumentException("zone id: " + id + " (expected: like 50N8E)");
        }
        byIndex[i] = route;
      });
    }
  }

  private ZoneRoutes(ZoneRoute[] byIndex, int size) {
    this.byIndex = byIndex;
    this.size = size;
  }

  public static ZoneRoutes of(Map<String, ZoneRoute> routes) {
    return routes.isEmpty() ? NONE : new ZoneRoutes(routes);
  }

  /**
   * Routes already indexed by zone ({@link Zones#COUNT} slots, null where the zone has none), taken as they are:
   * decoding a 10,000-zone plan then costs no map and no id parsing. The caller must not modify the array.
   */
  public static ZoneRoutes ofIndexed(ZoneRoute[] byIndex) {
    if (byIndex.length != Zones.COUNT) {
      throw new IllegalArgumentException("byIndex: " + byIndex.length + " slots (expected: " + Zones.COUNT + ")");
    }
    int n = 0;
    for (ZoneRoute r : byIndex) {
      if (r != null) {
        n++;
      }
    }
    return n == 0 ? NONE : new ZoneRoutes(byIndex, n);
  }

  /** The route for a zone index, or null. */
  public ZoneRoute get(int zone) {
    return byIndex == null || zone < 0 ? null : byIndex[zone];
  }

  /** By zone id, in zone-index order when built from an index. */
  public Map<String, ZoneRoute> asMap() {
    Map<String, ZoneRoute> m = byId;
    if (m == null) {
      java.util.LinkedHashMap<String, ZoneRoute> built = new java.util.LinkedHashMap<>(size * 2);
      for (ZoneRoute r : byIndex) {
        if (r != null) {
          built.put(r.zone(), r);
        }
      }
      m = java.util.Collections.unmodifiableMap(built);
      byId = m;
    }
    return m;
  }

  public int size() {
    return size;
  }
}
