package io.meridian.config;

/** A {@code host:port} (or {@code [v6]:port}) to bind a listener to. */
public record ListenAddress(String host, int port) {
  /** Parses {@code host:port}; returns null when malformed so callers can report it with its location. */
  public static ListenAddress parse(String text) {
    if (text == null) {
      return null;
    }
    String host;
    String port;
    if (text.startsWith("[")) {
      int end = text.indexOf("]:");
      if (end < 0) {
        return null;
      }
      host = text.substring(1, end);
      port = text.substring(end + 2);
    } else {
      int colon = text.lastIndexOf(':');
      if (colon <= 0 || text.indexOf(':') != colon) {
        return null;
      }
      host = text.substring(0, colon);
      port = text.substring(colon + 1);
    }
    try {
      int p = Integer.parseInt(port);
      return p < 0 || p > 65535 ? null : new ListenAddress(host, p);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  @Override
  public String toString() {
    return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
  }
}
