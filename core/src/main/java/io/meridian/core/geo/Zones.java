package io.meridian.core.geo;

/**
 * Client zones: the world cut into 1° × 1° cells. A zone is the unit the planner assigns traffic for and the
 * unit demand is measured in. Cells are small enough (≤ 111 km) that ranking regions by the cell's centre
 * agrees with ranking by the client's own position, and few enough (64,800) to index an array on the hot path.
 */
public final class Zones {
  /** Number of zones; indexes run 0..COUNT-1. */
  public static final int COUNT = 180 * 360;
  /** The zone of clients whose location is unknown. */
  public static final int UNKNOWN = -1;

  private Zones() {}

  public static int indexOf(double latitude, double longitude) {
    int lat = (int) Math.floor(latitude) + 90;
    int lon = (int) Math.floor(longitude) + 180;
    lat = Math.min(Math.max(lat, 0), 179);
    lon = Math.min(Math.max(lon, 0), 359);
    return lat * 360 + lon;
  }

  /** Ids made so far: a plan names thousands of zones in every version, so each id string is made once. */
  private static final java.util.concurrent.atomic.AtomicReferenceArray<String> IDS =
      new java.util.concurrent.atomic.AtomicReferenceArray<>(COUNT);

  /** Readable id, e.g. {@code 50N8E} for the cell whose south-west corner is 50°N 8°E. */
  public static String id(int index) {
    if (index == UNKNOWN) {
      return "unknown";
    }
    if (index >= 0 && index < COUNT) {
      String s = IDS.get(index);
      if (s == null) {
        s = format(index);
        IDS.lazySet(index, s); // racing threads make equal strings; either is fine
      }
      return s;
    }
    return format(index);
  }

  private static String format(int index) {
    int lat = index / 360 - 90;
    int lon = index % 360 - 180;
    return Math.abs(lat) + (lat >= 0 ? "N" : "S") + Math.abs(lon) + (lon >= 0 ? "E" : "W");
  }

  /** Parses an id made by {@link #id(int)}; returns {@link #UNKNOWN} when malformed. */
  public static int parse(String id) {
    try {
      int ns = Math.max(id.indexOf('N'), id.indexOf('S'));
      int lat = Integer.parseInt(id.substring(0, ns)) * (id.charAt(ns) == 'N' ? 1 : -1);
      char ew = id.charAt(id.length() - 1);
      int lon = Integer.parseInt(id.substring(ns + 1, id.length() - 1)) * (ew == 'E' ? 1 : ew == 'W' ? -1 : 0);
      if ((ew != 'E' && ew != 'W') || lat < -90 || lat > 89 || lon < -180 || lon > 179) {
        return UNKNOWN;
      }
      return (lat + 90) * 360 + (lon + 180);
    } catch (RuntimeException e) {
      return UNKNOWN;
    }
  }

  public static double centerLatitude(int index) {
    return index / 360 - 90 + 0.5;
  }

  public static double centerLongitude(int index) {
    return index % 360 - 180 + 0.5;
  }
}
