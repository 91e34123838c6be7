package io.meridian.core;

import io.meridian.core.impl.InProcessControlBus;
import io.vertx.core.Future;
import java.util.function.Consumer;

/**
 * How Meridian's roles talk: the controller publishes routing plans, data planes subscribe to them; checkers
 * publish health reports and proxies traffic reports, the controller subscribes. On one machine this is
 * in-process ({@link #inProcess(RoutingPlan)}); across machines the same interface is backed by etcd.
 *
 * <p>Subscribers get the current plan immediately on subscribing, then every newer one. Plans are delivered
 * in version order; an older or equal version than the current one is ignored.
 */
public interface ControlBus extends AutoCloseable {

  static ControlBus inProcess(RoutingPlan initial) {
    return InProcessControlBus.create(initial);
  }

  RoutingPlan currentPlan();

  Future<Void> publishPlan(RoutingPlan plan);

  Subscription onPlan(Consumer<RoutingPlan> listener);

  Future<Void> publishHealth(HealthReport report);

  Subscription onHealth(Consumer<HealthReport> listener);

  Future<Void> publishTraffic(TrafficReport report);

  Subscription onTraffic(Consumer<TrafficReport> listener);

  @Override
  void close();

  /** A registration that can be cancelled. */
  @FunctionalInterface
  interface Subscription {
    void cancel();
  }
}
