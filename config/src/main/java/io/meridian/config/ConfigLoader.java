package io.meridian.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads and validates a Meridian YAML file. Every problem is collected and reported together, each with file,
 * line, key path, the value found and what was expected; nothing half-valid is ever returned.
 *
 * <pre>{@code
 * MeridianConfig cfg = ConfigLoader.load(Path.of("meridian.yaml")); // throws ConfigException
 * }</pre>
 */
public final class ConfigLoader {
  /** The schema version this build reads. */
  public static final int VERSION = 1;

  private ConfigLoader() {}

  public static MeridianConfig load(Path file) throws ConfigException, IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    Path base = file.toAbsolutePath().getParent();
    return parse(file.getFileName().toString(), text, base, file.toAbsolutePath());
  }

  /**
   * Parses YAML text. {@code name} is used in messages, {@code baseDir} resolves relative paths.
   */
  public static MeridianConfig parse(String name, String text, Path baseDir, Path source) throws ConfigException {
    List<ConfigProblem> problems = new ArrayList<>();
    Node rootNode;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(true); // reported by rejectUnknownKeys with the line, not thrown
      options.setMaxAliasesForCollections(20); // no billion-laughs from a config file
      rootNode = new Yaml(options).compose(new java.io.StringReader(text));
    } catch (MarkedYAMLException e) {
      int line = e.getProblemMark() == null ? 1 : e.getProblemMark().getLine() + 1;
      throw new ConfigException(List.of(new ConfigProblem(name, line, "(syntax)",
          "invalid YAML: " + e.getProblem())));
    } catch (RuntimeException e) {
      throw new ConfigException(List.of(new ConfigProblem(name, 1, "(syntax)", "invalid YAML: " + e.getMessage())));
    }
    ConfigNode root = ConfigNode.root(name, rootNode, problems);
    if (rootNode == null) {
      root.problem("file is empty; expected at least 'regions:'");
      throw new ConfigException(problems);
    }
    root.rejectUnknownKeys(Set.of("version", "regions", "geo", "dns", "proxy", "health_check", "controller",
        "admin", "state_store"));
    root.integer("version", VERSION, VERSION, VERSION);

    List<RegionConfig> regions = root.list("regions", RegionConfig::parse);
    List<ConfigNode> regionNodes = root.list("regions");
    if (regionNodes.isEmpty()) {
      root.problem("regions", "must list at least one region");
    }
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < regionNodes.size(); i++) {
      String id = regionNodes.get(i).child("id").asString(null);
      Integer first = id == null ? null : seen.putIfAbsent(id, i);
      if (first != null) {
        regionNodes.get(i).problem("id", "duplicate region id '" + id + "' (also regions[" + first + "])");
      }
    }
    GeoConfig geo = root.child("geo").isPresent() ? GeoConfig.parse(root.child("geo"), baseDir) : GeoConfig.defaults();
    DnsConfig dns = DnsConfig.parse(root.child("dns"), baseDir);
    ProxyConfig proxy = ProxyConfig.parse(root.child("proxy"), baseDir);
    HealthCheckConfig hc = HealthCheckConfig.parse(root.child("health_check"));
    ControllerConfig controller = ControllerConfig.parse(root.child("controller"));
    AdminConfig admin = AdminConfig.parse(root.child("admin"));
    StateStoreConfig store = StateStoreConfig.parse(root.child("state_store"), baseDir);

    boolean hasGeoNames = dns.zones().stream().anyMatch(z -> !z.names().isEmpty());
    for (int i = 0; i < regionNodes.size() && hasGeoNames; i++) {
      ConfigNode r = regionNodes.get(i);
      if (r.child("dns").stringList("a").isEmpty() && r.child("dns").stringList("aaaa").isEmpty()) {
        r.problem("dns", "must list at least one 'a' or 'aaaa' address: dns.zones has geo names to answer");
      }
    }
    for (int i = 0; i < regionNodes.size(); i++) {
      if (regionNodes.get(i).list("upstreams").isEmpty() && regionNodes.get(i).list("services").isEmpty()) {
        regionNodes.get(i).problem("upstreams", "must list at least one upstream URL (e.g. http://10.0.0.1:8080),"
            + " or the region must have services");
      }
    }
    checkRouteServices(root.child("proxy"), proxy, regions);
    checkSuccessors(root.child("controller").child("successors"), regions);
    String unlocatedRegion = dns.unlocated().region();
    if (unlocatedRegion != null && regions.stream().noneMatch(r -> r.id().equals(unlocatedRegion))) {
      root.child("dns").child("unlocated").problem("region", "must be a configured region id "
          + regions.stream().map(RegionConfig::id).toList() + ", got '" + unlocatedRegion + "'");
    }
    if (!problems.isEmpty()) {
      problems.sort((a, b) -> Integer.compare(a.line(), b.line()));
      throw new ConfigException(problems);
    }
    return new MeridianConfig(source, regions, geo, dns, proxy, hc, controller, admin, store);
  }

  /**
   * A successor takes over a failed home region's users, so both must be configured regions and share a residency
   * group: promoting across groups would move personal data across a border the config forbids. Checked here so
   * {@code meridian config check} catches it, not the first failover.
   */
  /**
   * Every route's service must exist in every region: the plan chooses the region for a request before the route's
   * service is looked up in it, and a region that lacks the service would turn a healthy choice into an error.
   */
  private static void checkRouteServices(ConfigNode proxyNode, ProxyConfig proxy, List<RegionConfig> regions) {
    List<ConfigNode> routeNodes = proxyNode.list("routes");
    List<ProxyConfig.Route> routes = proxy.routes();
    for (int i = 0; i < routes.size(); i++) {
      ProxyConfig.Route rt = routes.get(i);
      List<String> lacking = regions.stream().filter(r -> r != null && r.upstreams(rt.service()).isEmpty())
          .map(RegionConfig::id).toList();
      if (lacking.isEmpty()) {
        continue;
      }
      String why = "route '" + rt.name() + "' goes to service '" + rt.service() + "', which regions " + lacking
          + " do not have (" + (RegionConfig.DEFAULT_SERVICE.equals(rt.service())
              ? "give them upstreams, or name one of their services in the route's 'service'"
              : "add it to their services, or name another service") + ")";
      if (i < routeNodes.size()) {
        routeNodes.get(i).problem("service", why);
      } else {
        proxyNode.problem("routes", "the default catch-all " + why);
      }
    }
  }

  private static void checkSuccessors(ConfigNode successors, List<RegionConfig> regions) {
    Map<String, String> groupOf = new java.util.TreeMap<>(); // sorted: the message lists the regions stably
    for (RegionConfig r : regions) {
      groupOf.put(r.id(), r.residencyGroup());
    }
    successors.entries().forEach((home, v) -> {
      String to = v.asString(null);
      if (!groupOf.containsKey(home)) {
        v.problem("home region '" + home + "' is not in regions " + groupOf.keySet());
      } else if (to != null && RegionConfig.ID.matcher(to).matches()) {
        if (!groupOf.containsKey(to)) {
          v.problem("must be a region listed in regions " + groupOf.keySet() + ", got '" + to + "'");
        } else if (to.equals(home)) {
          v.problem("must be a different region than '" + home + "' itself");
        } else if (!groupOf.get(to).equals(groupOf.get(home))) {
          v.problem("must be in " + home + "'s residency group '" + groupOf.get(home) + "', got '" + to
              + "' (group '" + groupOf.get(to) + "')");
        }
      }
    });
  }
}
