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
 * @param upstreams       base URLs of the region's application endpoints for the proxy: its service
 *                        {@value #DEFAULT_SERVICE} (empty when the region has only named {@code services})
 * @param healthCheckUrl  the first HTTP(S) endpoint the health checker probes (null when it probes only TCP/DNS)
 * @param healthChecks    every endpoint the health checker probes in this region ({@code health_check.url},
 *                        {@code health_check.endpoints} and each service's {@code health_check}); region health
 *                        is the fraction of these passing
 * @param services        the region's named upstream groups besides {@value #DEFAULT_SERVICE}, in config order
 */
public record RegionConfig(String id, double latitude, double longitude, double capacityRps,
    String residencyGroup, List<String> dnsA, List<String> dnsAaaa, List<URI> upstreams, URI healthCheckUrl,
    List<HealthCheckConfig.Endpoint> healthChecks, List<Service> services) {

  /** The service of a region's own {@code upstreams}, and of every route that names none. */
  public static final String DEFAULT_SERVICE = "default";

  public RegionConfig {
    healthChecks = List.copyOf(healthChecks);
    services = List.copyOf(services);
  }

  /** A region with only the default service. */
  public RegionConfig(String id, double latitude, double longitude, double capacityRps, String residencyGroup,
      List<String> dnsA, List<String> dnsAaaa, List<URI> upstreams, URI healthCheckUrl,
      List<HealthCheckConfig.Endpoint> healthChecks) {
    this(id, latitude, longitude, capacityRps, residencyGroup, dnsA, dnsAaaa, upstreams, healthCheckUrl,
        healthChecks, List.of());
  }

  /**
   * One named upstream group of a region (an API, a web app): what a route sends its requests to within the region
   * the plan chose. Capacity and failover stay per region; a service's health check counts toward its region's.
   *
   * @param name          {@code [a-z0-9][a-z0-9-]*}, unique in the region, not {@value #DEFAULT_SERVICE}
   * @param upstreams     its base URLs, at least one
   * @param healthChecks  what the checker probes for it (may be empty): joins the region's checks
   */
  public record Service(String name, List<URI> upstreams, List<HealthCheckConfig.Endpoint> healthChecks) {
    public Service {
      upstreams = List.copyOf(upstreams);
      healthChecks = List.copyOf(healthChecks);
    }
  }

  /** Every service name of this region: {@value #DEFAULT_SERVICE} first when the region has its own upstreams. */
  public List<String> serviceNames() {
    List<String> names = new java.util.ArrayList<>();
    if (!upstreams.isEmpty()) {
      names.add(DEFAULT_SERVICE);
    }
    services.forEach(s -> names.add(s.name()));
    return List.copyOf(names);
  }

  /** The upstreams of {@code service} in this region, empty when it has none. */
  public List<URI> upstreams(String service) {
    if (DEFAULT_SERVICE.equals(service)) {
      return upstreams;
    }
    for (Service s : services) {
      if (s.name().equals(service)) {
        return s.upstreams();
      }
    }
    return List.of();
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
        "upstreams", "health_check", "services"));
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
    List<Service> services = new java.util.ArrayList<>();
    java.util.Map<String, Integer> serviceAt = new java.util.HashMap<>();
    List<ConfigNode> serviceNodes = n.list("services");
    for (int i = 0; i < serviceNodes.size(); i++) {
      Service s = parseService(serviceNodes.get(i), i, serviceAt);
      if (s != null) {
        services.add(s);
      }
    }
    ConfigNode hc = n.child("health_check");
    List<HealthCheckConfig.Endpoint> checks = new java.util.ArrayList<>();
    if (hc.isPresent()) {
      checks.addAll(HealthCheckConfig.parseRegionChecks(hc));
    }
    services.forEach(s -> checks.addAll(s.healthChecks()));
    if (!hc.isPresent() && checks.isEmpty()) {
      n.problem("health_check", "is required (health_check.url: the URL the checker probes"
          + (serviceNodes.isEmpty() ? ")" : "; or a health_check on each of its services)"));
    }
    // the region's own checks come first: its first HTTP one, else a service's
    URI healthUrl = checks.stream().filter(c -> c.kind() == HealthCheckConfig.ProbeKind.HTTP)
        .map(HealthCheckConfig.Endpoint::url).findFirst().orElse(null);
    if (id == null || Double.isNaN(lat) || Double.isNaN(lon) || Double.isNaN(cap)) {
      return null;
    }
    return new RegionConfig(id, lat, lon, cap, group, List.copyOf(a), List.copyOf(aaaa), upstreams, healthUrl,
        checks, services);
  }

  private static Service parseService(ConfigNode s, int index, java.util.Map<String, Integer> seen) {
    s.rejectUnknownKeys(Set.of("name", "upstreams", "health_check"));
    String name = s.requiredString("name");
    if (name != null && !ID.matcher(name).matches()) {
      s.problem("name", "must be lowercase letters, digits and '-' (e.g. api), got '" + name + "'");
      name = null;
    } else if (DEFAULT_SERVICE.equals(name)) {
      s.problem("name", "'" + DEFAULT_SERVICE + "' is the service of the region's own upstreams: give those as"
          + " regions[].upstreams, or choose another name");
      name = null;
    } else if (name != null && seen.putIfAbsent(name, index) != null) {
      s.problem("name", "duplicate service '" + name + "' (also services[" + seen.get(name) + "])");
      name = null;
    }
    List<URI> ups = s.list("upstreams", e -> httpUrl(e, e.asString(null)));
    if (s.list("upstreams").isEmpty()) {
      s.problem("upstreams", "must list at least one upstream URL (e.g. http://10.0.0.1:9000)");
    }
    ConfigNode hc = s.child("health_check");
    List<HealthCheckConfig.Endpoint> checks = hc.isPresent() ? HealthCheckConfig.parseRegionChecks(hc) : List.of();
    return name == null ? null : new Service(name, ups.stream().filter(java.util.Objects::nonNull).toList(), checks);
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
