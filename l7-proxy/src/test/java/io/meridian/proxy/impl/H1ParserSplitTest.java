package io.meridian.proxy.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ProxyConfig;
import io.meridian.proxy.ProxyOutcome;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The byte-level parser gives the same result however the bytes are split across reads: every split point of
 * a message, and one byte per read. A result is the list of events with the bytes consumed up to each, plus the
 * recorded head.
 */
class H1ParserSplitTest {
  private static final ProxyConfig.Limits LIMITS = ProxyConfig.Limits.DEFAULT;

  /** Feeds {@code parts} in order; returns events "HEAD@n", "BODY@n", "ERROR:label" with n bytes consumed. */
  private static List<String> run(H1Parser p, boolean response, String... parts) {
    List<String> events = new ArrayList<>();
    int consumed = 0;
    for (String part : parts) {
      ByteBuf b = Unpooled.copiedBuffer(part, StandardCharsets.ISO_8859_1);
      while (b.isReadable()) {
        int before = b.readerIndex();
        int r = p.feed(b);
        consumed += b.readerIndex() - before;
        if (r == H1Parser.ERROR) {
          events.add("ERROR:" + p.error.label());
          return events;
        }
        if (r == H1Parser.HEAD_DONE) {
          events.add("HEAD@" + consumed);
          p.beginBody(response && (p.status == 204 || p.status == 304));
          if (p.bodyDone()) {
            events.add("BODY@" + consumed);
            p.reset();
          }
        } else if (r == H1Parser.BODY_DONE) {
          events.add("BODY@" + consumed);
          p.reset();
        }
      }
    }
    return events;
  }

  /** The same message at every split point and byte by byte gives the same events as in one piece. */
  private static List<String> sameAtEverySplit(boolean response, String msg) {
    List<String> whole = run(parser(response), response, msg);
    for (int i = 1; i < msg.length(); i++) {
      assertEquals(whole, run(parser(response), response, msg.substring(0, i), msg.substring(i)), "split at " + i);
    }
    String[] bytes = msg.split("");
    assertEquals(whole, run(parser(response), response, bytes), "byte by byte");
    return whole;
  }

  private static H1Parser parser(boolean response) {
    return response ? H1Parser.forResponses() : H1Parser.forRequests(LIMITS);
  }

  @Test
  void pipelinedRequestsWithBodies() {
    String a = "POST /one?x=1 HTTP/1.1\r\nHost: app.example:8080\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5\r\nhello\r\n0\r\nTrailer-X: y\r\n\r\n";
    String b = "PUT /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    String c = "GET /three HTTP/1.0\r\nCookie: a=1; meridian-home=\"eu.1.sig\"\r\n\r\n";
    List<String> ev = sameAtEverySplit(false, a + b + c);
    int ha = a.indexOf("\r\n\r\n") + 4;
    int hb = a.length() + b.indexOf("\r\n\r\n") + 4;
    int hc = a.length() + b.length() + c.length();
    assertEquals(List.of("HEAD@" + ha, "BODY@" + a.length(), "HEAD@" + hb, "BODY@" + (a.length() + b.length()),
        "HEAD@" + hc, "BODY@" + hc), ev);
  }

  @Test
  void headIsRecorded() {
    H1Parser p = parser(false);
    ByteBuf b = Unpooled.copiedBuffer("GET /p/q?r=s HTTP/1.0\r\nHost:  a.example:81 \r\nConnection: x-a, close\r\n"
        + "X-A: 1\r\ncookie: k=v\r\n\r\n", StandardCharsets.ISO_8859_1);
    assertEquals(H1Parser.HEAD_DONE, p.feed(b));
    assertEquals("GET", new String(p.head, 0, p.methodEnd, StandardCharsets.ISO_8859_1));
    assertEquals("/p/q?r=s", new String(p.head, p.targetStart, p.targetEnd - p.targetStart, StandardCharsets.ISO_8859_1));
    assertTrue(p.http10);
    assertEquals(4, p.fields);
    assertEquals("a.example:81", p.value("host"));
    assertEquals("1", p.value(p.findIgnoreCase("X-A")));
    assertTrue(p.connectionClose);
    assertTrue(p.isHopByHop(1), "Connection itself");
    assertTrue(p.isHopByHop(2), "named in Connection");
    assertFalse(p.isHopByHop(0));
    assertFalse(p.isHopByHop(3));
    assertNull(p.value("x-b"));
  }

  @Test
  void responsesFramedEveryWay() {
    String chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\n\r\n";
    String fixed = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    String empty = "HTTP/1.1 204 No Content\r\n\r\n";
    String notModified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n";
    String all = chunked + fixed + empty + notModified;
    List<String> ev = sameAtEverySplit(true, all);
    int c = chunked.length();
    int f = c + fixed.length();
    int e = f + empty.length();
    int n = e + notModified.length();
    assertEquals(List.of("HEAD@" + (chunked.indexOf("\r\n\r\n") + 4), "BODY@" + c,
        "HEAD@" + (c + fixed.indexOf("\r\n\r\n") + 4), "BODY@" + f, "HEAD@" + e, "BODY@" + e, "HEAD@" + n,
        "BODY@" + n), ev);
  }

