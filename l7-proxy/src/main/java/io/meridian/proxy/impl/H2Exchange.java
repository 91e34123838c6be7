package io.meridian.proxy.impl;

import io.meridian.proxy.ProxyOutcome;
import io.meridian.proxy.ProxyTokens;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The HTTP/2-stream transport of an {@link Exchange}: the request of one {@link H2Stream} sent as HTTP/1.1 on a
 * pooled upstream connection of the same event loop (the same pools, limits and queue as the HTTP/1.1 path), and
 * the HTTP/1.1 response turned back into HEADERS and DATA frames.
 *
 * <p>Request (RFC 9113 §8.3.1, §8.2.2): {@code :method :path HTTP/1.1}; {@code :authority} becomes Host (a Host
 * field beside it is dropped); Cookie fields are joined with "; " (§8.2.3); connection-specific fields (refused by
 * the decoder anyway) and TE never go upstream; the forwarding fields are added as on every transport. A body
 * with a Content-Length goes as is (its length checked against the DATA frames by {@link H2Stream}); without one
 * it is sent chunked, and request trailers travel in the chunked trailer section. Response: the status line and
 * end-to-end fields in lower case (§8.2), hop-by-hop ones and Transfer-Encoding dropped, the body without its
 * chunk framing as DATA frames, chunked trailers as a trailing HEADERS frame. Writes respect the stream's flow
 * control: when the stream channel is not writable, reading the upstream connection pauses until it is.
 */
final class H2Exchange extends PooledExchange {
  private static final AsciiString REGION = AsciiString.cached("x-meridian-region");
  private static final byte[] HTTP11 = " HTTP/1.1\r\n".getBytes(StandardCharsets.ISO_8859_1);
  private static final byte[] CRLF = {'\r', '\n'};
  private static final byte[] LAST_CHUNK = {'0', '\r', '\n'};

  private final H2Stream stream;
  /** The request body goes upstream in chunked framing (no Content-Length). */
  private boolean chunked;
  /** The request's last byte (and trailers) went upstream. */
  private boolean requestDone;
  private boolean headWritten;
  private int status;

  H2Exchange(H2Stream stream, ProxyEngine.Snapshot s, ProxyEngine.RouteRuntime route, byte[] clientIp, int zone,
      long start, boolean hasBody) {
    super(stream.conn.loop, s, stream, route, clientIp, zone, start, hasBody);
    this.stream = stream;
  }

  // ---- request

  @Override
  void writeRequest() {
    UpstreamConn c = upc;
    c.parser.stopAtData = true; // DATA frames carry the body without its HTTP/1.1 framing
    Http2Headers in = stream.headers;
    HeadBuilder b = loop.head.reset();
    b.ascii(req.method()).ascii(" ").ascii(req.uri()).bytes(HTTP11);
    String authority = req.authority();
    b.ascii("host: ").line(authority == null ? "" : authority);
    boolean keepProto = keepsClientForwarded("x-forwarded-proto");
    boolean keepHost = keepsClientForwarded("x-forwarded-host");
    StringBuilder cookies = null;
    boolean expectContinue = false;
    for (Map.Entry<CharSequence, CharSequence> e : in) {
      CharSequence name = e.getKey();
      if (name.length() > 0 && name.charAt(0) == ':') {
        continue;
      }
      switch (fieldKind(name)) {
        case SKIP -> {
          continue;
        }
        case COOKIE -> {
          cookies = cookies == null ? new StringBuilder(e.getValue()) : cookies.append("; ").append(e.getValue());
          continue;
        }
        case EXPECT -> {
          expectContinue |= AsciiString.contentEqualsIgnoreCase(e.getValue(), "100-continue");
          continue; // answered by the proxy itself once the upstream is ready
        }
        case XFP -> {
          if (!keepProto) {
            continue;
          }
        }
        case XFH -> {
          if (!keepHost) {
            continue;
          }
        }
        default -> { }
      }
      b.ascii(name).ascii(": ").line(e.getValue());
    }
    if (cookies != null) {
      b.ascii("cookie: ").line(cookies);
    }
    chunked = hasBody && stream.contentLength < 0;
    if (chunked) {
      b.line("transfer-encoding: chunked");
    }
    b.ascii("x-forwarded-for: ").line(forwardedFor());
    if (!keepProto) {
      b.line(stream.conn.tls ? "x-forwarded-proto: https" : "x-forwarded-proto: http");
    }
    if (authority != null && !keepHost) {
      b.ascii("x-forwarded-host: ").line(authority);
    }
    b.ascii("forwarded: ").line(forwarded());
    b.ascii("via: ").line(via());
    b.crlf();
    requestWritten = true;
    c.ch.writeAndFlush(b.toBuffer(c.ch.alloc(), 0), c.ch.voidPromise());
    sent();
    if (!hasBody) {
      requestDone = true;
      return;
    }
    bodyStarted = true;
    if (expectContinue) {
      // RFC 9110 §10.1.1: the proxy answers 100 itself once it is ready for the body (Expect not forwarded)
      stream.writeHeaders(new DefaultHttp2Headers().status("100"), false, stream.voidPromise());
      stream.flush();
    }
    stream.upstreamReady();
  }

