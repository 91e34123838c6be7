package io.meridian.proxy.impl;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The configured routes as an index, so that a request's cost does not grow with the number of routes (a
 * linear scan of 1,000 routes cost 1.55× the CPU of one route per request). It answers exactly what the linear
 * scan over {@link io.meridian.config.ProxyConfig.Route#matches} answers — the matching route declared first —
 * by looking only at the routes that can match:
 *
 * <ul>
 *   <li>routes with an ASCII host: a hash table from the lower-case host to a path-prefix trie of its routes
 *       (the request's host ASCII-folded, its port dropped as {@code Route.hostEquals} drops it);</li>
 *   <li>routes without host: one path-prefix trie;</li>
 *   <li>routes the two cannot hold — a host that is not ASCII (Unicode case folding is not byte folding), or a
 *       path prefix with a character beyond ISO-8859-1 (never in an HTTP/1.1 head's bytes) — are tried one by one
 *       with {@code Route.matches}, and only those declared before the best candidate found so far.</li>
 * </ul>
 *
 * Walking a trie along the request path visits every route whose prefix the path starts with; each trie node
 * keeps its routes in declaration order, so the first whose methods fit is that node's candidate, and the lowest
 * declaration index over all candidates wins (first match wins, as before). Per request: one hash of the host,
 * at most two walks of the path's bytes, no allocation and no lock. Built once per snapshot (plan or config
 * change), immutable afterwards.
 */
final class RouteIndex {
  private static final int NONE = Integer.MAX_VALUE;

  private final ProxyEngine.RouteRuntime[] routes;
  /** Per route: the methods it is restricted to, or null for any method. */
  private final String[][] methods;
  /** Routes without host whose prefix is ISO-8859-1. */
  private final Trie anyHost;
  /** ASCII host (lower case) → trie of its routes; null when no route names an ASCII host. */
  private final HostTable hosts;
  /** Routes matched on the head's bytes only through the decoded strings (host not ASCII), ascending. */
  private final int[] byteFallback;
  /** The same for string requests: host not ASCII, or a prefix beyond ISO-8859-1; ascending. */
  private final int[] stringFallback;

  RouteIndex(ProxyEngine.RouteRuntime[] routes) {
    this.routes = routes;
    this.methods = new String[routes.length][];
    TrieBuilder any = new TrieBuilder();
    TreeMap<String, TrieBuilder> byHost = new TreeMap<>();
    List<Integer> bytes = new ArrayList<>();
    List<Integer> strings = new ArrayList<>();
    for (int i = 0; i < routes.length; i++) {
      ProxyEngine.RouteRuntime r = routes[i];
      List<String> m = r.route.methods();
      methods[i] = m.isEmpty() ? null : m.toArray(new String[0]);
      boolean asciiHost = r.route.host() == null || r.hostLower() != null;
      if (!asciiHost) {
        bytes.add(i);
        strings.add(i);
      } else if (r.prefixBytes() == null) {
        strings.add(i); // on the bytes path this route can never match (as before), on strings it may
      } else if (r.route.host() == null) {
        any.add(r.prefixBytes(), i);
      } else {
        byHost.computeIfAbsent(new String(r.hostLower(), java.nio.charset.StandardCharsets.ISO_8859_1),
            k -> new TrieBuilder()).add(r.prefixBytes(), i);
      }
    }
    this.anyHost = any.build();
    this.hosts = byHost.isEmpty() ? null : new HostTable(byHost);
    this.byteFallback = bytes.stream().mapToInt(Integer::intValue).toArray();
    this.stringFallback = strings.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Whether any route names a host (else a request's host need not be read). */
  boolean namesHosts() {
    return hosts != null || byteFallback.length > 0;
  }

  /** The first matching route on an HTTP/1.1 connection's recorded head (path h[ps, pe)), or null. */
  ProxyEngine.RouteRuntime match(H1Connection c, byte[] h, int ps, int pe, String method) {
    int best = NONE;
    if (hosts != null) {
      long range = c.hostRange();
      if (range >= 0) {
        int hs = (int) (range >>> 32);
        int he = hostEnd(h, hs, (int) range);
        Trie t = hosts.get(h, hs, he);
        if (t != null) {
          best = t.match(h, ps, pe, method, best, methods);
        }
      }
    }
    best = anyHost.match(h, ps, pe, method, best, methods);
    if (byteFallback.length > 0 && byteFallback[0] < best) {
      String host = c.host(); // only with a route whose host is not ASCII, declared before the best so far
      String path = c.path();
      for (int r : byteFallback) {
        if (r >= best) {
          break;
        }
        if (routes[r].route.matches(host, path, method)) {
          best = r;
          break;
        }
      }
    }
    return best == NONE ? null : routes[best];
  }

  /** The first matching route for decoded strings ({@code host} null: no Host), or null. */
  ProxyEngine.RouteRuntime match(String host, String path, String method) {
    int best = NONE;
    if (hosts != null && host != null) {
      int colon = host.lastIndexOf(':');
      int end = colon > 0 && host.indexOf(']') < colon ? colon : host.length();
      for (int i = 0; i < end; i++) {
        if (host.charAt(i) >= 0x80) {
          // String.equalsIgnoreCase folds some non-ASCII characters onto ASCII letters (U+212A KELVIN SIGN
          // onto k): such a host is matched the reference way
          return linear(host, path, method);
        }
      }
      Trie t = hosts.get(host, end);
      if (t != null) {
        best = t.match(path, method, best, methods);
      }
    }
    best = anyHost.match(path, method, best, methods);
    for (int r : stringFallback) {
      if (r >= best) {
        break;
      }
      if (routes[r].route.matches(host, path, method)) {
        best = r;
        break;
      }
    }
    return best == NONE ? null : routes[best];
  }

  /** The reference: the first route whose {@code Route.matches} accepts the request. */
  ProxyEngine.RouteRuntime linear(String host, String path, String method) {
    for (ProxyEngine.RouteRuntime r : routes) {
      if (r.route.matches(host, path, method)) {
        return r;
      }
    }
    return null;
  }

  /** As {@code Route.hostEquals}: a port after the last colon is dropped, unless the colon is inside "[...]". */
  private static int hostEnd(byte[] h, int hs, int he) {
    int colon = -1;
    int bracket = -1;
    for (int i = hs; i < he; i++) {
      if (h[i] == ':') {
        colon = i;
      } else if (h[i] == ']' && bracket < 0) {
        bracket = i;
      }
    }
    return colon > hs && bracket < colon ? colon : he;
  }

  private static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
  }

  private static int mix(int h) {
    h *= 0x9E3779B1;
    return h ^ (h >>> 15);
  }

  private static boolean methodFits(String[] allowed, String method) {
    if (allowed == null) {
      return true;
    }
    for (String m : allowed) {
      if (m.equals(method)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Open addressing from an ASCII host in lower case to its trie. Keys are compared with the request's bytes
   * or characters ASCII-folded; a byte or character ≥ 0x80 folds to itself and so never equals a key byte.
   */
  private static final class HostTable {
    private final byte[][] keys;
    private final Trie[] tries;
    private final int mask;

    HostTable(TreeMap<String, TrieBuilder> byHost) {
      int cap = Integer.highestOneBit(Math.max(2, byHost.size() * 2 - 1)) << 1;
      keys = new byte[cap][];
      tries = new Trie[cap];
      mask = cap - 1;
      byHost.forEach((host, builder) -> {
        byte[] k = host.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        int h = 0;
        for (byte b : k) {
          h = 31 * h + (b & 0xff);
        }
        int slot = mix(h) & mask;
        while (keys[slot] != null) {
          slot = (slot + 1) & mask;
        }
        keys[slot] = k;
        tries[slot] = builder.build();
      });
    }

    Trie get(byte[] h, int from, int to) {
      int hash = 0;
      for (int i = from; i < to; i++) {
        hash = 31 * hash + lower(h[i] & 0xff);
      }
      int n = to - from;
      for (int slot = mix(hash) & mask; ; slot = (slot + 1) & mask) {
        byte[] k = keys[slot];
        if (k == null) {
          return null;
        }
        if (k.length == n && equalsFolded(k, h, from)) {
          return tries[slot];
        }
      }
    }

    /** {@code s[0, to)}, every character below 0x80. */
    Trie get(String s, int to) {
      int hash = 0;
      for (int i = 0; i < to; i++) {
        hash = 31 * hash + lower(s.charAt(i));
      }
      for (int slot = mix(hash) & mask; ; slot = (slot + 1) & mask) {
        byte[] k = keys[slot];
        if (k == null) {
          return null;
        }
        if (k.length == to && equalsFolded(k, s)) {
          return tries[slot];
        }
      }
    }

    private static boolean equalsFolded(byte[] k, byte[] h, int from) {
      for (int i = 0; i < k.length; i++) {
        if (lower(h[from + i] & 0xff) != (k[i] & 0xff)) {
          return false;
        }
      }
      return true;
    }

    private static boolean equalsFolded(byte[] k, String s) {
      for (int i = 0; i < k.length; i++) {
        if (lower(s.charAt(i)) != (k[i] & 0xff)) {
          return false;
        }
      }
      return true;
    }
  }

  /**
   * A byte trie of path prefixes, flattened into one int array so that a walk reads neighbouring memory: a node
   * at offset o is {@code [routes r, r route indices ascending, children k, k child bytes ascending (unsigned),
   * k child offsets]}; the root (the empty prefix) is at 0.
   */
  private static final class Trie {
    private final int[] t;

    Trie(int[] t) {
      this.t = t;
    }

    /** The lowest route below {@code best} whose prefix {@code h[ps, pe)} starts with and whose methods fit. */
    int match(byte[] h, int ps, int pe, String method, int best, String[][] methods) {
      int[] t = this.t;
      int node = 0;
      int i = ps;
      while (true) {
        if (t[node] != 0) {
          best = first(node, method, best, methods);
        }
        if (i == pe) {
          return best;
        }
        node = child(t, node, h[i++] & 0xff);
        if (node < 0) {
          return best;
        }
      }
    }

    /** The same on a decoded path: a character beyond ISO-8859-1 is in no prefix of the trie. */
    int match(String path, String method, int best, String[][] methods) {
      int[] t = this.t;
      int node = 0;
      int n = path.length();
      int i = 0;
      while (true) {
        if (t[node] != 0) {
          best = first(node, method, best, methods);
        }
        if (i == n) {
          return best;
        }
        char c = path.charAt(i++);
        if (c > 0xff) {
          return best;
        }
        node = child(t, node, c);
        if (node < 0) {
          return best;
        }
      }
    }

    private int first(int node, String method, int best, String[][] methods) {
      int[] t = this.t;
      for (int j = node + 1, end = node + 1 + t[node]; j < end; j++) {
        int r = t[j];
        if (r >= best) {
          return best;
        }
        if (methodFits(methods[r], method)) {
          return r;
        }
      }
      return best;
    }

    private static int child(int[] t, int node, int b) {
      int k = node + 1 + t[node]; // children count
      int n = t[k];
      int from = k + 1;
      if (n <= 8) {
        for (int j = 0; j < n; j++) {
          if (t[from + j] == b) {
            return t[from + n + j];
          }
        }
        return -1;
      }
      int lo = from;
      int hi = from + n - 1;
      while (lo <= hi) {
        int mid = (lo + hi) >>> 1;
        int v = t[mid];
        if (v < b) {
          lo = mid + 1;
        } else if (v > b) {
          hi = mid - 1;
        } else {
          return t[mid + n];
        }
      }
      return -1;
    }
  }

  /** Mutable trie while the index is built. */
  private static final class TrieBuilder {
    private final List<TreeMap<Byte, Integer>> children = new ArrayList<>();
    private final List<List<Integer>> routesAt = new ArrayList<>();

    TrieBuilder() {
      newNode();
    }

    private int newNode() {
      children.add(new TreeMap<>());
      routesAt.add(new ArrayList<>());
      return children.size() - 1;
    }

    /** Routes are added in declaration order, so each node's list stays ascending. */
    void add(byte[] prefix, int route) {
      int node = 0;
      for (byte b : prefix) {
        Integer next = children.get(node).get(b);
        if (next == null) {
          next = newNode();
          children.get(node).put(b, next);
        }
        node = next;
      }
      routesAt.get(node).add(route);
    }

    Trie build() {
      int n = children.size();
      int[] offset = new int[n];
      int size = 0;
      for (int i = 0; i < n; i++) { // nodes in creation order: a parent before its children
        offset[i] = size;
        size += 2 + routesAt.get(i).size() + 2 * children.get(i).size();
      }
      int[] t = new int[size];
      for (int i = 0; i < n; i++) {
        int o = offset[i];
        List<Integer> at = routesAt.get(i);
        t[o++] = at.size();
        for (int r : at) {
          t[o++] = r;
        }
        TreeMap<Byte, Integer> c = children.get(i);
        int k = c.size();
        t[o++] = k;
        int j = 0;
        // ascending as unsigned bytes: the walk compares h[i] & 0xff
        for (var e : new TreeMap<Integer, Integer>(toUnsigned(c)).entrySet()) {
          t[o + j] = e.getKey();
          t[o + k + j] = offset[e.getValue()];
          j++;
        }
      }
      return new Trie(t);
    }

    private static java.util.Map<Integer, Integer> toUnsigned(TreeMap<Byte, Integer> c) {
      java.util.Map<Integer, Integer> m = new java.util.HashMap<>();
      c.forEach((b, node) -> m.put(b & 0xff, node));
      return m;
    }
  }
}
