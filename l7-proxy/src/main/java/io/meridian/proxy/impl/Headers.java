package io.meridian.proxy.impl;

import io.vertx.core.MultiMap;
import java.util.List;
import java.util.Map;

/** Header rules of a proxy (RFC 9110 §7.6): hop-by-hop removal and the forwarding headers. */
final class Headers {
  private Headers() {}

  /**
   * Hop-by-hop fields a proxy must not forward (RFC 9110 §7.6.1 and RFC 9113 §8.2.2), plus those named by
   * Connection. Compared case-insensitively without allocating; Host is not here (set via authority).
   */
  static boolean isHopByHop(String name) {
    switch (name.length()) {
      case 2:
        return name.equalsIgnoreCase("te");
      case 4:
        return name.equalsIgnoreCase("host");
      case 7:
        return name.equalsIgnoreCase("upgrade") || name.equalsIgnoreCase("trailer");
      case 10:
        return name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
      case 16:
        return name.equalsIgnoreCase("proxy-connection");
      case 17:
        return name.equalsIgnoreCase("transfer-encoding");
      default:
        return false;
    }
  }

  /** True when {@code name} is listed as a token in any Connection header value. */
  static boolean namedInConnection(List<String> connectionValues, String name) {
    for (int v = 0; v < connectionValues.size(); v++) {
      String value = connectionValues.get(v);
      int i = 0;
      int n = value.length();
      while (i < n) {
        while (i < n && (value.charAt(i) == ' ' || value.charAt(i) == ',' || value.charAt(i) == '\t')) {
          i++;
        }
        int start = i;
        while (i < n && value.charAt(i) != ',' && value.charAt(i) != ' ' && value.charAt(i) != '\t') {
          i++;
        }
        if (i - start == name.length() && value.regionMatches(true, start, name, 0, name.length())) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Copies end-to-end headers from {@code from} to {@code to}: hop-by-hop ones and those Connection names are
   * dropped (a client must not be able to strip, say, X-Forwarded-For by naming it in Connection — it is
   * re-added by the proxy afterwards anyway).
   */
  static void copyEndToEnd(MultiMap from, MultiMap to) {
    List<String> connection = from.getAll("connection");
    boolean hasConnection = !connection.isEmpty();
    for (Map.Entry<String, String> e : from) {
      String name = e.getKey();
      if (isHopByHop(name) || (hasConnection && namedInConnection(connection, name))) {
        continue;
      }
      to.add(name, e.getValue());
    }
  }
}
