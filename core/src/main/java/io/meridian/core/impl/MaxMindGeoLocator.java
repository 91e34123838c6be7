package io.meridian.core.impl;

import com.maxmind.db.CHMCache;
import com.maxmind.db.DatabaseRecord;
import com.maxmind.db.MaxMindDbConstructor;
import com.maxmind.db.MaxMindDbParameter;
import com.maxmind.db.Reader;
import io.meridian.config.GeoConfig;
import io.meridian.core.geo.ClientLocation;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.geo.NetsTable;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link GeoLocator} over a memory-mapped MaxMind DB. A replaced file is detected by modification time and
 * size, opened on a worker thread and swapped in atomically: lookups in flight finish on the old reader
 * (the mapping stays valid until it is garbage), new ones use the new reader, none is dropped.
 */
public final class MaxMindGeoLocator implements GeoLocator {
  private static final Logger LOG = LoggerFactory.getLogger(MaxMindGeoLocator.class);

  /** Rough continent centres, for Country databases that carry no coordinates. */
  private static final java.util.Map<String, double[]> CONTINENT_CENTRES = java.util.Map.of(
      "AF", new double[] {2, 21}, "AN", new double[] {-80, 0}, "AS", new double[] {30, 95},
      "EU", new double[] {50, 10}, "NA", new double[] {40, -95}, "OC", new double[] {-25, 140},
      "SA", new double[] {-15, -60});

  private final Vertx vertx;
  private volatile NetsTable nets;
  private final AtomicReference<Loaded> db = new AtomicReference<>();
  private final AtomicLong loads = new AtomicLong();
  private final AtomicLong version = new AtomicLong();
  private volatile Path path;
  private long timerId = -1;

  private record Loaded(Reader reader, Path path, FileTime modified, long size) {}

  private MaxMindGeoLocator(Vertx vertx) {
    this.vertx = vertx;
  }

  public static MaxMindGeoLocator open(Vertx vertx, GeoConfig config) {
    MaxMindGeoLocator l = new MaxMindGeoLocator(vertx);
    l.nets = NetsTable.of(config.nets());
    l.path = config.database();
    if (l.path != null) {
      l.reloadIfChanged(); // first load is synchronous: a missing database is reported at start-up
      if (vertx != null) {
        l.timerId = vertx.setPeriodic(config.reloadCheckInterval().toMillis(),
            id -> vertx.executeBlocking(() -> {
              l.reloadIfChanged();
              return null;
            }, false));
      }
    }
    return l;
  }

  /** Reloads the database when the file changed. Blocking: call from a worker. */
  public synchronized void reloadIfChanged() {
    Path p = path;
    if (p == null) {
      return;
    }
    try {
      FileTime modified = Files.getLastModifiedTime(p);
      long size = Files.size(p);
      Loaded cur = db.get();
      if (cur != null && cur.path.equals(p) && cur.modified.equals(modified) && cur.size == size) {
        return;
      }
      Reader reader = new Reader(p.toFile(), Reader.FileMode.MEMORY_MAPPED, new CHMCache());
      db.set(new Loaded(reader, p, modified, size));
      loads.incrementAndGet();
      version.incrementAndGet();
      LOG.info("GeoIP database loaded: {} ({}, built {})", p, reader.getMetadata().getDatabaseType(),
          reader.getMetadata().getBuildDate());
    } catch (IOException | RuntimeException e) {
      LOG.error("GeoIP database {} could not be loaded; {}", p,
          db.get() == null ? "locating by nets overrides only" : "keeping the previous one", e);
    }
  }

  @Override
  public ClientLocation locate(InetAddress address) {
    return locate(address.getAddress());
  }

  @Override
  public ClientLocation locate(byte[] address) {
    ClientLocation o = nets.find(address);
    if (o != null) {
      return o;
    }
    Loaded l = db.get();
    if (l == null) {
      return null;
    }
    try {
      DatabaseRecord<GeoRecord> rec = l.reader.getRecord(InetAddress.getByAddress(address), GeoRecord.class);
      GeoRecord g = rec.getData();
      if (g == null) {
        return null;
      }
      int prefix = rec.getNetwork().getPrefixLength();
      String country = g.country == null ? null : g.country.isoCode;
      String continent = g.continent == null ? null : g.continent.code;
      if (g.location != null && g.location.latitude != null && g.location.longitude != null) {
        return ClientLocation.of(g.location.latitude, g.location.longitude, country, continent, prefix,
            ClientLocation.Source.GEOIP);
      }
      double[] c = continent == null ? null : CONTINENT_CENTRES.get(continent);
      return c == null ? null : ClientLocation.of(c[0], c[1], country, continent, prefix, ClientLocation.Source.GEOIP);
    } catch (IOException e) {
      return null; // a corrupt region of the file must not fail the query: treat as unknown
    }
  }

