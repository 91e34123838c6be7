package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Route match cost per request, 1 route against N (default 1,000), for bench/proxy/routes.sh — not a test.
 * The routes are what a large config has: N−1 path-prefix routes ({@code /svc-0000/} … , a third of them also
 * naming a host) before a catch-all {@code /}; the requests hit the catch-all (the linear scan's worst case),
 * the last prefix route, and a host route. Prints ns per match for the index ({@code Snapshot.route}) and, for
 * comparison, the linear scan it replaced ({@code routeLinear}, on decoded strings). Usage:
 * {@code RouteMatchBench [routes=1000] [seconds per case=2]}.
 */
public final class RouteMatchBench {
  private RouteMatchBench() {}

  private static ProxyConfig.Route route(String name, String host, String prefix) {
    return new ProxyConfig.Route(name, host, prefix, List.of(), ProxyConfig.Policy.NEAREST,
        ProxyConfig.Consistency.EVENTUAL, ProxyConfig.Residency.NONE);
  }

  static ProxyEngine.Snapshot snapshot(int n) {
    List<ProxyConfig.Route> routes = new ArrayList<>();
    for (int i = 0; i < n - 1; i++) {
      routes.add(route("svc-" + i, i % 3 == 0 ? "svc" + i + ".example.com" : null, String.format("/svc-%04d/", i)));
    }
    routes.add(ProxyConfig.catchAll());
    return new ProxyEngine.Snapshot(null, null, null,
        routes.stream().map(ProxyEngine.RouteRuntime::new).toArray(ProxyEngine.RouteRuntime[]::new));
  }

  static H1Connection head(String target, String host) {
    H1Connection c = new H1Connection(null, ProxyConfig.Limits.DEFAULT);
    String head = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n";
    if (c.parser.feed(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1)) != H1Parser.HEAD_DONE) {
      throw new IllegalStateException(head);
    }
    return c;
  }

  private static volatile Object sink;

  private static double nsPerMatch(ProxyEngine.Snapshot s, H1Connection c, boolean linear, double seconds) {
    String host = c.host();
    String path = c.path();
    String method = c.method();
    long deadline = System.nanoTime() + (long) (seconds * 1e9);
    long n = 0;
    long t0 = System.nanoTime();
    Object last = null;
    while (true) {
      for (int i = 0; i < 1000; i++) {
        last = linear ? s.routeLinear(host, path, method) : s.route(c);
      }
      n += 1000;
      long now = System.nanoTime();
      if (now >= deadline) {
        sink = last;
        return (now - t0) / (double) n;
      }
    }
  }

  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 2;
    ProxyEngine.Snapshot one = snapshot(1);
    ProxyEngine.Snapshot many = snapshot(n);
    String last = String.format("/svc-%04d/items/42", n - 2);
    int hostRoute = (n - 2) / 3 * 3;
    String[][] requests = {
        {"catch-all", "/index.html?x=1", "www.example.com"},
        {"last prefix route", last, "www.example.com"},
        {"host route", String.format("/svc-%04d/a", hostRoute), "svc" + hostRoute + ".example.com:8080"}};
    System.out.printf("routes: 1 vs %d; ns per match (lower is better)%n", n);
    System.out.printf("%-18s %10s %10s %14s%n", "request", "1 route", n + " index", n + " linear");
    for (String[] r : requests) {
      H1Connection c = head(r[1], r[2]);
      nsPerMatch(one, c, false, seconds / 4); // warm-up
      nsPerMatch(many, c, false, seconds / 4);
      nsPerMatch(many, c, true, seconds / 4);
      double a = nsPerMatch(one, c, false, seconds);
      double b = nsPerMatch(many, c, false, seconds);
      double l = nsPerMatch(many, c, true, seconds);
      System.out.printf("%-18s %10.1f %10.1f %14.1f   (%s -> %s)%n", r[0], a, b, l, r[1],
          many.route(c).route.name());
    }
  }
}
