package io.meridian.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where clients are: an optional MaxMind GeoIP2/GeoLite2 City or Country database, and {@code nets}
 * overrides that pin CIDRs to a location (private networks, tests, the demo). Overrides win.
 *
 * @param database             path to the .mmdb file, or null for overrides only
 * @param reloadCheckInterval  how often the database file is checked for replacement
 * @param nets                 CIDR → location overrides
 */
public record GeoConfig(Path database, Duration reloadCheckInterval, List<NetOverride> nets) {

  /** A CIDR pinned to a location. Country is ISO 3166-1 alpha-2, continent a two-letter code (EU, NA, AS...). */
  public record NetOverride(String cidr, double latitude, double longitude, String country, String continent) {}

  private static final Pattern CIDR = Pattern.compile("[0-9a-fA-F:.]+/\\d{1,3}");
  private static final Pattern COUNTRY = Pattern.compile("[A-Z]{2}");
  private static final Pattern CONTINENT = Pattern.compile("AF|AN|AS|EU|NA|OC|SA");

  public static GeoConfig defaults() {
    return new GeoConfig(null, Duration.ofSeconds(5), List.of());
  }

  static GeoConfig parse(ConfigNode n, Path baseDir) {
    n.rejectUnknownKeys(Set.of("database", "reload_check_interval", "nets"));
    String db = n.string("database", null);
    Duration every = n.duration("reload_check_interval", Duration.ofSeconds(5), Duration.ofMillis(100));
    List<NetOverride> nets = n.list("nets", e -> {
      e.rejectUnknownKeys(Set.of("cidr", "latitude", "longitude", "country", "continent"));
      String cidr = e.requiredString("cidr");
      if (cidr != null && !validCidr(cidr)) {
        e.problem("cidr", "must be a CIDR like 198.51.100.0/24 or 2001:db8::/32, got '" + cidr + "'");
        cidr = null;
      }
      double lat = e.requiredNumber("latitude", -90, 90);
      double lon = e.requiredNumber("longitude", -180, 180);
      String country = e.string("country", null, COUNTRY, "an ISO 3166-1 alpha-2 code like DE");
      String continent = e.string("continent", null, CONTINENT, "one of AF AN AS EU NA OC SA");
      if (cidr == null || Double.isNaN(lat) || Double.isNaN(lon)) {
        return null;
      }
      return new NetOverride(cidr, lat, lon, country, continent);
    });
    Path dbPath = db == null ? null : baseDir.resolve(db);
    return new GeoConfig(dbPath, every, nets);
  }

  static boolean validCidr(String cidr) {
    if (!CIDR.matcher(cidr).matches()) {
      return false;
    }
    int slash = cidr.indexOf('/');
    String addr = cidr.substring(0, slash);
    int len = Integer.parseInt(cidr.substring(slash + 1));
    boolean v6 = addr.contains(":");
    if (len > (v6 ? 128 : 32)) {
      return false;
    }
    try {
      java.net.InetAddress.getByName(addr); // a literal: no lookup happens
      return true;
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }
}