  @Override
  public void reconfigure(GeoConfig config) {
    nets = NetsTable.of(config.nets());
    version.incrementAndGet();
    if (config.database() != null && !config.database().equals(path)) {
      path = config.database();
      vertx.executeBlocking(() -> {
        reloadIfChanged();
        return null;
      }, false);
    }
  }

  @Override
  public String databaseInfo() {
    Loaded l = db.get();
    return l == null ? "none" : l.path + " (" + l.reader.getMetadata().getDatabaseType() + ")";
  }

  @Override
  public long databaseLoads() {
    return loads.get();
  }

  @Override
  public long version() {
    return version.get();
  }

  /** Ranges an IPv6 database aliases to its IPv4 tree (libmaxminddb and MaxMind's writers alias these). */
  private static final int[][] ALIASED_V6 = {{0, 0, 0, 96}, {0, 0xffff, 5, 96}, {0x2001, 0, 0, 32}, {0x2002, 0, 0, 16}};

  @Override
  public void forEachNetwork(int addressBytes, NetworkVisitor visitor) {
    nets.forEach(addressBytes, visitor);
    if (addressBytes == 16) {
      for (int[] alias : ALIASED_V6) {
        // built by hand: InetAddress turns ::ffff:a.b.c.d into a 4-byte address
        byte[] a = new byte[16];
        a[0] = (byte) (alias[0] >>> 8);
        a[1] = (byte) alias[0];
        a[2 * alias[2]] = (byte) (alias[1] >>> 8);
        a[2 * alias[2] + 1] = (byte) alias[1];
        visitor.network(a, alias[3], false);
      }
    }
    Loaded l = db.get();
    if (l == null) {
      return;
    }
    // the reader's iteration skips the aliases and returns the ::/96 subtree as IPv4 networks
    try {
      com.maxmind.db.Networks<GeoRecord> it = l.reader.networks(GeoRecord.class);
      while (it.hasNext()) {
        com.maxmind.db.Network n = it.next().getNetwork();
        byte[] a = n.getNetworkAddress().getAddress();
        if (a.length == addressBytes) {
          visitor.network(a, n.getPrefixLength(), true);
        }
      }
    } catch (IOException | com.maxmind.db.InvalidNetworkException e) {
      throw new IllegalStateException("GeoIP database " + l.path + " could not be walked", e);
    }
  }

  @Override
  public void close() {
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
  }

  /** The few fields Meridian reads from City/Country records; everything else is skipped while decoding. */
  public static final class GeoRecord {
    final Location location;
    final Country country;
    final Continent continent;

    @MaxMindDbConstructor
    public GeoRecord(@MaxMindDbParameter(name = "location") Location location,
        @MaxMindDbParameter(name = "country") Country country,
        @MaxMindDbParameter(name = "continent") Continent continent) {
      this.location = location;
      this.country = country;
      this.continent = continent;
    }
  }

  /** {@code location} of a City record. */
  public static final class Location {
    final Double latitude;
    final Double longitude;

    @MaxMindDbConstructor
    public Location(@MaxMindDbParameter(name = "latitude") Double latitude,
        @MaxMindDbParameter(name = "longitude") Double longitude) {
      this.latitude = latitude;
      this.longitude = longitude;
    }
  }

  /** {@code country}. */
  public static final class Country {
    final String isoCode;

    @MaxMindDbConstructor
    public Country(@MaxMindDbParameter(name = "iso_code") String isoCode) {
      this.isoCode = isoCode;
    }
  }

  /** {@code continent}. */
  public static final class Continent {
    final String code;

    @MaxMindDbConstructor
    public Continent(@MaxMindDbParameter(name = "code") String code) {
      this.code = code;
    }
  }
}
