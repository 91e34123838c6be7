package io.meridian.core.geo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * A deterministic, City-shaped GeoIP database for benchmarks and tests: {@code n} IPv4 /24 networks plus
 * {@code n / 8} IPv6 /48 networks, each assigned to one of ~40 cities on every inhabited continent. Records follow
 * the GeoIP2 City layout ({@code city.names.en}, {@code country.iso_code}, {@code continent.code},
 * {@code location.latitude/longitude/accuracy_radius/time_zone}, ...) with the value types the GeoIP2 models
 * expect, so any reader of real City databases reads these.
 *
 * <p>The same {@code (networks, seed)} gives the same networks and a byte-identical file (fixed build epoch).
 * IPv4 networks avoid private, loopback, shared, documentation, benchmark and multicast ranges; IPv6 networks are
 * drawn from 2400::/6 minus 2002::/16. No geoname ids: this is not GeoNames data.
 *
 * <p>Command line: {@code SyntheticGeoDb OUTPUT.mmdb [COUNT=10000] [SEED=1] [NETWORKS.csv]}; the optional CSV lists
 * {@code cidr,country,continent,city,latitude,longitude} so scripts can pick client subnets.
 */
public final class SyntheticGeoDb {
  /** Fixed metadata build_epoch (2025-01-01T00:00:00Z), so output depends only on count and seed. */
  public static final long BUILD_EPOCH = 1_735_689_600L;
  public static final String DATABASE_TYPE = "Meridian-Synthetic-City";

  /** One generated network and where the database places it. */
  public record Entry(String cidr, String countryIso, String continentCode, String city, double latitude,
      double longitude) {}

  private record City(String name, String iso, String country, String continent, double lat, double lon,
      String timeZone) {}

  private static final List<City> CITIES = List.of(
      new City("New York", "US", "United States", "NA", 40.71, -74.01, "America/New_York"),
      new City("Ashburn", "US", "United States", "NA", 39.04, -77.49, "America/New_York"),
      new City("Chicago", "US", "United States", "NA", 41.88, -87.63, "America/Chicago"),
      new City("Dallas", "US", "United States", "NA", 32.78, -96.80, "America/Chicago"),
      new City("Los Angeles", "US", "United States", "NA", 34.05, -118.24, "America/Los_Angeles"),
      new City("Seattle", "US", "United States", "NA", 47.61, -122.33, "America/Los_Angeles"),
      new City("Toronto", "CA", "Canada", "NA", 43.65, -79.38, "America/Toronto"),
      new City("Montreal", "CA", "Canada", "NA", 45.50, -73.57, "America/Toronto"),
      new City("Mexico City", "MX", "Mexico", "NA", 19.43, -99.13, "America/Mexico_City"),
      new City("São Paulo", "BR", "Brazil", "SA", -23.55, -46.63, "America/Sao_Paulo"),
      new City("Rio de Janeiro", "BR", "Brazil", "SA", -22.91, -43.17, "America/Sao_Paulo"),
      new City("Buenos Aires", "AR", "Argentina", "SA", -34.60, -58.38, "America/Argentina/Buenos_Aires"),
      new City("Santiago", "CL", "Chile", "SA", -33.45, -70.67, "America/Santiago"),
      new City("Bogotá", "CO", "Colombia", "SA", 4.71, -74.07, "America/Bogota"),
      new City("Lima", "PE", "Peru", "SA", -12.05, -77.04, "America/Lima"),
      new City("Frankfurt", "DE", "Germany", "EU", 50.11, 8.68, "Europe/Berlin"),
      new City("Berlin", "DE", "Germany", "EU", 52.52, 13.40, "Europe/Berlin"),
      new City("London", "GB", "United Kingdom", "EU", 51.51, -0.13, "Europe/London"),
      new City("Paris", "FR", "France", "EU", 48.86, 2.35, "Europe/Paris"),
      new City("Amsterdam", "NL", "Netherlands", "EU", 52.37, 4.90, "Europe/Amsterdam"),
      new City("Madrid", "ES", "Spain", "EU", 40.42, -3.70, "Europe/Madrid"),
      new City("Milan", "IT", "Italy", "EU", 45.46, 9.19, "Europe/Rome"),
      new City("Stockholm", "SE", "Sweden", "EU", 59.33, 18.07, "Europe/Stockholm"),
      new City("Warsaw", "PL", "Poland", "EU", 52.23, 21.01, "Europe/Warsaw"),
      new City("Dublin", "IE", "Ireland", "EU", 53.35, -6.26, "Europe/Dublin"),
      new City("Zurich", "CH", "Switzerland", "EU", 47.37, 8.54, "Europe/Zurich"),
      new City("Mumbai", "IN", "India", "AS", 19.08, 72.88, "Asia/Kolkata"),
      new City("Bangalore", "IN", "India", "AS", 12.97, 77.59, "Asia/Kolkata"),
      new City("Singapore", "SG", "Singapore", "AS", 1.35, 103.82, "Asia/Singapore"),
      new City("Tokyo", "JP", "Japan", "AS", 35.68, 139.69, "Asia/Tokyo"),
      new City("Osaka", "JP", "Japan", "AS", 34.69, 135.50, "Asia/Tokyo"),
      new City("Seoul", "KR", "South Korea", "AS", 37.57, 126.98, "Asia/Seoul"),
      new City("Hong Kong", "HK", "Hong Kong", "AS", 22.32, 114.17, "Asia/Hong_Kong"),
      new City("Jakarta", "ID", "Indonesia", "AS", -6.21, 106.85, "Asia/Jakarta"),
      new City("Dubai", "AE", "United Arab Emirates", "AS", 25.20, 55.27, "Asia/Dubai"),
      new City("Tel Aviv", "IL", "Israel", "AS", 32.09, 34.78, "Asia/Jerusalem"),
      new City("Sydney", "AU", "Australia", "OC", -33.87, 151.21, "Australia/Sydney"),
      new City("Melbourne", "AU", "Australia", "OC", -37.81, 144.96, "Australia/Melbourne"),
      new City("Auckland", "NZ", "New Zealand", "OC", -36.85, 174.76, "Pacific/Auckland"),
      new City("Johannesburg", "ZA", "South Africa", "AF", -26.20, 28.05, "Africa/Johannesburg"),
      new City("Cape Town", "ZA", "South Africa", "AF", -33.92, 18.42, "Africa/Johannesburg"),
      new City("Lagos", "NG", "Nigeria", "AF", 6.52, 3.38, "Africa/Lagos"),
      new City("Nairobi", "KE", "Kenya", "AF", -1.29, 36.82, "Africa/Nairobi"),
      new City("Cairo", "EG", "Egypt", "AF", 30.04, 31.24, "Africa/Cairo"));

