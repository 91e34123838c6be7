package io.meridian.core;

/**
 * The stable per-client key that {@link RegionSelector#choose} uses to split a zone between regions (weights,
 * drains, ramps). GeoDNS and the proxy both compute it here, from the same bits, so that while a zone is split a
 * client is sent to the same region by DNS and by the proxy.
 *
 * <p>The key covers the client's IPv4 /24 or IPv6 /56: the prefixes resolvers send in EDNS Client Subnet by
 * default (RFC 7871 §11.1), so every client behind one ECS subnet shares an answer and DNS can state that
 * subnet as the answer's scope. FNV-1a over those bytes; RegionSelector mixes it further.
 */
public final class ClientKey {
  /** Bits of an IPv4 address the key covers. */
  public static final int PREFIX_V4 = 24;
  /** Bits of an IPv6 address the key covers. */
  public static final int PREFIX_V6 = 56;

  private ClientKey() {}

  /** The key of a client address (4 or 16 bytes); 0 for null (an unknown client). Allocation-free. */
  public static int of(byte[] addr) {
    if (addr == null) {
      return 0;
    }
    int n = addr.length == 4 ? PREFIX_V4 / 8 : PREFIX_V6 / 8;
    int h = 0x811C9DC5;
    for (int i = 0; i < n && i < addr.length; i++) {
      h = (h ^ (addr[i] & 0xFF)) * 0x01000193;
    }
    return h;
  }

  /** The prefix length the key covers for this address's family. */
  public static int prefix(byte[] addr) {
    return addr != null && addr.length == 4 ? PREFIX_V4 : PREFIX_V6;
  }
}
