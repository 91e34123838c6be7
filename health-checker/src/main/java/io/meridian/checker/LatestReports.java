package io.meridian.checker;

import io.meridian.core.ControlBus;
import io.meridian.core.HealthReport;
import io.meridian.core.TrafficReport;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The latest health report per vantage point and traffic report per proxy, as {@link HealthQuorum} needs
 * them. Reports may arrive out of order (different transports, retries); an older sequence never replaces a
 * newer one (by report time, then sequence). Thread-safe and lock-free.
 */
public final class LatestReports {
  private final ConcurrentHashMap<String, HealthReport> health = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, TrafficReport> traffic = new ConcurrentHashMap<>();
  private volatile List<ControlBus.Subscription> subscriptions = List.of();

  private LatestReports() {}

  public static LatestReports create() {
    return new LatestReports();
  }

  /** A collector fed by {@code bus}; {@link #close()} cancels the subscriptions. */
  public static LatestReports subscribe(ControlBus bus) {
    LatestReports l = new LatestReports();
    l.subscriptions = List.of(bus.onHealth(l::accept), bus.onTraffic(l::accept));
    return l;
  }

  public void accept(HealthReport r) {
    if (r.isGone()) {
      health.remove(r.vantagePoint()); // its lease expired or it stopped: it leaves the electorate
      return;
    }
    // by time, not only sequence: a restarted checker may start its sequence again
    health.merge(r.vantagePoint(), r, (old, neu) -> neu.at().isAfter(old.at())
        || neu.at().equals(old.at()) && neu.sequence() > old.sequence() ? neu : old);
  }

  public void accept(TrafficReport r) {
    traffic.merge(r.source(), r, (old, neu) -> neu.at().isAfter(old.at()) ? neu : old);
  }

  public Collection<HealthReport> health() {
    return List.copyOf(health.values());
  }

  public Collection<TrafficReport> traffic() {
    return List.copyOf(traffic.values());
  }

  public void close() {
    subscriptions.forEach(ControlBus.Subscription::cancel);
  }
}
