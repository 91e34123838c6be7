package io.meridian.core.geo;

import io.meridian.config.GeoConfig;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The {@code geo.nets} overrides: CIDR → location, longest prefix wins. Entries are few (private networks,
 * tests, the demo), so a scan of prefix-sorted entries beats a trie on both code size and speed.
 */
public final class NetsTable {
  private final Entry[] entries; // longest prefix first

  private record Entry(byte[] network, int prefix, ClientLocation location) {}

  private NetsTable(List<Entry> list) {
    this.entries = list.toArray(new Entry[0]);
  }

  public static NetsTable of(List<GeoConfig.NetOverride> overrides) {
    List<Entry> list = new ArrayList<>();
    for (GeoConfig.NetOverride o : overrides) {
      int slash = o.cidr().indexOf('/');
      byte[] net;
      try {
        net = InetAddress.getByName(o.cidr().substring(0, slash)).getAddress();
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("cidr: " + o.cidr() + " (expected: an address literal/prefix)", e);
      }
      int prefix = Integer.parseInt(o.cidr().substring(slash + 1));
      list.add(new Entry(net, prefix, ClientLocation.of(o.latitude(), o.longitude(), o.country(), o.continent(),
          prefix, ClientLocation.Source.NETS_OVERRIDE)));
    }
    list.sort(Comparator.comparingInt((Entry e) -> e.prefix).reversed());
    return new NetsTable(list);
  }

  public boolean isEmpty() {
    return entries.length == 0;
  }

  /** The override containing {@code addr} (4 or 16 bytes), or null. */
  public ClientLocation find(byte[] addr) {
    for (Entry e : entries) {
      if (e.network.length == addr.length && matches(e.network, addr, e.prefix)) {
        return e.location;
      }
    }
    return null;
  }

  /** Visits the overrides of one family (4 or 16 address bytes). */
  public void forEach(int addressBytes, GeoLocator.NetworkVisitor visitor) {
    for (Entry e : entries) {
      if (e.network.length == addressBytes) {
        visitor.network(e.network.clone(), e.prefix, true);
      }
    }
  }

  static boolean matches(byte[] net, byte[] addr, int prefix) {
    int full = prefix >>> 3;
    for (int i = 0; i < full; i++) {
      if (net[i] != addr[i]) {
        return false;
      }
    }
    int rem = prefix & 7;
    if (rem == 0) {
      return true;
    }
    int mask = (0xFF << (8 - rem)) & 0xFF;
    return (net[full] & mask) == (addr[full] & mask);
  }
}
