package io.meridian.geodns.impl;

/**
 * Client address helpers for the hot path: prefix truncation (ECS privacy caps, RFC 7871 §11.1) and literal
 * parsing without DNS lookups. The per-client key is {@link io.meridian.core.ClientKey}, shared with the proxy.
 */
final class ClientAddress {
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

  /**
   * {@link #truncate} of an address sent as {@code src[off, off + len)} ({@code len} ≤ {@code dst.length}, the rest
   * zero, as ECS sends it: RFC 7871 §6), written over all of {@code dst}; returns {@code dst}.
   */
  static byte[] truncateInto(byte[] src, int off, int len, int prefix, byte[] dst) {
    int full = Math.min(Math.min(prefix >>> 3, dst.length), len);
    System.arraycopy(src, off, dst, 0, full);
    java.util.Arrays.fill(dst, full, dst.length, (byte) 0);
    int rem = prefix & 7;
    if (rem != 0 && full < len && full == prefix >>> 3) {
      dst[full] = (byte) (src[off + full] & (0xFF << (8 - rem)));
    }
    return dst;
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
