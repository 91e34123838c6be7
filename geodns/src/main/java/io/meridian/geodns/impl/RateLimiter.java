package io.meridian.geodns.impl;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Response Rate Limiting (as BIND and Knot do it) against reflection and amplification: each client prefix
 * (/24, /56) may receive {@code responsesPerSecond} UDP responses per second for one (name, type); beyond that, every
 * {@code slip}-th response is sent truncated (TC=1, no records) so a real client behind a spoofed prefix can
 * still get its answer over TCP, and the rest are dropped. TCP is never limited: it cannot be spoofed.
 *
 * <p>Memory is a fixed table of {@code slots} counters, whatever the flood; prefixes that collide share a
 * counter (erring towards limiting). Lock-free: one CAS per response.
 */
final class RateLimiter {
  static final RateLimiter OFF = new RateLimiter(0, 0, 1);

  private final int perSecond;
  private final int slip;
  private final int mask;
  private final long[] keys;
  private final AtomicLongArray state; // (second << 32) | count

  private RateLimiter(int perSecond, int slip, int slots) {
    this.perSecond = perSecond;
    this.slip = slip;
    int n = Integer.highestOneBit(Math.max(1, slots - 1)) << 1;
    this.mask = n - 1;
    this.keys = new long[n];
    this.state = new AtomicLongArray(n);
  }

  /**
   * @param perSecond  responses per second per prefix; 0 disables limiting
   * @param slip       every slip-th limited response is truncated instead of dropped; 0 drops all
   * @param slots      counter table size (rounded up to a power of two)
   */
  static RateLimiter of(int perSecond, int slip, int slots) {
    return perSecond <= 0 ? OFF : new RateLimiter(perSecond, slip, slots);
  }

  boolean enabled() {
    return perSecond > 0;
  }

  /** What to do with one more response to this client (taken and applied by the rate-limit {@link Stage}). */
  enum Verdict { PASS, SLIP, DROP }

  /**
   * @param client    the transport source address
   * @param response  what is being answered (name and type): BIND's "identical responses", so one resolver
   *                  asking for many different names is not limited by one name's popularity
   */
  Verdict check(byte[] client, int response, long nowMillis) {
    if (perSecond <= 0) {
      return Verdict.PASS;
    }
    long key = prefixKey(client) * 31 + response;
    int slot = (int) (mix(key) & mask);
    long second = nowMillis / 1000;
    while (true) {
      long s = state.get(slot);
      long count = s & 0xFFFFFFFFL;
      long next;
      if ((s >>> 32) != second || keys[slot] != key) {
        next = (second << 32) | 1; // a new second, or the slot now counts another prefix
      } else {
        next = (second << 32) | Math.min(count + 1, 0xFFFFFFFFL);
      }
      if (state.compareAndSet(slot, s, next)) {
        keys[slot] = key; // racy by design: a lost write only merges two prefixes' counts for a second
        long n = next & 0xFFFFFFFFL;
        if (n <= perSecond) {
          return Verdict.PASS;
        }
        return slip > 0 && (n - perSecond) % slip == 0 ? Verdict.SLIP : Verdict.DROP;
      }
    }
  }

  /** (name, type) of a query: the question name is the wire bytes at offset 12, compared case-insensitively. */
  static int responseKey(byte[] wire, int nameLen, int qtype) {
    return FastPath.hash(wire, 12, Math.min(nameLen, wire.length - 12)) * 31 + qtype;
  }

  /** The /24 (v4) or /56 (v6) of the source, packed in a long with the family. */
  static long prefixKey(byte[] a) {
    if (a.length == 4) {
      return (1L << 40) | ((a[0] & 0xFFL) << 16) | ((a[1] & 0xFFL) << 8) | (a[2] & 0xFFL);
    }
    long k = 2L << 58;
    for (int i = 0; i < 7; i++) {
      k |= (a[i] & 0xFFL) << (8 * (6 - i));
    }
    return k;
  }

  private static long mix(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    return k;
  }
}
