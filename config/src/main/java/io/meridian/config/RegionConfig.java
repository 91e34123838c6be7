package io.meridian.config;

import java.net.URI;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One serving region: where it is, how much it can take, what DNS answers and which upstreams lead to it.
 *
 * @param id              stable identifier, {@code [a-z0-9][a-z0-9-]*}, e.g. {@code eu-west}
 * @param latitude        degrees, -90..90
 * @param longitude       degrees, -180..180
 * @param capacityRps     requests/s the region can serve at 100 % (the controller keeps it below headroom)
 * @param residencyGroup  data-residency group (e.g. {@code eu}); users homed here never leave the group
 * @param dnsA            IPv4 addresses GeoDNS answers for this region
 * @param dnsAaaa         IPv6 addresses GeoDNS answers for this region
 * @param upstreams       base URLs of the region's application endpoints for the proxy
 * @param healthCheckUrl  the first HTTP(S) endpoint the health checker probes (null when it probes only TCP/DNS)
 * @param healthChecks    every endpoint the health checker probes in this region ({@code health_check.url} and
 *                        {@code health_check.endpoints}); region health is the fraction of these passing
 */
public record RegionConfig(String id, double latitude, double longitude, double capacityRps,
    String residencyGroup, List<String> dnsA, List<String> dnsAaaa, List<URI> upstreams, URI healthCheckUrl,
    List<HealthCheckConfig.Endpoint> healthChecks) {

  public RegionConfig {
    healthChecks = List.copyOf(healthChecks);
  }

  /** A region with one HTTP GET health check at {@code healthCheckUrl} (the walking skeleton's shape). */
  public RegionConfig(String id, double latitude, double longitude, double capacityRps, String residencyGroup,
      List<String> dnsA, List<String> dnsAaaa, List<URI> upstreams, URI healthCheckUrl) {
    this(id, latitude, longitude, capacityRps, residencyGroup, dnsA, dnsAaaa, upstreams, healthCheckUrl,
        healthCheckUrl == null ? List.of() : List.of(HealthCheckConfig.Endpoint.http(healthCheckUrl)));
  }

  static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  private static final Pattern IPV4 = Pattern.compile(
      "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");

  static RegionConfig parse(ConfigNode n) {
    n.rejectUnknownKeys(Set.of("id", "latitude", "longitude", "capacity_rps", "residency_group", "dns",
        "upstreams", "health_check"));
    String id = n.requiredString("id");
    if (id != null && !ID.matcher(id).matches()) {
      n.problem("id", "must be lowercase letters, digits and '-' (e.g. eu-west), got '" + id + "'");
    }
    double lat = n.requiredNumber("latitude", -90, 90);
    double lon = n.requiredNumber("longitude", -180, 180);
    double cap = n.requiredNumber("capacity_rps", Double.MIN_VALUE, Double.MAX_VALUE);
    String group = n.string("residency_group", "global", ID, "lowercase letters, digits and '-'");

    ConfigNode dns = n.child("dns");
    dns.rejectUnknownKeys(Set.of("a", "aaaa"));
    List<String> a = dns.stringList("a");
    for (int i = 0; i < a.size(); i++) {
      if (!IPV4.matcher(a.get(i)).matches()) {
        dns.child("a").problem("must be IPv4 addresses, got '" + a.get(i) + "'");
      }
    }
    List<String> aaaa = dns.stringList("aaaa");
    for (String s : aaaa) {
      if (!s.contains(":") || !isInetLiteral(s)) {
        dns.child("aaaa").problem("must be IPv6 addresses, got '" + s + "'");
      }
    }
    List<URI> upstreams = n.list("upstreams", e -> httpUrl(e, e.asString(null)));
    ConfigNode hc = n.child("health_check");
    List<HealthCheckConfig.Endpoint> checks = List.of();
    URI healthUrl = null;
    if (!hc.isPresent()) {
      n.problem("health_check", "is required (health_check.url: the URL the checker probes)");
    } else {
      checks = HealthCheckConfig.parseRegionChecks(hc);
      healthUrl = checks.stream().filter(c -> c.kind() == HealthCheckConfig.ProbeKind.HTTP)
          .map(HealthCheckConfig.Endpoint::url).findFirst().orElse(null);
    }
    if (id == null || Double.isNaN(lat) || Double.isNaN(lon) || Double.isNaN(cap)) {
      return null;
    }
    return new RegionConfig(id, lat, lon, cap, group, List.copyOf(a), List.copyOf(aaaa), upstreams, healthUrl,
        checks);
  }

  private static boolean isInetLiteral(String s) {
    try {
      return java.net.InetAddress.getByName(s) != null; // literal only: contains ':' so no DNS lookup
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  static URI httpUrl(ConfigNode at, String s) {
    if (s == null) {
      at.problem("must be a URL like http://10.0.0.1:8080");
      return null;
    }
    try {
      URI u = new URI(s);
      if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
        at.problem("must be an http:// or https:// URL with a host, got '" + s + "'");
        return null;
      }
      return u;
    } catch (java.net.URISyntaxException e) {
      at.problem("must be a URL like http://10.0.0.1:8080, got '" + s + "'");
      return null;
    }
  }

  /** Port of a URL, defaulting by scheme. */
  public static int portOf(URI u) {
    return u.getPort() > 0 ? u.getPort() : "https".equals(u.getScheme()) ? 443 : 80;
  }
}
