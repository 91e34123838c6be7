package io.meridian.proxy.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A rewritten message head assembled in a plain array reused by one event loop, then copied into one direct
 * buffer of the right size: one bounds check and one copy into direct memory per head, instead of a
 * checked {@code ByteBuf} write per name, colon, value and CRLF. Touched by its loop's thread only; valid from
 * {@link #reset()} to {@link #toBuffer}.
 */
final class HeadBuilder {
  private byte[] a = new byte[1024];
  private int n;

  HeadBuilder reset() {
    n = 0;
    return this;
  }

  private void room(int more) {
    if (n + more > a.length) {
      a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, n + more));
    }
  }

  HeadBuilder bytes(byte[] b, int from, int len) {
    room(len);
    System.arraycopy(b, from, a, n, len);
    n += len;
    return this;
  }

  HeadBuilder bytes(byte[] b) {
    return bytes(b, 0, b.length);
  }

  HeadBuilder crlf() {
    room(2);
    a[n++] = '\r';
    a[n++] = '\n';
    return this;
  }

  /** {@code name: value} CRLF from a recorded head: name h[ns, ne), value h[vs, ve). */
  HeadBuilder field(byte[] h, int ns, int ne, int vs, int ve) {
    int nl = ne - ns;
    int vl = ve - vs;
    room(nl + vl + 4);
    System.arraycopy(h, ns, a, n, nl);
    n += nl;
    a[n++] = ':';
    a[n++] = ' ';
    System.arraycopy(h, vs, a, n, vl);
    n += vl;
    a[n++] = '\r';
    a[n++] = '\n';
    return this;
  }

  /**
   * The characters of {@code s} as ISO-8859-1 bytes, '?' for any other (as {@code String.getBytes} does); a
   * CharSequence so that HTTP/2's decoded fields (byte-backed {@code AsciiString}s) are copied without a String.
   */
  HeadBuilder ascii(CharSequence s) {
    int len = s.length();
    room(len);
    for (int i = 0; i < len; i++) {
      char c = s.charAt(i);
      a[n++] = c <= 0xff ? (byte) c : (byte) '?';
    }
    return this;
  }

  /** {@code s} and CRLF: one line. */
  HeadBuilder line(CharSequence s) {
    return ascii(s).crlf();
  }

  byte[] toArray() {
    return java.util.Arrays.copyOf(a, n);
  }

  int length() {
    return n;
  }

  /** The head in a new direct buffer with {@code extra} bytes of room after it (e.g. for a small body). */
  ByteBuf toBuffer(ByteBufAllocator alloc, int extra) {
    return alloc.ioBuffer(n + extra).writeBytes(a, 0, n);
  }
}
