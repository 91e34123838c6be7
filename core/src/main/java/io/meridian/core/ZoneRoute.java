package io.meridian.core;

import java.util.List;

/**
 * The plan's weighted choice of regions for one client zone, used instead of "nearest eligible" when the
 * controller splits a zone's traffic (drains, spill-over when the nearest region is full), and the share of the
 * zone's demand the plan could place nowhere.
 *
 * @param zone     client zone id (see {@link io.meridian.core.geo.Zones})
 * @param choices  regions with weights; weights are relative and need not sum to 1; empty when nothing of the
 *                 zone was placed (then {@code shed} is 1 and whatever is not shed goes nearest-first)
 * @param shed     0..1: the fraction of this zone's demand no region within the limits could take; proxies
 *                 refuse that fraction of the zone's requests (503 + Retry-After), chosen per request at random
 */
public record ZoneRoute(String zone, List<Choice> choices, double shed) {
  public ZoneRoute {
    choices = List.copyOf(choices);
    if (!(shed >= 0 && shed <= 1)) {
      throw new IllegalArgumentException("zone " + zone + ": shed " + shed + " (expected: 0..1)");
    }
  }

  /** A route that places all of the zone's demand. */
  public ZoneRoute(String zone, List<Choice> choices) {
    this(zone, choices, 0);
  }

  /** One region and its weight. */
  public record Choice(String region, double weight) {}
}