  private static final Map<String, String> CONTINENTS = Map.of("AF", "Africa", "AS", "Asia", "EU", "Europe",
      "NA", "North America", "OC", "Oceania", "SA", "South America");

  /** GeoIP-like accuracy radii (km); varying them makes records distinct, as in a real City database. */
  private static final int[] ACCURACY_KM = {5, 10, 20, 50, 100, 200, 500, 1000};

  /** Upper bound on IPv4 /24s, well below the ~14 M eligible ones so sampling stays fast. */
  public static final int MAX_NETWORKS = 4_000_000;

  private SyntheticGeoDb() {}

  /** Generates the database into {@code file} (atomically) and returns its networks, IPv4 first. */
  public static List<Entry> writeCityDb(Path file, int networks, long seed) throws IOException {
    List<Entry> entries = networks(networks, seed);
    writer(entries, seed).write(file);
    return entries;
  }

  /** The database bytes, for tests that do not need a file. */
  public static byte[] cityDbBytes(int networks, long seed) {
    return writer(networks(networks, seed), seed).toBytes();
  }

  /** The networks {@link #writeCityDb} would write, without writing anything. */
  public static List<Entry> networks(int networks, long seed) {
    if (networks < 0 || networks > MAX_NETWORKS) {
      throw new IllegalArgumentException("networks must be 0.." + MAX_NETWORKS + ", not " + networks);
    }
    Random random = new Random(seed);
    List<Entry> entries = new ArrayList<>(networks + networks / 8);
    BitSet used = new BitSet(1 << 24); // by /24 index: the top 24 bits of the address
    while (entries.size() < networks) {
      int slash24 = random.nextInt(1 << 24);
      if (used.get(slash24) || reserved(slash24)) {
        continue;
      }
      used.set(slash24);
      String cidr = (slash24 >>> 16) + "." + (slash24 >>> 8 & 0xFF) + "." + (slash24 & 0xFF) + ".0/24";
      entries.add(entry(cidr, CITIES.get(random.nextInt(CITIES.size()))));
    }
    Set<Long> used6 = new HashSet<>();
    while (entries.size() < networks + networks / 8) {
      long top16 = 0x2400 + random.nextInt(0x0800); // 2400::/6 (the registries' allocations)
      long slash48 = top16 << 32 | (random.nextInt() & 0xFFFFFFFFL);
      if (top16 == 0x2002 || !used6.add(slash48)) {
        continue;
      }
      String cidr = String.format("%x:%x:%x::/48", top16, slash48 >>> 16 & 0xFFFF, slash48 & 0xFFFF);
      entries.add(entry(cidr, CITIES.get(random.nextInt(CITIES.size()))));
    }
    return entries;
  }

