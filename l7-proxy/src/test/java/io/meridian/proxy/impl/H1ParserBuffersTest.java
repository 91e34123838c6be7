package io.meridian.proxy.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.meridian.config.ProxyConfig;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * An idle keep-alive connection holds no head buffers: they come from the event loop's pool when a request's
 * first byte arrives and go back once its response is done, so the same arrays serve the next request (of this
 * connection or another) without allocation.
 */
class H1ParserBuffersTest {
  private static int feed(H1Parser p, String s) {
    return p.feed(Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1));
  }

  @Test
  void headBuffersAreBorrowedPerRequestAndReturnedBetweenRequests() {
    H1Parser.Buffers pool = new H1Parser.Buffers(4);
    H1Parser a = H1Parser.forRequests(ProxyConfig.Limits.DEFAULT, pool);
    H1Parser b = H1Parser.forRequests(ProxyConfig.Limits.DEFAULT, pool);
    assertNull(a.head); // a new connection holds none before its first byte

    assertEquals(H1Parser.HEAD_DONE, feed(a, "GET /x HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n\r\n"));
    byte[] head = a.head;
    int[] fields = a.f;
    assertEquals("a.example", a.value(a.hostField));
    a.beginBody(false);
    a.reset();
    a.releaseBuffers(); // the response is done: idle until the next request
    assertNull(a.head);
    assertNull(a.f);
    assertEquals(1, pool.size());

    // the next request, on another connection, takes the same arrays
    assertEquals(H1Parser.HEAD_DONE, feed(b, "POST /y HTTP/1.1\r\nHost: b.example\r\nContent-Length: 0\r\n\r\n"));
    assertSame(head, b.head);
    assertSame(fields, b.f);
    assertEquals(0, pool.size());
    assertEquals("b.example", b.value(b.hostField));

    // a connection that has started its next head keeps its buffers
    b.beginBody(false);
    b.reset();
    assertEquals(H1Parser.NEED_MORE, feed(b, "GET / HT"));
    b.releaseBuffers();
    assertNotNull(b.head);
    assertEquals(0, pool.size());
  }

  @Test
  void grownHeadsAreNotKept() {
    H1Parser.Buffers pool = new H1Parser.Buffers(4);
    H1Parser p = H1Parser.forRequests(ProxyConfig.Limits.DEFAULT, pool);
    String big = "x".repeat(6000);
    assertEquals(H1Parser.HEAD_DONE, feed(p, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + big + "\r\n\r\n"));
    p.beginBody(false);
    p.reset();
    p.releaseBuffers();
    assertNull(p.head);
    assertEquals(0, pool.size()); // a 6 KB head's array goes to the GC, not into the pool
  }
}