  private static final int OTHER = 0;
  private static final int SKIP = 1;
  private static final int COOKIE = 2;
  private static final int EXPECT = 3;
  private static final int XFP = 4;
  private static final int XFH = 5;

  /**
   * How a request field goes upstream: hop-by-hop and connection-specific ones (RFC 9113 §8.2.2, RFC 9110 §7.6.1),
   * Host (replaced by :authority) and the forwarding fields this proxy rewrites are skipped.
   */
  private static int fieldKind(CharSequence n) {
    return switch (n.length()) {
      case 2 -> AsciiString.contentEquals(n, "te") ? SKIP : OTHER;
      case 3 -> AsciiString.contentEquals(n, "via") ? SKIP : OTHER;
      case 4 -> AsciiString.contentEquals(n, "host") ? SKIP : OTHER;
      case 6 -> AsciiString.contentEquals(n, "cookie") ? COOKIE : AsciiString.contentEquals(n, "expect") ? EXPECT
          : OTHER;
      case 7 -> AsciiString.contentEquals(n, "upgrade") || AsciiString.contentEquals(n, "trailer") ? SKIP : OTHER;
      case 9 -> AsciiString.contentEquals(n, "forwarded") ? SKIP : OTHER;
      case 10 -> AsciiString.contentEquals(n, "connection") || AsciiString.contentEquals(n, "keep-alive") ? SKIP
          : OTHER;
      case 14 -> AsciiString.contentEquals(n, "http2-settings") ? SKIP : OTHER;
      case 15 -> AsciiString.contentEquals(n, "x-forwarded-for") ? SKIP : OTHER;
      case 16 -> AsciiString.contentEquals(n, "proxy-connection") ? SKIP
          : AsciiString.contentEquals(n, "x-forwarded-host") ? XFH : OTHER;
      case 17 -> AsciiString.contentEquals(n, "transfer-encoding") ? SKIP
          : AsciiString.contentEquals(n, "x-forwarded-proto") ? XFP : OTHER;
      default -> OTHER;
    };
  }

  /** A DATA payload of the request ({@code content} owned); {@code end}: the client ended the stream with it. */
  void requestData(ByteBuf content, boolean end) {
    UpstreamConn c = upc;
    if (c == null) {
      content.release();
      return;
    }
    int n = content.readableBytes();
    if (chunked && n > 0) {
      ByteBuf size = c.ch.alloc().buffer(12);
      size.writeCharSequence(Integer.toHexString(n), StandardCharsets.US_ASCII);
      size.writeBytes(CRLF);
      c.ch.write(size, c.ch.voidPromise());
      c.ch.write(content, c.ch.voidPromise());
      c.ch.write(Unpooled.wrappedBuffer(CRLF), c.ch.voidPromise());
    } else if (n > 0) {
      c.ch.write(content, c.ch.voidPromise());
    } else {
      content.release();
    }
    if (end) {
      endRequest(c, null);
    }
    c.ch.flush(); // while the upstream connection is not writable, the stream withholds the client's credit
  }

  /** The client's trailers, which end the request: in the chunked trailer section, else dropped. */
  void requestTrailers(Http2Headers trailers) {
    UpstreamConn c = upc;
    if (c == null) {
      return;
    }
    endRequest(c, trailers);
    c.ch.flush();
  }

  private void endRequest(UpstreamConn c, Http2Headers trailers) {
    if (requestDone) {
      return;
    }
    requestDone = true;
    if (chunked) {
      HeadBuilder b = loop.head.reset();
      b.bytes(LAST_CHUNK);
      if (trailers != null) {
        for (Map.Entry<CharSequence, CharSequence> e : trailers) {
          if (e.getKey().length() > 0 && e.getKey().charAt(0) != ':' && fieldKind(e.getKey()) == OTHER) {
            b.ascii(e.getKey()).ascii(": ").line(e.getValue());
          }
        }
      }
      b.crlf();
      c.ch.write(b.toBuffer(c.ch.alloc(), 0), c.ch.voidPromise());
    }
    bodySent(); // the response timeout runs from here
  }

  boolean upstreamWritable() {
    return upc != null && upc.ch.isWritable();
  }

