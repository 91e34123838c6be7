package io.meridian.core.geo;

import io.meridian.config.GeoConfig;
import io.meridian.core.impl.MaxMindGeoLocator;
import io.vertx.core.Vertx;
import java.net.InetAddress;

/**
 * Client IP → location. {@code nets} overrides from the config win; then the MaxMind GeoIP2/GeoLite2 City or
 * Country database (memory-mapped, reloaded when the file is replaced). Thread-safe and lock-free.
 *
 * <pre>{@code
 * GeoLocator geo = GeoLocator.open(vertx, config.geo());
 * ClientLocation where = geo.locate(InetAddress.getByName("198.51.100.7")); // null when unknown
 * }</pre>
 */
public interface GeoLocator extends AutoCloseable {

  /** Opens the configured database (if any) and starts watching it for replacement. */
  static GeoLocator open(Vertx vertx, GeoConfig config) {
    return MaxMindGeoLocator.open(vertx, config);
  }

  /** The client's location, or null when neither an override nor the database knows the address. */
  ClientLocation locate(InetAddress address);

  /** Same, from raw address bytes (4 or 16), avoiding an InetAddress on hot paths that have the bytes. */
  ClientLocation locate(byte[] address);

  /** Applies new overrides and database path (config reload). */
  void reconfigure(GeoConfig config);

  /** Description of the loaded database (type, build time) or "none". */
  String databaseInfo();

  /** Number of successful database (re)loads, including the first. */
  long databaseLoads();

  /**
   * Changes whenever {@link #locate} may start answering differently: a database (re)load or a
   * {@link #reconfigure}. Tables derived from the locator (GeoDNS's ECS scopes) are tagged with it.
   */
  long version();

  /**
   * Visits every network that bounds a location for one address family: the {@code nets} overrides and the
   * database's networks. Every address between two consecutive network boundaries locates alike — except inside
   * the networks visited with {@code uniform} false: the IPv6 ranges a database aliases to its IPv4 networks
   * (::/96, ::ffff:0:0/96, 2001::/32 Teredo, 2002::/16 6to4), whose addresses locate as the IPv4 address inside
   * them. Blocking (walks the whole database): call from a worker, never from a query.
   *
   * @param addressBytes  4 (IPv4) or 16 (IPv6)
   */
  void forEachNetwork(int addressBytes, NetworkVisitor visitor);

  /** Receives networks from {@link #forEachNetwork}. */
  @FunctionalInterface
  interface NetworkVisitor {
    /** {@code address} is the network's first address, {@code addressBytes} long; the array may be reused. */
    void network(byte[] address, int prefix, boolean uniform);
  }

  @Override
  void close();
}
