package io.meridian.proxy.impl;

/**
 * What the routing decision reads of a client request, whatever transport parsed it: the Vert.x server (TLS
 * with ALPN h2, the h2c listener) or the proxy's own HTTP/1.1 path ({@link H1Connection}). {@link Exchange}
 * decides on this view only, so both transports share one decision (route, identity, home, residency,
 * consistency, read-your-writes, {@code RegionSelector.choose}, shedding, retries, metrics, access log).
 */
interface RequestView {
  /** The method token, e.g. {@code GET}. */
  String method();

  /** The request target as sent (origin form: path and query). */
  String uri();

  /** The path of the target, without the query. */
  String path();

  /** The Host (or :authority) value as sent, {@code host[:port]}, or null. */
  String authority();

  /** The host part of {@link #authority()}, or null. */
  String host();

  /** The first value of a header field (case-insensitive name), or null. */
  String header(String name);

  /** The value of a cookie from the Cookie header(s), or null. */
  String cookie(String name);

  /** The TCP peer's address literal, or null. */
  String peerAddress();

  /** {@code http} or {@code https}. */
  String scheme();

  /** The protocol version as Via writes it (RFC 9110 §7.6.3): {@code 1.0}, {@code 1.1} or {@code 2}. */
  String viaVersion();

  /** RFC 9110 §9.2.1 safe methods: a request that changes nothing (no read-your-writes token after it). */
  static boolean isSafe(String m) {
    return m.equals("GET") || m.equals("HEAD") || m.equals("OPTIONS") || m.equals("TRACE");
  }

  /** RFC 9110 §9.2.2 idempotent methods: repeating them has the effect of one. */
  static boolean isIdempotent(String m) {
    return isSafe(m) || m.equals("PUT") || m.equals("DELETE");
  }

  /** Finds a cookie in a Cookie header value (RFC 6265 §4.2.1: {@code name=value; name2=value2}). */
  static String cookieIn(String header, String name) {
    if (header == null) {
      return null;
    }
    int n = header.length();
    int i = 0;
    while (i < n) {
      while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == ';')) {
        i++;
      }
      int eq = header.indexOf('=', i);
      int semi = header.indexOf(';', i);
      if (semi < 0) {
        semi = n;
      }
      if (eq > 0 && eq < semi && eq - i == name.length() && header.regionMatches(i, name, 0, name.length())) {
        String v = header.substring(eq + 1, semi).trim();
        return v.length() >= 2 && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"'
            ? v.substring(1, v.length() - 1) : v;
      }
      i = semi + 1;
    }
    return null;
  }
}
