package io.meridian.proxy.impl;

import io.meridian.core.geo.ClientLocation;
import io.meridian.core.geo.Zones;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;

/**
 * The TCP peer of one client connection, HTTP/1.1 or HTTP/2: its address as bytes (at once) and as text (only when
 * a request needs it), and its zone, located once per connection — a GeoIP lookup deserialises a database record —
 * and again only when the config (geo overrides) or the GeoIP database has been reloaded since.
 */
final class ClientPeer {
  private final ProxyEngine engine;
  private final Channel ch;
  /** The peer's address, or null (not an IP socket). */
  final byte[] ip;
  private String text;
  private int zone;
  private Object zoneConfig;
  private long zoneLoads = -1;

  ClientPeer(ProxyEngine engine, Channel ch) {
    this.engine = engine;
    this.ch = ch;
    this.ip = ch.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
        ? a.getAddress().getAddress() : null;
  }

  /** The address in text (RFC 5952 for IPv6 is the forwarding fields' business), or null. */
  String address() {
    String t = text;
    if (t == null && ip != null && ch.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null) {
      t = a.getAddress().getHostAddress();
      text = t;
    }
    return t;
  }

  /** Drops the text form (made again when a request needs it): an idle keep-alive connection keeps less. */
  void forgetText() {
    text = null;
  }

  /** The peer's zone. */
  int zone() {
    Object cfg = engine.config();
    long loads = engine.geo.databaseLoads();
    if (cfg != zoneConfig || loads != zoneLoads) {
      zone = zoneOf(ip);
      zoneConfig = cfg;
      zoneLoads = loads;
    }
    return zone;
  }

  /** The zone of {@code address} (a client named by X-Forwarded-For), not cached. */
  int zoneOf(byte[] address) {
    ClientLocation loc = address == null ? null : engine.geo.locate(address);
    return loc == null ? Zones.UNKNOWN : loc.zone();
  }
}