  /**
   * GeoLite-shaped networks covering every address of {@code base} (an IPv4 block of /8 to /16): the block is cut
   * into aligned allocations of /16 to /24, each held by one country; most allocations continue the country of
   * the one before (as registries hand out neighbouring blocks in one region), some go to another country of the
   * same continent or anywhere. An allocation is one network or is split into halves, down to /24, that keep its
   * main city, take another city of its country, or (rarely) belong elsewhere. So neighbouring networks often
   * share a city, a country or a continent without being one network, as in real City databases, which is what
   * ECS scope merging works on. Deterministic for a given {@code (base, seed)}; no address of {@code base} is
   * left unlocated.
   */
  public static List<Entry> clusteredNetworks(String base, long seed) {
    return clusteredNetworks(base, seed, 0);
  }

  /**
   * As {@link #clusteredNetworks(String, long)}, but each allocation is left out (unlocated space, as the
   * unallocated or unknown blocks of a real database) with probability {@code holes}; 0 gives the same networks
   * as the two-argument form.
   */
  public static List<Entry> clusteredNetworks(String base, long seed, double holes) {
    if (!(holes >= 0 && holes < 1)) {
      throw new IllegalArgumentException("holes must be in [0, 1), not " + holes);
    }
    int slash = base.indexOf('/');
    int prefix = Integer.parseInt(base.substring(slash + 1));
    if (prefix < 8 || prefix > 16) {
      throw new IllegalArgumentException("base must be an IPv4 /8 to /16, not " + base);
    }
    String[] o = base.substring(0, slash).split("\\.");
    int first = (Integer.parseInt(o[0]) << 16 | Integer.parseInt(o[1]) << 8 | Integer.parseInt(o[2]))
        & (-1 << (24 - prefix)); // in /24 units
    int count = 1 << (24 - prefix);
    Random random = new Random(seed);
    List<String> countries = CITIES.stream().map(City::iso).distinct().toList();
    List<Entry> out = new ArrayList<>();
    String country = countries.get(random.nextInt(countries.size()));
    for (int i = 0; i < count; ) {
      int align = Integer.numberOfTrailingZeros(i | 1 << 8); // at most a /16 (256 /24s)
      while (i + (1 << align) > count) {
        align--;
      }
      int bits = Math.min(align, random.nextInt(9)); // allocation of 2^bits /24s: /24 .. /16
      double d = random.nextDouble();
      if (d >= 0.75) {
        String continent = citiesOf(country).get(0).continent();
        List<String> pool = d < 0.9
            ? countries.stream().filter(c -> citiesOf(c).get(0).continent().equals(continent)).toList()
            : countries;
        country = pool.get(random.nextInt(pool.size()));
      }
      List<City> own = citiesOf(country);
      City main = own.get(random.nextInt(own.size()));
      if (holes == 0 || random.nextDouble() >= holes) { // with no holes, the same draws as before
        split(out, first + i, bits, country, main, random);
      }
      i += 1 << bits;
    }
    return out;
  }

  private static List<City> citiesOf(String iso) {
    return CITIES.stream().filter(c -> c.iso().equals(iso)).toList();
  }

  /** Block of 2^bits /24s: one network (half the time, and always at /24), or two halves split again. */
  private static void split(List<Entry> out, int slash24, int bits, String country, City main, Random random) {
    if (bits == 0 || random.nextDouble() < 0.5) {
      String cidr = (slash24 >>> 16) + "." + (slash24 >>> 8 & 0xFF) + "." + (slash24 & 0xFF) + ".0/" + (24 - bits);
      out.add(entry(cidr, main));
      return;
    }
    for (int half = 0; half < 2; half++) {
      double d = random.nextDouble();
      City city = main;
      String owner = country;
      if (d < 0.05) { // a block of another country inside the allocation (a customer, an anycast network)
        city = CITIES.get(random.nextInt(CITIES.size()));
        owner = city.iso();
      } else if (d < 0.25) { // another city of the same country
        List<City> own = citiesOf(country);
        city = own.get(random.nextInt(own.size()));
      }
      split(out, slash24 + half * (1 << (bits - 1)), bits - 1, owner, city, random);
    }
  }

