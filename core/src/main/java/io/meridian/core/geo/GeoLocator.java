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

  @Override
  void close();
}
