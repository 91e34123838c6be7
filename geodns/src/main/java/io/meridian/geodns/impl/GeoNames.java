package io.meridian.geodns.impl;

import io.meridian.config.DnsConfig;
import io.meridian.config.MeridianConfig;
import io.meridian.config.RegionConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.xbill.DNS.Name;

/** Turns the {@code dns.zones[].names} config into prepared {@link GeoNameSpec}s. */
final class GeoNames {
  private GeoNames() {}

  static List<GeoNameSpec> build(DnsConfig dns, DnsConfig.ZoneConfig zone, MeridianConfig config)
      throws ZoneLoader.ZoneLoadException {
    List<GeoNameSpec.RegionAddresses> regions = GeoNameSpec.addressesOf(config.regions());
    Set<String> regionIds = new HashSet<>();
    for (RegionConfig r : config.regions()) {
      regionIds.add(r.id());
    }
    List<GeoNameSpec> out = new ArrayList<>();
    for (DnsConfig.GeoName g : zone.names()) {
      List<GeoNameSpec.Fence> fences = new ArrayList<>();
      for (DnsConfig.Geofence f : g.geofences()) {
        for (String r : f.regions()) {
          if (!regionIds.contains(r)) {
            throw new ZoneLoader.ZoneLoadException(g.name() + " geofences: unknown region '" + r
                + "' (expected one of " + regionIds + ")", null);
          }
        }
        fences.add(GeoNameSpec.Fence.of(Set.copyOf(f.countries()), Set.copyOf(f.continents()),
            Set.copyOf(f.regions())));
      }
      DnsConfig.Fallback fb = g.fallback();
      GeoNameSpec.FallbackSpec spec = switch (fb.kind()) {
        case ALL -> GeoNameSpec.FallbackSpec.ALL;
        case SERVFAIL -> new GeoNameSpec.FallbackSpec("servfail", null, List.of(), List.of());
        case LAST_RESORT -> new GeoNameSpec.FallbackSpec("last-resort", fb.cname(), fb.a(), fb.aaaa());
      };
      out.add(GeoNameSpec.of(Name.fromConstantString(g.name()), g.ttl().toSeconds(),
          g.transitionTtl().toSeconds(), regions, spec, fences));
    }
    return out;
  }
}