  @Override
  void onUpstreamWritable() {
    stream.upstreamWritable();
  }

  void clientWritabilityChanged(boolean writable) {
    if (upc != null) {
      upc.ch.config().setAutoRead(writable);
    }
  }

  /** The client's body broke its framing or a limit: the upstream must not take what it got as a whole body. */
  void clientBodyBroken(ProxyOutcome outcome) {
    abortUpstream();
    if (!finished) {
      complete(outcome.status(), outcome);
    }
  }

  /**
   * The client sent no DATA for {@code body_idle_timeout}: the upstream connection (holding a partial body) is
   * dropped and the client gets 408 (RFC 9110 §15.5.9), counted as the client's, not the upstream's.
   */
  void clientBodyStalled() {
    abortUpstream();
    if (finished) {
      stream.reset(Http2Error.CANCEL);
      return;
    }
    complete(ProxyOutcome.BODY_TIMEOUT.status(), ProxyOutcome.BODY_TIMEOUT);
    h.engine.metrics.refused(ProxyOutcome.BODY_TIMEOUT.label());
    writeError(ProxyOutcome.BODY_TIMEOUT, null, true);
  }

  /** The stream was reset by the client or its connection closed. */
  void streamClosed() {
    clientGone();
  }

  // ---- response

  @Override
  void onResponseData(ByteBuf buf) {
    UpstreamConn c = upc;
    H1Parser rp = c.parser;
    while (buf.isReadable()) {
      if (rp.inHead()) {
        int r = rp.feed(buf);
        if (r == H1Parser.ERROR) {
          buf.release();
          if (headWritten) {
            upstreamBrokeMidBody();
          } else {
            failBeforeResponse();
          }
          return;
        }
        if (r == H1Parser.NEED_MORE) {
          break;
        }
        int st = rp.status;
        if (st < 200) {
          if (st != 101) {
            // RFC 9110 §15.2: 1xx responses are forwarded (100 Continue was the proxy's own: the upstream's goes)
            if (st != 100) {
              headersToClient(c, responseHeaders(rp, st, false), false);
            }
            rp.reset();
            rp.stopAtData = true;
            continue;
          }
          buf.release();
          failBeforeResponse(); // a switch nobody asked for (no Upgrade in HTTP/2)
          return;
        }
        if (!responded(st)) {
          buf.release(); // retried elsewhere; this connection was dropped
          return;
        }
        status = st;
        boolean noBody = st == 204 || st == 304 || "HEAD".equals(req.method());
        rp.beginBody(noBody);
        headWritten = true;
        boolean done = rp.bodyDone();
        headersToClient(c, responseHeaders(rp, st, true), done);
        if (done) {
          responseDone(c, buf);
          return;
        }
      } else {
        int r = rp.feed(buf);
        if (r == H1Parser.ERROR) {
          buf.release();
          upstreamBrokeMidBody();
          return;
        }
        int n = rp.dataEnd - rp.dataStart;
        boolean last = r == H1Parser.BODY_DONE;
        List<String> trailers = last ? rp.trailers : null;
        if (n > 0 || (last && trailers == null)) {
          ByteBuf data = n > 0 ? buf.retainedSlice(rp.dataStart, n) : Unpooled.EMPTY_BUFFER;
          dataToClient(c, data, last && trailers == null);
        }
        if (last) {
          if (trailers != null) {
            headersToClient(c, trailerHeaders(trailers), true);
          }
          responseDone(c, buf);
          return;
        }
      }
    }
    buf.release();
  }

  private void headersToClient(UpstreamConn c, Http2Headers headers, boolean end) {
    stream.writeHeaders(headers, end, end ? afterEnd() : stream.voidPromise());
    written(c);
  }

  private void dataToClient(UpstreamConn c, ByteBuf data, boolean end) {
    stream.writeData(data, end, end ? afterEnd() : stream.voidPromise());
    written(c);
  }

  /** Flushed when the upstream read ends; reading it pauses while the client's window for the stream is full. */
  private void written(UpstreamConn c) {
    c.flushTarget = stream.conn.ch;
    if (!stream.writable()) {
      c.ch.config().setAutoRead(false); // clientWritabilityChanged resumes it (WINDOW_UPDATE)
    }
  }

