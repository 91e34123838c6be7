package io.meridian.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ControlBusTest {
  @Test
  void subscribersGetTheCurrentPlanThenNewerOnesOnly() {
    RoutingPlan p1 = RegionSelectorTest.plan(RegionSelectorTest.ok("us-east"), RegionSelectorTest.ok("eu-west"),
        RegionSelectorTest.ok("ap-south"));
    ControlBus bus = ControlBus.inProcess(p1);
    List<Long> seen = new ArrayList<>();
    bus.onPlan(p -> seen.add(p.version()));
    RoutingPlan p2 = p1.next("two", p1.regions(), p1.zones(), p1.homes(), 0);
    assertTrue(bus.publishPlan(p2).succeeded());
    assertTrue(bus.publishPlan(p1).failed(), "an older plan is refused");
    assertEquals(List.of(7L, 8L), seen);
    assertEquals(8, bus.currentPlan().version());
  }
}
