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

  /**
   * A random secret that every process on this bus holds alike — DNS server cookies must check out on every
   * instance behind one address (RFC 9018 §4: "servers sharing a secret"). The first process to ask makes it; it
   * is replaced every {@code rotation} by whichever process notices first that it is due, the one before kept as
   * {@link SharedSecret#previous()}. The listener gets the pair as soon as it is known, then every change, on any
   * thread. Where the store is unreachable the last pair stays and rotation waits.
   *
   * @param name      what the secret is for (a key name: letters, digits, '-')
   * @param length    its length in bytes
   * @return empty when this bus shares no state between processes (in process, or a fixed plan): the caller then
   *         keeps a secret of its own
   */
  default java.util.Optional<Subscription> onSharedSecret(String name, int length, java.time.Duration rotation,
      Consumer<SharedSecret> listener) {
    return java.util.Optional.empty();
  }

  /**
   * @param current    the secret to make new values with
   * @param previous   the one before the last rotation, still to be accepted; null before the first rotation
   * @param rotatedAt  when {@code current} was made (by the clock of the process that made it)
   */
  record SharedSecret(byte[] current, byte[] previous, java.time.Instant rotatedAt) {}

  @Override
  void close();

  /** A registration that can be cancelled. */
  @FunctionalInterface
  interface Subscription {
    void cancel();
  }
}
