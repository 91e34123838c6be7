package io.meridian.controller.impl;

import io.meridian.core.Lifecycle;
import java.time.Instant;

/**
 * Where one region is in its lifecycle, as the controller tracks it between evaluations.
 *
 * @param lifecycle     current lifecycle
 * @param share         0..1 traffic share (drain steps, slow-start ramp)
 * @param stepAt        when the share last changed (the next step waits a drain or ramp interval from here)
 * @param healthySince  when health last turned serving while the region was FAILED (hold-down start), or null
 * @param baseline      planned load when a drain started: drain steps are fractions of it (0 = unknown)
 * @param note          why the region is where it is (a halted drain says why it stopped)
 */
record RegionRun(Lifecycle lifecycle, double share, Instant stepAt, Instant healthySince, double baseline,
    String note) {

  static RegionRun active(Instant now) {
    return new RegionRun(Lifecycle.ACTIVE, 1, now, null, 0, "");
  }

  RegionRun to(Lifecycle l, double s, Instant now, String why) {
    return new RegionRun(l, s, now, null, l == Lifecycle.DRAINING ? baseline : 0, why);
  }

  RegionRun withHealthySince(Instant t) {
    return new RegionRun(lifecycle, share, stepAt, t, baseline, note);
  }

  RegionRun withBaseline(double b) {
    return new RegionRun(lifecycle, share, stepAt, healthySince, b, note);
  }

  RegionRun withNote(String n) {
    return new RegionRun(lifecycle, share, stepAt, healthySince, baseline, n);
  }
}