  /** :status and the end-to-end fields of the response head in lower case; the region and token on a final one. */
  private Http2Headers responseHeaders(H1Parser rp, int st, boolean fin) {
    Http2Headers h = new DefaultHttp2Headers(false, rp.fields + 4);
    h.status(AsciiString.of(Integer.toString(st)));
    byte[] head = rp.head;
    int[] f = rp.f;
    for (int i = 0; i < rp.fields; i++) {
      if (rp.isHopByHop(i) || rp.fieldIs(i, "x-meridian-region") || rp.fieldIs(i, "transfer-encoding")
          || (rp.chunked && rp.fieldIs(i, "content-length"))) {
        continue;
      }
      int k = 4 * i;
      h.add(lower(head, f[k], f[k + 1]), new AsciiString(head, f[k + 2], f[k + 3] - f[k + 2], true));
    }
    if (fin) {
      h.set(REGION, region.region);
      if (issuesToken(st)) {
        int i = rp.findIgnoreCase(s.proxy().readYourWrites().commitHeader());
        String token = mintToken(i < 0 ? null : rp.value(i));
        h.set(AsciiString.of(ProxyTokens.RYW_HEADER).toLowerCase(), token);
        h.add("set-cookie", tokenCookie(token));
      }
    }
    return h;
  }

  private static AsciiString lower(byte[] b, int from, int to) {
    byte[] out = new byte[to - from];
    for (int i = 0; i < out.length; i++) {
      byte c = b[from + i];
      out[i] = c >= 'A' && c <= 'Z' ? (byte) (c + 32) : c;
    }
    return new AsciiString(out, false);
  }

  private static Http2Headers trailerHeaders(List<String> lines) {
    Http2Headers h = new DefaultHttp2Headers(false);
    for (String l : lines) {
      int colon = l.indexOf(':');
      if (colon > 0) {
        String name = l.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT);
        if (fieldKind(name) == OTHER) {
          h.add(name, l.substring(colon + 1).trim());
        }
      }
    }
    return h;
  }

  private void responseDone(UpstreamConn c, ByteBuf rest) {
    boolean extra = rest.isReadable();
    rest.release();
    H1Parser rp = c.parser;
    boolean reusable = !extra && !rp.connectionClose && !rp.http10 && requestDone;
    detach();
    if (reusable) {
      rp.reset();
      if (!c.ch.config().isAutoRead()) {
        c.ch.config().setAutoRead(true);
      }
      loop.release(c.up, c, System.nanoTime());
    } else {
      c.ch.close();
    }
    complete(status, null);
  }

  /**
   * The promise of a frame that ends the response: once it is written (flow control may hold it a while) and the
   * request has not ended, RST_STREAM(NO_ERROR) asks the client to stop sending a body nobody reads (RFC 9113
   * §8.1). Reset any earlier and the queued end of the response would be dropped with the stream.
   */
  private io.netty.channel.ChannelPromise afterEnd() {
    if (stream.ended) {
      return stream.voidPromise(); // the usual case: nothing to stop
    }
    io.netty.channel.ChannelPromise p = stream.newPromise();
    p.addListener(f -> {
      if (!stream.ended) {
        stream.reset(Http2Error.NO_ERROR);
      }
    });
    return p;
  }

  @Override
  void upstreamClosed() {
    UpstreamConn c = upc;
    if (!requestWritten) {
      return; // the connect or TLS handshake listener reports it
    }
    if (!headWritten) {
      detach();
      failBeforeResponse();
    } else if (c.parser.untilClose()) {
      detach();
      stream.writeData(Unpooled.EMPTY_BUFFER, true, afterEnd()); // the close ends the body (RFC 9112 §6.3)
      stream.flush();
      complete(status, null);
    } else {
      upstreamBrokeMidBody();
    }
  }

  /** The response broke off after its head reached the client: the stream is reset, never ended cleanly. */
  private void upstreamBrokeMidBody() {
    abortUpstream();
    complete(status, ProxyOutcome.UPSTREAM_FAILED);
    stream.reset(Http2Error.INTERNAL_ERROR);
  }

  @Override
  void onResponseTimeout() {
    if (upc != null && requestWritten) {
      upc.ch.close(); // channelInactive reports the failure; timedOut makes it a 504
    }
  }

  @Override
  void writeError(ProxyOutcome outcome, String regionId, boolean close) {
    if (headWritten) {
      stream.reset(Http2Error.INTERNAL_ERROR);
      return;
    }
    if (!stream.open()) {
      return;
    }
    headWritten = true;
    byte[] body = ErrorBody.json(outcome, regionId).getBytes(StandardCharsets.UTF_8);
    Http2Headers h = new DefaultHttp2Headers().status(Integer.toString(outcome.status()))
        .add("content-type", "application/json").add(REGION, regionId == null ? "none" : regionId)
        .addInt("content-length", body.length);
    if (outcome.retryAfter()) {
      h.add("retry-after", Long.toString(Math.max(1, s.proxy().retryAfter().toSeconds())));
    }
    stream.writeHeaders(h, false, stream.voidPromise());
    stream.writeData(Unpooled.wrappedBuffer(body), true, afterEnd());
    stream.flush();
  }
}