  @Test
  void closeDelimitedResponseRunsToTheEnd() {
    H1Parser p = parser(true);
    ByteBuf b = Unpooled.copiedBuffer("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall of this is body", StandardCharsets.ISO_8859_1);
    assertEquals(H1Parser.HEAD_DONE, p.feed(b));
    p.beginBody(false);
    assertTrue(p.untilClose());
    assertEquals(H1Parser.NEED_MORE, p.feed(b));
    assertFalse(b.isReadable());
  }

  @Test
  void smugglingShapesAreRefusedAtEverySplit() {
    String[] shapes = {
        "POST /a HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        "POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "GET /a HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
        "GET /a HTTP/1.1\nHost: x\r\n\r\n",
        "GET /a HTTP/1.1\r\nX: a\rb\r\n\r\n",
        "GET /a HTTP/1.1\r\nBad Name: a\r\n\r\n",
        "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\n\r\n",
        "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
        "POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"};
    for (String s : shapes) {
      List<String> ev = sameAtEverySplit(false, s);
      assertEquals("ERROR:" + ProxyOutcome.BAD_REQUEST.label(), ev.get(ev.size() - 1), s);
    }
  }

  /**
   * The size limits trip at the same byte however the head is split (head lines are copied in runs up to their
   * CR, the limits checked per run): the URI limit, the start-line bound while it streams, and the head bytes.
   */
  @Test
  void limitsTripAtTheSameByteAtEverySplit() {
    ProxyConfig.Limits small = new ProxyConfig.Limits(200, 10, 50, 1000, java.time.Duration.ofSeconds(10),
        java.time.Duration.ofSeconds(60), java.time.Duration.ofSeconds(30));
    java.util.function.Function<String, List<String>> check = msg -> {
      List<String> whole = run(H1Parser.forRequests(small), false, msg);
      for (int i = 1; i < msg.length(); i++) {
        assertEquals(whole, run(H1Parser.forRequests(small), false, msg.substring(0, i), msg.substring(i)),
            "split at " + i);
      }
      assertEquals(whole, run(H1Parser.forRequests(small), false, msg.split("")), "byte by byte");
      return whole;
    };
    String uri50 = "/" + "a".repeat(49);
    String atLimit = "GET " + uri50 + " HTTP/1.1\r\nHost: x\r\n\r\n";
    assertEquals(List.of("HEAD@" + atLimit.length(), "BODY@" + atLimit.length()), check.apply(atLimit));
    assertEquals(List.of("ERROR:uri_too_long"), check.apply("GET " + uri50 + "b HTTP/1.1\r\nHost: x\r\n\r\n"));
    // a start line beyond the URI limit plus 64 is refused while it streams, before its end
    assertEquals(List.of("ERROR:uri_too_long"), check.apply("GET /" + "a".repeat(200) + " HTTP/1.1\r\n\r\n"));
    // head bytes: 250 allowed (URI limit + header bytes); CRLFs count
    String fill = "X-F: " + "v".repeat(150) + "\r\n";
    assertEquals(List.of("ERROR:headers_too_large"),
        check.apply("GET / HTTP/1.1\r\nHost: x\r\n" + fill + "X-G: " + "w".repeat(60) + "\r\n\r\n"));
    List<String> ok = check.apply("GET / HTTP/1.1\r\nHost: x\r\n" + fill + "X-G: " + "w".repeat(40) + "\r\n\r\n");
    assertEquals("HEAD@" + (16 + 9 + fill.length() + 47 + 2), ok.get(0));
  }

  /** A control character in a field value is refused wherever the reads split the line; HTAB and obs-text are not. */
  @Test
  void controlCharactersInValuesAtEverySplit() {
    assertEquals(List.of("ERROR:bad_request"), sameAtEverySplit(false, "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n"));
    assertEquals(List.of("ERROR:bad_request"), sameAtEverySplit(false, "GET / HTTP/1.1\r\nX-A: a\u007fb\r\nHost: x\r\n\r\n"));
    String ok = "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\tb \u00e9\r\n\r\n";
    assertEquals(List.of("HEAD@" + ok.length(), "BODY@" + ok.length()), sameAtEverySplit(false, ok));
    // a control character in one line does not taint the next
    H1Parser p = H1Parser.forRequests(LIMITS);
    assertEquals(List.of("ERROR:bad_request"), run(p, false, "GET / HTTP/1.1\r\nX-A: \u0002\r\n\r\n"));
    p.reset();
    String next = "GET / HTTP/1.1\r\nHost: x\r\nX-B: fine\r\n\r\n";
    assertEquals(List.of("HEAD@" + next.length(), "BODY@" + next.length()), run(p, false, next));
  }
}
