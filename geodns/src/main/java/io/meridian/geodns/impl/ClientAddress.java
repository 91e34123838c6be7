package io.meridian.geodns.impl;

/**
 * Client address helpers for the hot path: prefix truncation (ECS privacy caps, RFC 7871 §11.1), the stable
 * per-subnet hash that keeps a resolver's answers from churning, and literal parsing without DNS lookups.
 */
final class ClientAddress {
  /** Clients in one IPv4 /24 or IPv6 /56 share a hash, so they share an answer under a weighted split. */
  static final int HASH_PREFIX_V4 = 24;
  static final int HASH_PREFIX_V6 = 56;

  private ClientAddress() {}

  /** A copy of {@code addr} with the bits after {@code prefix} cleared. */
  static byte[] truncate(byte[] addr, int prefix) {
    byte[] out = new byte[addr.length];
    int full = Math.min(prefix >>> 3, addr.length);
    System.arraycopy(addr, 0, out, 0, full);
    int rem = prefix & 7;
    if (rem != 0 && full < addr.length) {
      out[full] = (byte) (addr[full] & (0xFF << (8 - rem)));
    }
    return out;
  }

  /** FNV-1a over the /24 (v4) or /56 (v6); RegionSelector mixes it further. */
  static int subnetHash(byte[] addr) {
    int n = addr.length == 4 ? HASH_PREFIX_V4 / 8 : HASH_PREFIX_V6 / 8;
    int h = 0x811C9DC5;
    for (int i = 0; i < n && i < addr.length; i++) {
      h = (h ^ (addr[i] & 0xFF)) * 0x01000193;
    }
    return h;
  }

  /** The prefix the hash covers for this family. */
  static int hashPrefix(byte[] addr) {
    return addr.length == 4 ? HASH_PREFIX_V4 : HASH_PREFIX_V6;
  }

  /**
   * Bytes of an address literal as Vert.x reports it ("192.0.2.1", "::1", "::ffff:192.0.2.1"); IPv4-mapped IPv6
   * becomes 4 bytes so v4 clients of a dual-stack socket are located as v4. Null when not a literal.
   */
  static byte[] parse(String literal) {
    if (literal == null) {
      return null;
    }
    if (literal.indexOf(':') < 0) {
      return parseV4(literal);
    }
    int pct = literal.indexOf('%');
    String s = pct < 0 ? literal : literal.substring(0, pct);
    try {
      byte[] b = java.net.InetAddress.getByName(s).getAddress(); // contains ':' → literal, no lookup
      return b;
    } catch (java.net.UnknownHostException e) {
      return null;
    }
  }

  private static byte[] parseV4(String s) {
    byte[] out = new byte[4];
    int part = 0;
    int val = 0;
    int digits = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '.') {
        if (digits == 0 || part == 3) {
          return null;
        }
        out[part++] = (byte) val;
        val = 0;
        digits = 0;
      } else if (c >= '0' && c <= '9' && digits < 3) {
        val = val * 10 + (c - '0');
        digits++;
        if (val > 255) {
          return null;
        }
      } else {
        return null;
      }
    }
    if (part != 3 || digits == 0) {
      return null;
    }
    out[3] = (byte) val;
    return out;
  }
}
