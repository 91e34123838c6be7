package io.meridian.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The L7 proxy role.
 *
 * @param listen           HTTP address for client traffic
 * @param opsListen        HTTP address for /healthz, /readyz, /metrics
 * @param connectTimeout   upstream connect timeout
 * @param responseTimeout  time to wait for an upstream's response headers
 * @param routes           first match wins; when empty, one catch-all {@code nearest} route
 */
public record ProxyConfig(ListenAddress listen, ListenAddress opsListen, Duration connectTimeout,
    Duration responseTimeout, List<Route> routes) {

  /** How a route picks its region. */
  public enum Policy { NEAREST, HOME }

  /** What a route promises about reads after writes. */
  public enum Consistency { EVENTUAL, SESSION, STRONG }

  /**
   * A proxy route, matched by host, path prefix and method.
   *
   * @param name         label used in metrics and logs
   * @param host         Host header to match (case-insensitive), or null for any
   * @param pathPrefix   path prefix to match
   * @param methods      upper-case methods to match; empty for any
   * @param policy       nearest or home
   * @param consistency  eventual, session or strong
   */
  public record Route(String name, String host, String pathPrefix, List<String> methods, Policy policy,
      Consistency consistency) {
    public boolean matches(String requestHost, String path, String method) {
      if (host != null && (requestHost == null || !hostEquals(requestHost))) {
        return false;
      }
      if (!path.startsWith(pathPrefix)) {
        return false;
      }
      return methods.isEmpty() || methods.contains(method);
    }

    private boolean hostEquals(String requestHost) {
      int colon = requestHost.lastIndexOf(':');
      String h = colon > 0 && requestHost.indexOf(']') < colon ? requestHost.substring(0, colon) : requestHost;
      return h.equalsIgnoreCase(host);
    }
  }

  public static Route catchAll() {
    return new Route("default", null, "/", List.of(), Policy.NEAREST, Consistency.EVENTUAL);
  }

  public static ProxyConfig defaults() {
    return new ProxyConfig(ListenAddress.parse("127.0.0.1:8080"), ListenAddress.parse("127.0.0.1:9180"),
        Duration.ofSeconds(2), Duration.ofSeconds(30), List.of(catchAll()));
  }

  static ProxyConfig parse(ConfigNode n) {
    n.rejectUnknownKeys(Set.of("listen", "ops_listen", "connect_timeout", "response_timeout", "routes"));
    ListenAddress listen = n.listen("listen", "127.0.0.1:8080");
    ListenAddress ops = n.listen("ops_listen", "127.0.0.1:9180");
    Duration connect = n.duration("connect_timeout", Duration.ofSeconds(2), Duration.ofMillis(1));
    Duration response = n.duration("response_timeout", Duration.ofSeconds(30), Duration.ofMillis(1));
    List<Route> routes = n.list("routes", r -> {
      r.rejectUnknownKeys(Set.of("name", "host", "path_prefix", "methods", "policy", "consistency"));
      String name = r.requiredString("name");
      String host = r.string("host", null);
      String prefix = r.string("path_prefix", "/");
      if (!prefix.startsWith("/")) {
        r.problem("path_prefix", "must start with '/', got '" + prefix + "'");
      }
      List<String> methods = r.stringList("methods").stream().map(m -> m.toUpperCase(Locale.ROOT)).toList();
      Policy policy = r.enumValue("policy", Policy.class, Policy.NEAREST);
      Consistency consistency = r.enumValue("consistency", Consistency.class, Consistency.EVENTUAL);
      return name == null ? null : new Route(name, host, prefix, methods, policy, consistency);
    });
    return new ProxyConfig(listen, ops, connect, response, routes.isEmpty() ? List.of(catchAll()) : routes);
  }
}
