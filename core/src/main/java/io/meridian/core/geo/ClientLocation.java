package io.meridian.core.geo;

/**
 * Where a client is, as far as we can tell.
 *
 * @param latitude       degrees
 * @param longitude      degrees
 * @param country        ISO 3166-1 alpha-2, or null
 * @param continent      two-letter continent code (EU, NA, AS, ...), or null
 * @param zone           client zone index ({@link Zones})
 * @param networkPrefix  prefix length of the database network or override that contained the address; lets
 *                       GeoDNS return an ECS scope as wide as the data allows (RFC 7871 §7.2.1)
 * @param source         what located it
 */
public record ClientLocation(double latitude, double longitude, String country, String continent, int zone,
    int networkPrefix, Source source) {

  /** What produced a location. */
  public enum Source { NETS_OVERRIDE, GEOIP }

  public static ClientLocation of(double latitude, double longitude, String country, String continent,
      int networkPrefix, Source source) {
    return new ClientLocation(latitude, longitude, country, continent, Zones.indexOf(latitude, longitude),
        networkPrefix, source);
  }
}
