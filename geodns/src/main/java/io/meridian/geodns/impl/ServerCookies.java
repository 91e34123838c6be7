package io.meridian.geodns.impl;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * DNS server cookies (RFC 7873) in the interoperable form of RFC 9018 §4: version 1, three reserved zero bytes, a
 * 32-bit timestamp (seconds, serial arithmetic) and SipHash-2-4 keyed with the server secret over client cookie |
 * version | reserved | timestamp | client IP. Any server holding the same secret accepts the cookies of the others
 * (anycast instances, or Meridian next to BIND, Knot or gdnsd configured alike).
 *
 * <p>An immutable value swapped whole when the secret changes; no allocation on the query path.
 *
 * @param current   the secret new cookies are made with
 * @param previous  the secret before the last change, still accepted (RFC 7873 §7.1: a rollover must not turn
 *                  away the cookies handed out just before), or null
 */
record ServerCookies(Secret current, Secret previous) {
  /** Length of a version-1 server cookie. */
  static final int LENGTH = 16;
  /** RFC 9018 §4.3: a cookie older than this is not accepted... */
  static final int LIFETIME_SECONDS = 3600;
  /** ...nor one from more than this far in the future (clock skew between instances sharing a secret)... */
  static final int FUTURE_SECONDS = 300;
  /** ...and one older than this is replaced by a fresh one in the response. */
  static final int RENEW_AFTER_SECONDS = 1800;

  /** What a query's COOKIE option was found to hold (the {@code meridian_geodns_cookies_total} label). */
  enum Verdict {
    CLIENT_ONLY("client_only"), VALID("valid"), INVALID("invalid");

    final String label;

    Verdict(String label) {
      this.label = label;
    }
  }

  /** A 128-bit SipHash key as its two little-endian halves. */
  record Secret(long k0, long k1) {
    static Secret of(byte[] key) {
      if (key.length != 16) {
        throw new IllegalArgumentException("cookie secret: " + key.length + " bytes (expected: 16)");
      }
      return new Secret(le64(key, 0), le64(key, 8));
    }

    static Secret parse(String hex) {
      String h = hex.strip();
      if (h.length() != 32) {
        throw new IllegalArgumentException("cookie secret: " + h.length() + " hex digits (expected: 32)");
      }
      return of(HexFormat.of().parseHex(h));
    }

    static Secret random(SecureRandom random) {
      byte[] b = new byte[16];
      random.nextBytes(b);
      return of(b);
    }
  }

  /**
   * Checks the server cookie {@code w[sc, sc + scLen)} sent with client cookie {@code w[cc, cc + 8)} from
   * {@code ip}, and writes the server cookie to answer with into {@code out[o, o + 16)}: the one received when it
   * is valid, made with the current secret and less than half an hour old, else a fresh one.
   *
   * @param scLen  0 when the query carried only a client cookie
   * @return the verdict on what was received
   */
  Verdict respond(byte[] w, int cc, int sc, int scLen, byte[] ip, long nowSeconds, byte[] out, int o) {
    int now = (int) nowSeconds;
    Verdict v;
    boolean echo = false;
    if (scLen == 0) {
      v = Verdict.CLIENT_ONLY;
    } else if (scLen != LENGTH || w[sc] != 1 || w[sc + 1] != 0 || w[sc + 2] != 0 || w[sc + 3] != 0) {
      v = Verdict.INVALID; // another server's format, or an unknown version: not ours to check (RFC 9018 §4.3)
    } else {
      int ts = be32(w, sc + 4);
      int age = now - ts; // RFC 1982 serial arithmetic: the difference in 32 bits
      long hash = le64(w, sc + 8); // SipHash's output is little-endian on the wire
      boolean inTime = age <= LIFETIME_SECONDS && age >= -FUTURE_SECONDS;
      boolean byCurrent = inTime && hash(current, w, cc, ts, ip) == hash;
      boolean byPrevious = inTime && !byCurrent && previous != null && hash(previous, w, cc, ts, ip) == hash;
      v = byCurrent || byPrevious ? Verdict.VALID : Verdict.INVALID;
      echo = byCurrent && age < RENEW_AFTER_SECONDS && age >= 0;
    }
    if (echo) {
      System.arraycopy(w, sc, out, o, LENGTH);
    } else {
      out[o] = 1; // version
      out[o + 1] = 0;
      out[o + 2] = 0;
      out[o + 3] = 0;
      putBe32(out, o + 4, now);
      putLe64(out, o + 8, hash(current, w, cc, now, ip));
    }
    return v;
  }

  /**
   * SipHash-2-4 over client cookie (8) | 1 | 0 0 0 | timestamp (4) | client IP (4 or 16): two or four whole
   * 64-bit words, then the final block (an IPv4 address and the length, or the length alone). Locals only.
   */
  static long hash(Secret s, byte[] w, int cc, int timestamp, byte[] ip) {
    long v0 = s.k0 ^ 0x736f6d6570736575L;
    long v1 = s.k1 ^ 0x646f72616e646f6dL;
    long v2 = s.k0 ^ 0x6c7967656e657261L;
    long v3 = s.k1 ^ 0x7465646279746573L;
    boolean v6 = ip.length == 16;
    int words = v6 ? 5 : 3;
    for (int i = 0; i < words; i++) {
      long m;
      if (i == 0) {
        m = le64(w, cc);
      } else if (i == 1) {
        m = 1L | (Integer.reverseBytes(timestamp) & 0xFFFFFFFFL) << 32; // bytes 01 00 00 00 t0 t1 t2 t3
      } else if (i == words - 1) {
        m = ((long) (16 + ip.length) << 56) | (v6 ? 0 : le32(ip, 0) & 0xFFFFFFFFL);
      } else {
        m = le64(ip, (i - 2) * 8);
      }
      v3 ^= m;
      for (int r = 0; r < 2; r++) {
        v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
        v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
        v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
        v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
      }
      v0 ^= m;
    }
    v2 ^= 0xFF;
    for (int r = 0; r < 4; r++) {
      v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
      v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
      v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
      v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
    }
    return v0 ^ v1 ^ v2 ^ v3;
  }

  static long le64(byte[] b, int o) {
    return (le32(b, o) & 0xFFFFFFFFL) | ((long) le32(b, o + 4) << 32);
  }

  private static int le32(byte[] b, int o) {
    return (b[o] & 0xFF) | (b[o + 1] & 0xFF) << 8 | (b[o + 2] & 0xFF) << 16 | (b[o + 3] & 0xFF) << 24;
  }

  private static int be32(byte[] b, int o) {
    return (b[o] & 0xFF) << 24 | (b[o + 1] & 0xFF) << 16 | (b[o + 2] & 0xFF) << 8 | (b[o + 3] & 0xFF);
  }

  private static void putBe32(byte[] b, int o, int v) {
    b[o] = (byte) (v >>> 24);
    b[o + 1] = (byte) (v >>> 16);
    b[o + 2] = (byte) (v >>> 8);
    b[o + 3] = (byte) v;
  }

  private static void putLe64(byte[] b, int o, long v) {
    for (int i = 0; i < 8; i++) {
      b[o + i] = (byte) (v >>> (8 * i));
    }
  }
}
