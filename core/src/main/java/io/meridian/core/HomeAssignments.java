package io.meridian.core;

import java.util.Map;
import java.util.Set;

/**
 * Where users' data lives when it is not where it was assigned.
 *
 * @param promotions  home region → region now acting as home for its users (after a home-region failover)
 * @param fenced      regions that must not receive writes for the users they used to own (old homes after a
 *                    promotion, until an operator restores them)
 */
public record HomeAssignments(Map<String, String> promotions, Set<String> fenced) {
  public static final HomeAssignments NONE = new HomeAssignments(Map.of(), Set.of());

  public HomeAssignments {
    promotions = Map.copyOf(promotions);
    fenced = Set.copyOf(fenced);
  }

  /** The region that acts as home for users assigned to {@code home}. */
  public String actingHome(String home) {
    return promotions.getOrDefault(home, home);
  }
}