  /** Writes {@code entries} (from {@link #networks} or {@link #clusteredNetworks}) as a City database. */
  public static void write(Path file, List<Entry> entries, long seed) throws IOException {
    writer(entries, seed).write(file);
  }

  private static Entry entry(String cidr, City c) {
    return new Entry(cidr, c.iso(), c.continent(), c.name(), c.lat(), c.lon());
  }

  /** Ranges no GeoIP database locates (RFC 6890 special-purpose, multicast and reserved). */
  private static boolean reserved(int slash24) {
    int a = slash24 >>> 16;
    int b = slash24 >>> 8 & 0xFF;
    int c = slash24 & 0xFF;
    return a == 0 || a == 10 || a == 127 || a >= 224
        || a == 100 && b >= 64 && b < 128      // 100.64.0.0/10 shared address space
        || a == 169 && b == 254                // link local
        || a == 172 && b >= 16 && b < 32       // private
        || a == 192 && b == 168                // private
        || a == 192 && b == 0 && (c == 0 || c == 2) // IETF protocol assignments, TEST-NET-1
        || a == 198 && (b == 18 || b == 19)    // benchmarking
        || a == 198 && b == 51 && c == 100     // TEST-NET-2
        || a == 203 && b == 0 && c == 113;     // TEST-NET-3
  }

  private static MmdbWriter writer(List<Entry> entries, long seed) {
    MmdbWriter w = MmdbWriter.create(DATABASE_TYPE)
        .languages("en")
        .description("en", "Meridian synthetic City database (" + entries.size() + " networks, seed " + seed + ")")
        .buildEpoch(BUILD_EPOCH);
    Map<String, City> byName = new LinkedHashMap<>();
    CITIES.forEach(c -> byName.put(c.name(), c));
    // The radius comes from its own stream so the network list does not depend on it.
    Random radius = new Random(seed ^ 0x5DEECE66DL);
    for (Entry e : entries) {
      w.insert(e.cidr(), record(byName.get(e.city()), ACCURACY_KM[radius.nextInt(ACCURACY_KM.length)]));
    }
    return w;
  }

  /** A GeoIP2 City record (https://dev.maxmind.com/geoip/docs/databases/city-and-country) for one city. */
  private static Map<String, Object> record(City c, int accuracyKm) {
    Map<String, Object> country = Map.of("iso_code", c.iso(), "names", Map.of("en", c.country()));
    Map<String, Object> rec = new LinkedHashMap<>();
    rec.put("city", Map.of("names", Map.of("en", c.name())));
    rec.put("continent", Map.of("code", c.continent(), "names", Map.of("en", CONTINENTS.get(c.continent()))));
    rec.put("country", country);
    rec.put("registered_country", country);
    rec.put("location", Map.of(
        "accuracy_radius", MmdbWriter.uint16(accuracyKm),
        "latitude", c.lat(),
        "longitude", c.lon(),
        "time_zone", c.timeZone()));
    return rec;
  }

  /** {@code SyntheticGeoDb OUTPUT.mmdb [COUNT=10000] [SEED=1] [NETWORKS.csv]}. */
  public static void main(String[] args) throws IOException {
    if (args.length < 1 || args.length > 4) {
      System.err.println("usage: SyntheticGeoDb OUTPUT.mmdb [COUNT=10000] [SEED=1] [NETWORKS.csv]");
      System.exit(2);
    }
    Path out = Path.of(args[0]);
    int count = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    long seed = args.length > 2 ? Long.parseLong(args[2]) : 1L;
    long start = System.nanoTime();
    List<Entry> entries = writeCityDb(out, count, seed);
    if (args.length > 3) {
      List<String> lines = new ArrayList<>(entries.size() + 1);
      lines.add("cidr,country,continent,city,latitude,longitude");
      for (Entry e : entries) {
        lines.add(e.cidr() + "," + e.countryIso() + "," + e.continentCode() + "," + e.city() + "," + e.latitude()
            + "," + e.longitude());
      }
      Files.write(Path.of(args[3]), lines, StandardCharsets.UTF_8);
    }
    System.out.printf("wrote %s: %d networks (%d IPv4 /24, %d IPv6 /48), %d bytes, seed %d, %d ms%n", out,
        entries.size(), count, entries.size() - count, Files.size(out), seed, (System.nanoTime() - start) / 1_000_000);
  }
}
