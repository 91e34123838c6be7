package io.meridian.core;

import io.meridian.core.impl.InProcessControlBus;
import io.vertx.core.Future;
import java.util.function.Consumer;

/**
 * How Meridian's roles talk: the controller publishes routing plans, data planes subscribe to them; checkers
 * publish health reports and proxies traffic reports, the controller subscribes. On one machine this is
 * in-process ({@link #inProcess(RoutingPlan)}); across processes and machines the same interface is backed by etcd
 * ({@code io.meridian.etcd.EtcdControlBus}, module {@code etcd/}).
 *
 * <p>Subscribers get the current plan immediately on subscribing, then every newer one. Plans are delivered
 * in version order; an older or equal version than the current one is ignored.
 */
public interface ControlBus extends AutoCloseable {

  static ControlBus inProcess(RoutingPlan initial) {
    return InProcessControlBus.create(initial);
  }

  /** A bus whose plan never changes: a data plane started with {@code --static-plan}. */
  static ControlBus fixed(RoutingPlan plan) {
    return InProcessControlBus.fixed(plan);
  }

  RoutingPlan currentPlan();

  Future<Void> publishPlan(RoutingPlan plan);

  Subscription onPlan(Consumer<RoutingPlan> listener);

  Future<Void> publishHealth(HealthReport report);

  Subscription onHealth(Consumer<HealthReport> listener);

  Future<Void> publishTraffic(TrafficReport report);

  Subscription onTraffic(Consumer<TrafficReport> listener);

  /** Where plans come from and whether that source is reachable now (for /readyz, metrics and logs). */
  default Source source() {
    return new Source("in-process", true, "plans come from the controller in this process");
  }

  /**
   * @param kind       {@code in-process}, {@code etcd} or {@code static}
   * @param connected  whether new plans can arrive now (false: serving the last known plan)
   * @param detail     readable: the endpoint, or why it is disconnected
   */
  record Source(String kind, boolean connected, String detail) {}

  @Override
  void close();

  /** A registration that can be cancelled. */
  @FunctionalInterface
  interface Subscription {
    void cancel();
  }
}
