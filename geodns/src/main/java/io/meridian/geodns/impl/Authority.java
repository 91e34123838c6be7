package io.meridian.geodns.impl;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.xbill.DNS.Name;

/**
 * Every zone this server is authoritative for, as one immutable value swapped atomically on reload. Finding the
 * zone of a query name walks up its labels: at most one hash probe per label, no allocation beyond the parent
 * names dnsjava creates.
 */
final class Authority {
  static final Authority EMPTY = new Authority(List.of());

  private final Map<Name, ZoneData> byOrigin = new HashMap<>();
  private final List<ZoneData> zones;
  private final int maxOriginLabels;
  private final int minOriginLabels;
  private final FastPath.Table fastTable;

  Authority(List<ZoneData> zones) {
    this.zones = List.copyOf(zones);
    int max = 0;
    int min = Integer.MAX_VALUE;
    for (ZoneData z : zones) {
      byOrigin.put(z.origin(), z);
      max = Math.max(max, z.origin().labels());
      min = Math.min(min, z.origin().labels());
    }
    this.maxOriginLabels = max;
    this.minOriginLabels = min;
    this.fastTable = FastPath.table(this.zones);
  }

  FastPath.Table fastTable() {
    return fastTable;
  }

  /** The most specific zone containing {@code name}, or null when we are not authoritative for it. */
  ZoneData zoneFor(Name name) {
    if (zones.isEmpty()) {
      return null;
    }
    int labels = name.labels();
    Name n = labels > maxOriginLabels ? new Name(name, labels - maxOriginLabels) : name;
    while (n != null && n.labels() >= minOriginLabels) {
      ZoneData z = byOrigin.get(n);
      if (z != null) {
        return z;
      }
      n = ZoneData.parent(n);
    }
    return null;
  }

  ZoneData zone(Name origin) {
    return byOrigin.get(origin);
  }

  Collection<ZoneData> zones() {
    return zones;
  }
}
