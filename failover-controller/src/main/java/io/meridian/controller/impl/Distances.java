package io.meridian.controller.impl;

import io.meridian.core.Topology;
import io.meridian.core.geo.Zones;

/**
 * Great-circle distances zone → region, computed once per zone and topology: a plan is recomputed every few
 * seconds over the same zones, and the trigonometry dominates a cold planning run.
 */
final class Distances {
  private Topology topology;
  private double[][] rows;
  private double[] ux;
  private double[] uy;
  private double[] uz;

  /** Measured costs where the input has them, else great-circle distances. */
  double[] row(io.meridian.controller.Planner.Input in, int zone) {
    double[] m = in.measured().get(zone);
    return m != null ? m : row(in.topology(), zone);
  }

  /** Distances of {@code zone} to every region of {@code t} (shared row: do not modify). */
  double[] row(Topology t, int zone) {
    if (t != topology) {
      topology = t;
      rows = new double[Zones.COUNT][];
      int n = t.size();
      ux = new double[n];
      uy = new double[n];
      uz = new double[n];
      for (int r = 0; r < n; r++) {
        double lat = Math.toRadians(t.latitude(r));
        double lon = Math.toRadians(t.longitude(r));
        ux[r] = Math.cos(lat) * Math.cos(lon);
        uy[r] = Math.cos(lat) * Math.sin(lon);
        uz[r] = Math.sin(lat);
      }
    }
    double[] row = rows[zone];
    if (row == null) {
      row = compute(zone);
      rows[zone] = row;
    }
    return row;
  }

  private double[] compute(int zone) {
    double lat = Math.toRadians(Zones.centerLatitude(zone));
    double lon = Math.toRadians(Zones.centerLongitude(zone));
    double x = Math.cos(lat) * Math.cos(lon);
    double y = Math.cos(lat) * Math.sin(lon);
    double z = Math.sin(lat);
    double[] row = new double[ux.length];
    for (int r = 0; r < row.length; r++) {
      // central angle from the chord: numerically stable for near and antipodal points alike
      double dx = x - ux[r];
      double dy = y - uy[r];
      double dz = z - uz[r];
      double chord = Math.sqrt(dx * dx + dy * dy + dz * dz);
      row[r] = 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, chord / 2));
    }
    return row;
  }

  private static final double EARTH_RADIUS_KM = io.meridian.core.geo.GreatCircle.EARTH_RADIUS_KM;
}
