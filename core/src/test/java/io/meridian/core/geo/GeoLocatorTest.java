package io.meridian.core.geo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.meridian.config.GeoConfig;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Lookups against MaxMind DB files this test writes itself with {@link MmdbWriter}. */
class GeoLocatorTest {
  @TempDir
  Path dir;
  Vertx vertx;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await();
  }

  static Map<String, Object> city(String name, String country, String continent, double lat, double lon) {
    return Map.of("city", Map.of("names", Map.of("en", name)), "country", Map.of("iso_code", country),
        "continent", Map.of("code", continent), "location", Map.of("latitude", lat, "longitude", lon));
  }

  static byte[] ip(String s) throws Exception {
    return InetAddress.getByName(s).getAddress();
  }

  @Test
  void cityDatabaseLocatesV4AndV6WithTheNetworkPrefix() throws Exception {
    Path db = dir.resolve("city.mmdb");
    MmdbWriter.create("GeoIP2-City")
        .insert("81.2.69.0/24", city("London", "GB", "EU", 51.5, -0.13))
        .insert("2a02:c7f::/32", city("Frankfurt", "DE", "EU", 50.11, 8.68))
        .insert("8.8.0.0/16", city("Mountain View", "US", "NA", 37.4, -122.1))
        .write(db);
    GeoLocator geo = GeoLocator.open(vertx, new GeoConfig(db, Duration.ofSeconds(5), List.of()));

    ClientLocation london = geo.locate(ip("81.2.69.160"));
    assertEquals("GB", london.country());
    assertEquals("EU", london.continent());
    assertEquals(51.5, london.latitude());
    assertEquals(24, london.networkPrefix(), "prefix of the database network, for the ECS scope");
    assertEquals(ClientLocation.Source.GEOIP, london.source());
    assertEquals(Zones.indexOf(51.5, -0.13), london.zone());

    ClientLocation fra = geo.locate(ip("2a02:c7f:1234::1"));
    assertEquals("DE", fra.country());
    assertEquals(32, fra.networkPrefix());
    assertEquals(16, geo.locate(ip("8.8.4.4")).networkPrefix());
    assertNull(geo.locate(ip("192.0.2.1")), "not in the database");
    geo.close();
  }

  @Test
  void netsOverridesWinAndLongestPrefixWins() throws Exception {
    Path db = dir.resolve("city.mmdb");
    MmdbWriter.create("GeoIP2-City").insert("10.0.0.0/8", city("Nowhere", "US", "NA", 40, -100)).write(db);
    GeoLocator geo = GeoLocator.open(vertx, new GeoConfig(db, Duration.ofSeconds(5), List.of(
        new GeoConfig.NetOverride("10.1.0.0/16", 50.1, 8.7, "DE", "EU"),
        new GeoConfig.NetOverride("10.1.2.0/24", 19.1, 72.9, "IN", "AS"))));
    assertEquals("IN", geo.locate(ip("10.1.2.3")).country());
    assertEquals(ClientLocation.Source.NETS_OVERRIDE, geo.locate(ip("10.1.2.3")).source());
    assertEquals("DE", geo.locate(ip("10.1.9.9")).country());
    assertEquals(16, geo.locate(ip("10.1.9.9")).networkPrefix());
    assertEquals("US", geo.locate(ip("10.9.9.9")).country(), "outside the overrides: the database");
    geo.close();
  }

  @Test
  void countryDatabaseWithoutCoordinatesPlacesClientsAtTheirContinent() throws Exception {
    Path db = dir.resolve("country.mmdb");
    MmdbWriter.create("GeoIP2-Country")
        .insert("81.2.69.0/24", Map.of("country", Map.of("iso_code", "GB"), "continent", Map.of("code", "EU")))
        .write(db);
    GeoLocator geo = GeoLocator.open(vertx, new GeoConfig(db, Duration.ofSeconds(5), List.of()));
    ClientLocation l = geo.locate(ip("81.2.69.1"));
    assertEquals("GB", l.country());
    assertEquals(50, l.latitude());
    geo.close();
  }

  @Test
  void replacedDatabaseFileIsReloaded() throws Exception {
    Path db = dir.resolve("city.mmdb");
    MmdbWriter.create("GeoIP2-City").insert("81.2.69.0/24", city("London", "GB", "EU", 51.5, -0.13)).write(db);
    GeoLocator geo = GeoLocator.open(vertx, new GeoConfig(db, Duration.ofMillis(100), List.of()));
    assertEquals("GB", geo.locate(ip("81.2.69.1")).country());
    long loads = geo.databaseLoads();

    MmdbWriter.create("GeoIP2-City").insert("81.2.69.0/24", city("Paris", "FR", "EU", 48.86, 2.35)).write(db);
    // make sure the replacement is visible as a change even on coarse-mtime filesystems
    Files.setLastModifiedTime(db, FileTime.from(Instant.now().plusSeconds(5)));
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (geo.databaseLoads() == loads && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertEquals(loads + 1, geo.databaseLoads(), "reloaded once");
    assertEquals("FR", geo.locate(ip("81.2.69.1")).country());
    geo.close();
  }
}
