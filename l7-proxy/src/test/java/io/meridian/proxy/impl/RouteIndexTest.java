package io.meridian.proxy.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ProxyConfig;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The route index must choose exactly the route the linear scan over {@link ProxyConfig.Route#matches} chooses
 * (first declared match wins), on decoded strings (the Vert.x path) and on an HTTP/1.1 head's bytes, for random
 * route sets — shared and nested prefixes, hosts in any case with ports, IPv6 literals, non-ASCII hosts, method
 * lists, duplicates — and random requests drawn near those routes.
 */
class RouteIndexTest {
  private static final String[] ROUTE_HOSTS = {"api.example.com", "API.Example.COM", "shop.example", "[::1]",
      "b\u00fccher.example", "k.example", "\u212A.example", "x", "10.0.0.1"};
  private static final String[] SEGMENTS = {"/", "/a", "/ab", "/a/", "/a/b", "/api", "/api/", "/api/v1",
      "/caf\u00e9", "/\u20ac", "/static/", "/s", "/A", "/%7e", "/payments"};
  private static final String[] ROUTE_METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD"};
  private static final String[] REQUEST_METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"};

  private static ProxyConfig.Route randomRoute(Random rnd, int i) {
    String host = rnd.nextInt(3) == 0 ? null : ROUTE_HOSTS[rnd.nextInt(ROUTE_HOSTS.length)];
    String prefix = SEGMENTS[rnd.nextInt(SEGMENTS.length)];
    if (rnd.nextInt(3) == 0) {
      prefix += SEGMENTS[rnd.nextInt(SEGMENTS.length)].substring(1);
    }
    List<String> methods = new ArrayList<>();
    if (rnd.nextInt(3) == 0) {
      for (String m : ROUTE_METHODS) {
        if (rnd.nextBoolean()) {
          methods.add(m);
        }
      }
    }
    return new ProxyConfig.Route("r" + i, host, prefix, methods, ProxyConfig.Policy.NEAREST,
        ProxyConfig.Consistency.EVENTUAL, ProxyConfig.Residency.NONE);
  }

  /** A request host near the routes' hosts: other case, a port, a trailing colon, Latin-1, or none. */
  private static String randomHost(Random rnd, boolean latin1Only) {
    if (rnd.nextInt(8) == 0) {
      return null;
    }
    String h = rnd.nextInt(6) == 0 ? "other" + rnd.nextInt(3) + ".example" : ROUTE_HOSTS[rnd.nextInt(ROUTE_HOSTS.length)];
    switch (rnd.nextInt(5)) {
      case 0 -> h = h.toUpperCase(java.util.Locale.ROOT);
      case 1 -> h = h.toLowerCase(java.util.Locale.ROOT);
      default -> { }
    }
    switch (rnd.nextInt(5)) {
      case 0 -> h += ":8080";
      case 1 -> h += ":";
      default -> { }
    }
    if (latin1Only && !h.chars().allMatch(c -> c <= 0xff)) {
      h = "k.example";
    }
    return h;
  }

  private static String randomPath(Random rnd, boolean latin1Only) {
    StringBuilder p = new StringBuilder(SEGMENTS[rnd.nextInt(SEGMENTS.length)]);
    for (int n = rnd.nextInt(3); n > 0; n--) {
      String seg = SEGMENTS[rnd.nextInt(SEGMENTS.length)];
      p.append(seg, 0, 1 + rnd.nextInt(seg.length())); // whole segments and cut ones, to end inside a prefix
      if (rnd.nextBoolean()) {
        p.append((char) ('a' + rnd.nextInt(3)));
      }
    }
    String s = p.toString();
    if (latin1Only) {
      s = s.replace('\u20ac', '\u00e9');
    }
    return s;
  }

  private static ProxyEngine.Snapshot snapshot(List<ProxyConfig.Route> routes) {
    return new ProxyEngine.Snapshot(null, null, null,
        routes.stream().map(ProxyEngine.RouteRuntime::new).toArray(ProxyEngine.RouteRuntime[]::new));
  }

  private static String name(ProxyEngine.RouteRuntime r) {
    return r == null ? null : r.route.name();
  }

  @Test
  void decodedStringsChooseTheSameRouteAsTheLinearScan() {
    int matched = 0;
    int checked = 0;
    for (int n = 0; n < 300; n++) {
      int seed = n;
      Random rnd = new Random(seed);
      List<ProxyConfig.Route> routes = new ArrayList<>();
      for (int i = 0, count = 1 + rnd.nextInt(seed % 10 == 0 ? 300 : 25); i < count; i++) {
        routes.add(randomRoute(rnd, i));
      }
      ProxyEngine.Snapshot s = snapshot(routes);
      for (int q = 0; q < 300; q++) {
        String host = randomHost(rnd, false);
        String path = randomPath(rnd, false);
        String method = REQUEST_METHODS[rnd.nextInt(REQUEST_METHODS.length)];
        String expected = name(s.routeLinear(host, path, method));
        assertEquals(expected, name(s.route(host, path, method)),
            () -> "seed " + seed + " routes " + routes + " request " + method + " " + host + " " + path);
        checked++;
        matched += expected == null ? 0 : 1;
      }
    }
    assertEquals(300 * 300, checked);
    // the random requests must exercise both outcomes, else the comparison proves little
    assertTrue(matched > checked / 4 && matched < checked * 3 / 4, matched + " of " + checked + " matched");
  }

  @Test
  void headBytesChooseTheSameRouteAsTheLinearScan() {
    int parsed = 0;
    int matched = 0;
    int total = 0;
    for (int n = 0; n < 200; n++) {
      int seed = n;
      Random rnd = new Random(1000 + seed);
      List<ProxyConfig.Route> routes = new ArrayList<>();
      for (int i = 0, count = 1 + rnd.nextInt(seed % 10 == 0 ? 300 : 25); i < count; i++) {
        routes.add(randomRoute(rnd, i));
      }
      ProxyEngine.Snapshot s = snapshot(routes);
      for (int q = 0; q < 200; q++) {
        total++;
        String host = randomHost(rnd, true);
        String target = randomPath(rnd, true) + (rnd.nextInt(4) == 0 ? "?q=/api" : "");
        if (rnd.nextInt(10) == 0 && host != null && !host.endsWith(":")) {
          target = "http://" + host + target; // absolute form: the authority is the host (RFC 9112 §3.2.2)
        }
        String method = REQUEST_METHODS[rnd.nextInt(REQUEST_METHODS.length)];
        String head = method + " " + target + (host == null ? " HTTP/1.0\r\n" : " HTTP/1.1\r\nHost: " + host + "\r\n")
            + "\r\n";
        H1Connection c = new H1Connection(null, ProxyConfig.Limits.DEFAULT);
        if (c.parser.feed(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1)) != H1Parser.HEAD_DONE) {
          continue; // a head the parser refuses never reaches the route match
        }
        parsed++;
        String expected = name(s.routeLinear(c.host(), c.path(), c.method()));
        assertEquals(expected, name(s.route(c)), () -> "seed " + seed + " routes " + routes + " head " + head);
        assertEquals(expected, name(s.route((RequestView) c)), () -> "seed " + seed + " head " + head);
        matched += expected == null ? 0 : 1;
      }
    }
    assertTrue(parsed > total * 9 / 10, parsed + " of " + total + " heads parsed");
    assertTrue(matched > parsed / 4 && matched < parsed * 3 / 4, matched + " of " + parsed + " matched");
  }

  /** The cases the index treats specially, spelled out. */
  @Test
  void firstDeclaredMatchWinsAcrossHostsPrefixesAndMethods() {
    List<ProxyConfig.Route> routes = List.of(
        route("root-post", null, "/", List.of("POST")),
        route("api-host-long", "API.example.com", "/api/v1", List.of()),
        route("any-api", null, "/api", List.of()),
        route("api-host-short", "api.example.com", "/api", List.of()),
        route("kelvin", "\u212A.example", "/", List.of()),
        route("euro", null, "/\u20ac", List.of()),
        route("root", null, "/", List.of()));
    ProxyEngine.Snapshot s = snapshot(routes);
    assertEquals("root-post", name(s.route("api.example.com", "/api/v1/x", "POST")));
    assertEquals("api-host-long", name(s.route("Api.Example.Com:8443", "/api/v1/x", "GET")));
    // declared before the host's shorter prefix: the catch-all host wins for /api/v2
    assertEquals("any-api", name(s.route("api.example.com", "/api/v2", "GET")));
    // String.equalsIgnoreCase folds KELVIN SIGN and k: the index must not lose that
    assertEquals("kelvin", name(s.route("k.example", "/x", "GET")));
    assertEquals("kelvin", name(s.route("\u212A.example", "/x", "GET")));
    assertEquals("euro", name(s.route(null, "/\u20ac/x", "GET")));
    assertEquals("root", name(s.route(null, "/other", "GET")));
    assertNull(snapshot(List.of(route("only", "a.example", "/x", List.of()))).route("b.example", "/x", "GET"));
    assertNotNull(snapshot(List.of(route("only", "a.example", "/x", List.of()))).route("A.EXAMPLE:1", "/xy", "GET"));
  }

  private static ProxyConfig.Route route(String name, String host, String prefix, List<String> methods) {
    return new ProxyConfig.Route(name, host, prefix, methods, ProxyConfig.Policy.NEAREST,
        ProxyConfig.Consistency.EVENTUAL, ProxyConfig.Residency.NONE);
  }
}
