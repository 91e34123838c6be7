package io.meridian.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A whole deployment, as one immutable value. Loaded with {@link ConfigLoader#load(Path)}; a reload produces
 * a new value and swaps it in, never mutates this one.
 */
public record MeridianConfig(Path source, List<RegionConfig> regions, GeoConfig geo, DnsConfig dns,
    ProxyConfig proxy, HealthCheckConfig healthCheck, ControllerConfig controller, AdminConfig admin,
    StateStoreConfig stateStore) {

  public Optional<RegionConfig> region(String id) {
    return regions.stream().filter(r -> r.id().equals(id)).findFirst();
  }

  /** A one-paragraph summary, printed by {@code meridian config check}. */
  public String summary() {
    long geoNames = dns.zones().stream().mapToLong(z -> z.names().size()).sum();
    return String.format("%s: OK%n  regions: %d (%s)%n  residency groups: %s%n  dns: %d zone(s), %d geo name(s),"
            + " listen %s%n  proxy: %d route(s), listen %s%n  health checks: every %s, timeout %s, rise %d, fall %d%n"
            + "  controller: admin %s, headroom %.0f%%%n  geo: %s, %d nets override(s)%n  admin tokens: %d%n"
            + "  state store: %s",
        source.getFileName(), regions.size(), String.join(", ", regions.stream().map(RegionConfig::id).toList()),
        regions.stream().map(RegionConfig::residencyGroup).distinct().toList(), dns.zones().size(), geoNames,
        dns.listen(), proxy.routes().size(), proxy.listen(), ConfigNode.formatDuration(healthCheck.interval()),
        ConfigNode.formatDuration(healthCheck.timeout()), healthCheck.rise(), healthCheck.fall(),
        controller.adminListen(), controller.headroom() * 100,
        geo.database() == null ? "no GeoIP database" : geo.database().toString(), geo.nets().size(),
        admin.tokens().size(),
        stateStore.type() == StateStoreConfig.Type.EMBEDDED ? "embedded at " + stateStore.path()
            : "etcd " + stateStore.etcd().endpoints() + " prefix " + stateStore.etcd().prefix());
  }
}
