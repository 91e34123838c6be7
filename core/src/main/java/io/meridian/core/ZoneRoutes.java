package io.meridian.core;

import io.meridian.core.geo.Zones;
import java.util.Map;

/**
 * The plan's per-zone weighted routes, indexed for the hot path: {@link #get(int)} is one array read.
 * Zones without an entry are served "nearest eligible first".
 */
public final class ZoneRoutes {
  public static final ZoneRoutes NONE = new ZoneRoutes(Map.of());

  private final Map<String, ZoneRoute> byId;
  private final ZoneRoute[] byIndex; // null when empty

  private ZoneRoutes(Map<String, ZoneRoute> byId) {
    this.byId = Map.copyOf(byId);
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

  public static ZoneRoutes of(Map<String, ZoneRoute> routes) {
    return routes.isEmpty() ? NONE : new ZoneRoutes(routes);
  }

  /** The route for a zone index, or null. */
  public ZoneRoute get(int zone) {
    return byIndex == null || zone < 0 ? null : byIndex[zone];
  }

  public Map<String, ZoneRoute> asMap() {
    return byId;
  }

  public int size() {
    return byId.size();
  }
}
