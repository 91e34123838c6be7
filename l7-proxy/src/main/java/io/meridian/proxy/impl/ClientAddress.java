package io.meridian.proxy.impl;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Which address a request comes from. The TCP peer, unless {@code trustedHops} proxies of ours stand in front:
 * then each of them appended the address it saw to X-Forwarded-For, and the client is the entry
 * {@code trustedHops} places from the right. Entries further left were written by the client and are never
 * trusted (anyone can send X-Forwarded-For: 1.2.3.4).
 */
final class ClientAddress {
  private ClientAddress() {}

  /** Raw address bytes (4 or 16) of the client, or null when nothing parses. */
  static byte[] of(String peer, List<String> forwardedFor, int trustedHops) {
    if (trustedHops > 0 && !forwardedFor.isEmpty()) {
      // hops seen right to left: peer is hop 0, the last XFF entry hop 1, ...
      int remaining = trustedHops;
      for (int v = forwardedFor.size() - 1; v >= 0; v--) {
        String value = forwardedFor.get(v);
        int end = value.length();
        while (end > 0) {
          int comma = value.lastIndexOf(',', end - 1);
          remaining--;
          if (remaining == 0) {
            byte[] b = parse(value.substring(comma + 1, end).trim());
            return b != null ? b : parse(peer);
          }
          end = comma < 0 ? 0 : comma;
        }
      }
      // fewer entries than trusted hops: the leftmost we have is the best we know
      String first = forwardedFor.get(0);
      int comma = first.indexOf(',');
      byte[] b = parse((comma < 0 ? first : first.substring(0, comma)).trim());
      return b != null ? b : parse(peer);
    }
    return parse(peer);
  }

  /** Parses an IPv4 or IPv6 literal without any DNS lookup; null when it is not one. */
  static byte[] parse(String s) {
    if (s == null || s.isEmpty()) {
      return null;
    }
    if (s.indexOf(':') < 0) {
      return parseV4(s);
    }
    String v6 = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
    for (int i = 0; i < v6.length(); i++) {
      char c = v6.charAt(i);
      if (!(Character.digit(c, 16) >= 0 || c == ':' || c == '.' || c == '%')) {
        return null;
      }
    }
    try {
      return InetAddress.getByName(v6).getAddress(); // a literal: no lookup
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static byte[] parseV4(String s) {
    byte[] out = new byte[4];
    int part = 0;
    int value = -1;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c >= '0' && c <= '9') {
        value = (value < 0 ? 0 : value * 10) + (c - '0');
        if (value > 255) {
          return null;
        }
      } else if (c == '.' && value >= 0 && part < 3) {
        out[part++] = (byte) value;
        value = -1;
      } else {
        return null;
      }
    }
    if (part != 3 || value < 0) {
      return null;
    }
    out[3] = (byte) value;
    return out;
  }

  static String format(byte[] a) {
    if (a == null) {
      return "unknown";
    }
    if (a.length == 4) {
      return (a[0] & 255) + "." + (a[1] & 255) + "." + (a[2] & 255) + "." + (a[3] & 255);
    }
    try {
      return InetAddress.getByAddress(a).getHostAddress();
    } catch (UnknownHostException e) {
      return "unknown";
    }
  }
}
