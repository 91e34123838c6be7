package io.meridian.proxy.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ProxyConfig;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The HTTP/1.1 path matches routes on the recorded head's bytes; it must choose exactly the route that
 * {@link ProxyConfig.Route#matches} chooses on the decoded host, path and method (the Vert.x path's way), for
 * hosts with ports, IPv6 literals, any case, queries, absent Host, and a route host that is not ASCII.
 */
class RouteHeadMatchTest {
  private static ProxyConfig.Route route(String name, String host, String prefix, List<String> methods) {
    return new ProxyConfig.Route(name, host, prefix, methods, ProxyConfig.Policy.NEAREST,
        ProxyConfig.Consistency.EVENTUAL, ProxyConfig.Residency.NONE);
  }

  private static final List<ProxyConfig.Route> ROUTES = List.of(
      route("api-host", "API.example.com", "/api", List.of()),
      route("v6", "[::1]", "/", List.of("GET")),
      route("unicode", "b\u00fccher.example", "/", List.of()),
      route("payments-write", null, "/payments", List.of("POST", "PUT")),
      route("latin1-prefix", null, "/caf\u00e9", List.of()),
      route("wide-prefix", null, "/\u20ac", List.of()),
      route("static", null, "/static/", List.of()),
      route("exact-slash", "exact.example", "/", List.of("DELETE")));

  private static final String[] TARGETS = {"/", "/api", "/api/v1?x=1", "/ap", "/payments", "/payments/1?a=b",
      "/static", "/static/a.css", "/caf\u00e9/menu", "/?q=/api", "*", "http://api.example.com/api"};
  private static final String[] HOSTS = {null, "api.example.com", "API.EXAMPLE.COM:8080", "api.example.com:",
      "[::1]", "[::1]:443", "[::1", "b\u00fccher.example", "B\u00dcCHER.example", "exact.example:80", "a:b:c",
      "other.example"};
  private static final String[] METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH"};

  @Test
  void headBytesChooseTheSameRouteAsTheDecodedStrings() {
    ProxyEngine.RouteRuntime[] runtimes = ROUTES.stream().map(ProxyEngine.RouteRuntime::new)
        .toArray(ProxyEngine.RouteRuntime[]::new);
    ProxyEngine.Snapshot s = new ProxyEngine.Snapshot(null, null, null, runtimes);
    int checked = 0;
    for (String method : METHODS) {
      for (String target : TARGETS) {
        for (String host : HOSTS) {
          H1Connection c = new H1Connection(null, ProxyConfig.Limits.DEFAULT);
          // without Host only HTTP/1.0 is valid (RFC 9112 §3.2: an HTTP/1.1 request without Host is refused)
          String head = method + " " + target + (host == null ? " HTTP/1.0\r\n" : " HTTP/1.1\r\nHost: " + host + "\r\n")
              + "\r\n";
          int r = c.parser.feed(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1));
          if (target.startsWith("http://") && host != null && r == H1Parser.ERROR) {
            // a Host naming another authority than the absolute target: refused before any route (RFC 9112 §3.2.2)
            assertEquals(io.meridian.proxy.ProxyOutcome.BAD_REQUEST, c.parser.error, head);
            assertTrue(!host.toLowerCase(java.util.Locale.ROOT).startsWith("api.example.com")
                || host.toLowerCase(java.util.Locale.ROOT).startsWith("api.example.com:8080"), head);
            checked++;
            continue;
          }
          assertEquals(H1Parser.HEAD_DONE, r, head);
          ProxyEngine.RouteRuntime expected = s.routeLinear(c.host(), c.path(), c.method());
          ProxyEngine.RouteRuntime actual = s.route(c);
          assertEquals(expected == null ? null : expected.route.name(), actual == null ? null : actual.route.name(),
              head);
          assertEquals(expected, s.route((RequestView) c), head);
          checked++;
        }
      }
    }
    assertEquals(METHODS.length * TARGETS.length * HOSTS.length, checked);
  }
}
