package io.meridian.core.impl;

import io.meridian.core.ControlBus;
import io.meridian.core.HealthReport;
import io.meridian.core.RoutingPlan;
import io.meridian.core.TrafficReport;
import io.vertx.core.Future;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The single-machine bus: an atomic reference for the plan and listener lists, delivering synchronously. */
public final class InProcessControlBus implements ControlBus {
  private static final Logger LOG = LoggerFactory.getLogger(InProcessControlBus.class);

  private final AtomicReference<RoutingPlan> plan;
  private final List<Consumer<RoutingPlan>> planListeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<HealthReport>> healthListeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<TrafficReport>> trafficListeners = new CopyOnWriteArrayList<>();

  private final Source source;

  private InProcessControlBus(RoutingPlan initial, Source source) {
    this.plan = new AtomicReference<>(initial);
    this.source = source;
  }

  public static InProcessControlBus create(RoutingPlan initial) {
    return new InProcessControlBus(initial, new Source("in-process", true,
        "plans come from the controller in this process"));
  }

  /** A bus nothing publishes to: the plan stays {@code initial} (the operator asked for it: --static-plan). */
  public static InProcessControlBus fixed(RoutingPlan initial) {
    return new InProcessControlBus(initial, new Source("static", true, "--static-plan: serving plan v"
        + initial.version() + " unchanged, by the operator's choice"));
  }

  @Override
  public Source source() {
    return source;
  }

  @Override
  public RoutingPlan currentPlan() {
    return plan.get();
  }

  @Override
  public synchronized Future<Void> publishPlan(RoutingPlan next) {
    // synchronized: publishers are rare (the controller); it keeps delivery in version order
    RoutingPlan prev = plan.get();
    if (prev != null && next.version() <= prev.version()) {
      return Future.failedFuture("plan version " + next.version() + " is not newer than " + prev.version());
    }
    plan.set(next);
    deliver(planListeners, next);
    return Future.succeededFuture();
  }

  @Override
  public Subscription onPlan(Consumer<RoutingPlan> listener) {
    planListeners.add(listener);
    RoutingPlan p = plan.get();
    if (p != null) {
      listener.accept(p);
    }
    return () -> planListeners.remove(listener);
  }

  @Override
  public Future<Void> publishHealth(HealthReport report) {
    deliver(healthListeners, report);
    return Future.succeededFuture();
  }

  @Override
  public Subscription onHealth(Consumer<HealthReport> listener) {
    healthListeners.add(listener);
    return () -> healthListeners.remove(listener);
  }

  @Override
  public Future<Void> publishTraffic(TrafficReport report) {
    deliver(trafficListeners, report);
    return Future.succeededFuture();
  }

  @Override
  public Subscription onTraffic(Consumer<TrafficReport> listener) {
    trafficListeners.add(listener);
    return () -> trafficListeners.remove(listener);
  }

  private static <T> void deliver(List<Consumer<T>> listeners, T value) {
    for (Consumer<T> l : listeners) {
      try {
        l.accept(value);
      } catch (RuntimeException e) {
        LOG.error("control bus listener failed on {}", value.getClass().getSimpleName(), e);
      }
    }
  }

  @Override
  public void close() {
    planListeners.clear();
    healthListeners.clear();
    trafficListeners.clear();
  }
}
