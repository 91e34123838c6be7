package io.meridian.core;

import java.util.List;

/**
 * The plan's weighted choice of regions for one client zone, used instead of "nearest eligible" when the
 * controller splits a zone's traffic (drains, spill-over when the nearest region is full).
 *
 * @param zone     client zone id (see {@link io.meridian.core.geo.Zones})
 * @param choices  regions with weights; weights are relative and need not sum to 1
 */
public record ZoneRoute(String zone, List<Choice> choices) {
  public ZoneRoute {
    choices = List.copyOf(choices);
  }

  /** One region and its weight. */
  public record Choice(String region, double weight) {}
}
