package io.meridian.core;

import io.meridian.config.RegionConfig;
import io.meridian.core.geo.GreatCircle;
import io.meridian.core.geo.Zones;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The fixed geometry of a deployment: its regions (in config order) and where they are. Rankings of regions by
 * great-circle distance from each client zone are computed on first use and cached, so choosing a region on the
 * hot path is an array read, not a sort. Changes only when the region list in the config changes.
 */
public final class Topology {
  private final List<String> ids;
  private final Map<String, Integer> indexById;
  private final double[] latitudes;
  private final double[] longitudes;
  private final AtomicReferenceArray<int[]> rankings = new AtomicReferenceArray<>(Zones.COUNT);
  private final int[] configOrder;

  private Topology(List<String> ids, double[] latitudes, double[] longitudes) {
    this.ids = List.copyOf(ids);
    this.latitudes = latitudes;
    this.longitudes = longitudes;
    this.indexById = new HashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      indexById.put(ids.get(i), i);
    }
    this.configOrder = new int[ids.size()];
    Arrays.setAll(configOrder, i -> i);
  }

  public static Topology of(List<RegionConfig> regions) {
    double[] lat = new double[regions.size()];
    double[] lon = new double[regions.size()];
    for (int i = 0; i < regions.size(); i++) {
      lat[i] = regions.get(i).latitude();
      lon[i] = regions.get(i).longitude();
    }
    return new Topology(regions.stream().map(RegionConfig::id).toList(), lat, lon);
  }

  /** For tests and benchmarks: regions given directly as ids and coordinates. */
  public static Topology of(List<String> ids, double[] latitudes, double[] longitudes) {
    return new Topology(ids, latitudes.clone(), longitudes.clone());
  }

  public int size() {
    return ids.size();
  }

  public List<String> ids() {
    return ids;
  }

  public String id(int index) {
    return ids.get(index);
  }

  /** Index of a region id, or -1. */
  public int indexOf(String id) {
    Integer i = indexById.get(id);
    return i == null ? -1 : i;
  }

  public double latitude(int index) {
    return latitudes[index];
  }

  public double longitude(int index) {
    return longitudes[index];
  }

  /** Region indexes, nearest to the zone's centre first. Unknown zones get config order. Do not modify. */
  public int[] ranking(int zone) {
    if (zone < 0 || zone >= Zones.COUNT) {
      return configOrder;
    }
    int[] r = rankings.get(zone);
    if (r == null) {
      r = computeRanking(zone);
      rankings.lazySet(zone, r); // racing threads compute the same value; either copy is fine
    }
    return r;
  }

  public double distanceKm(int region, int zone) {
    if (zone < 0) {
      return Double.NaN;
    }
    return GreatCircle.km(Zones.centerLatitude(zone), Zones.centerLongitude(zone), latitudes[region],
        longitudes[region]);
  }

  private int[] computeRanking(int zone) {
    int n = ids.size();
    double[] d = new double[n];
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      d[i] = distanceKm(i, zone);
      order[i] = i;
    }
    // ties broken by config order so every node ranks identically
    Arrays.sort(order, (a, b) -> d[a] != d[b] ? Double.compare(d[a], d[b]) : Integer.compare(a, b));
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = order[i];
    }
    return out;
  }

  /** Same regions at the same places: plans can keep sharing the cached rankings. */
  public boolean sameAs(List<RegionConfig> regions) {
    if (regions.size() != ids.size()) {
      return false;
    }
    for (int i = 0; i < regions.size(); i++) {
      RegionConfig r = regions.get(i);
      if (!r.id().equals(ids.get(i)) || r.latitude() != latitudes[i] || r.longitude() != longitudes[i]) {
        return false;
      }
    }
    return true;
  }

  /** Same regions, in the same order, at the same coordinates (its cached rankings would be the same). */
  public boolean sameAs(Topology other) {
    return other == this || other != null && ids.equals(other.ids) && Arrays.equals(latitudes, other.latitudes)
        && Arrays.equals(longitudes, other.longitudes);
  }
}
