package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.proxy.ProxyOutcome;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.List;

/**
 * One HTTP/2 stream of an {@link H2Connection}, on its own child channel: the request's HEADERS (the
 * {@link RequestView} the decision reads, straight from the decoded header block), its DATA frames relayed to the
 * {@link H2Exchange} once an upstream connection is ready, its trailers. Reading the child channel is what
 * returns flow-control credit to the client (Netty sends WINDOW_UPDATE as frames are read), so pausing it when
 * the upstream connection is not writable is the back-pressure (RFC 9113 §5.2): the client can send at most one
 * stream window ahead.
 */
final class H2Stream extends ChannelInboundHandlerAdapter implements RequestView {
  private static final AsciiString COOKIE = AsciiString.cached("cookie");
  private static final AsciiString HOST = AsciiString.cached("host");
  private static final AsciiString CONTENT_LENGTH = AsciiString.cached("content-length");

  final H2Connection conn;
  final Http2StreamChannel ch;
  Http2Headers headers;
  private String method;
  private String path;
  private String authority;
  H2Exchange x;
  /** Body bytes (DATA payload) received, and the request's Content-Length or -1. */
  private long received;
  long contentLength = -1;
  /** The client ended the stream (END_STREAM seen). */
  boolean ended;
  /** DATA that arrived before an upstream connection was ready (at most about one stream window). */
  private ArrayDeque<Object> held;
  /** The exchange is ready for body bytes. */
  private boolean relaying;
  /** When the last DATA frame arrived (the body idle timeout runs from it). */
  private long lastData;
  private io.netty.util.concurrent.ScheduledFuture<?> bodyTimer;

  H2Stream(H2Connection conn, Http2StreamChannel ch) {
    this.conn = conn;
    this.ch = ch;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Http2HeadersFrame hf) {
      if (headers == null) {
        request(hf);
      } else {
        trailers(hf);
      }
      return;
    }
    if (msg instanceof Http2DataFrame df) {
      data(df);
      return;
    }
    ReferenceCountUtil.release(msg);
  }

  private void request(Http2HeadersFrame hf) {
    long start = System.nanoTime();
    headers = hf.headers();
    ended = hf.isEndStream();
    if (!wellFormed(headers, true)) {
      // RFC 9113 §8.1.1: malformed; these bytes would reach the HTTP/1.1 upstream's request line or fields
      Exchange.countRefusal(conn.loop, this, ProxyOutcome.BAD_REQUEST, start);
      reset(Http2Error.PROTOCOL_ERROR);
      return;
    }
    ProxyConfig.Limits limits = conn.limits;
    ProxyOutcome bad = check(limits);
    ProxyEngine.Snapshot s = conn.loop.engine.snapshot();
    if (bad != null) {
      Exchange.countRefusal(conn.loop, this, bad, start);
      new H2Exchange(this, s, null, null, 0, start, false).writeError(bad, null, !ended);
      return;
    }
    ProxyConfig cfg = s.proxy();
    ProxyEngine.RouteRuntime route = s.route(this);
    byte[] ip = conn.peerIp();
    int zone;
    if (cfg.trustedHops() > 0 && headers.contains("x-forwarded-for")) {
      List<String> xff = headers.getAll("x-forwarded-for").stream().map(CharSequence::toString).toList();
      ip = ClientAddress.of(peerAddress(), xff, cfg.trustedHops());
      zone = conn.zoneOf(ip);
    } else {
      zone = conn.peerZone();
    }
    if (!ended) {
      ch.config().setAutoRead(false); // not a byte of the body before an upstream is ready (a retry resends it)
    }
    x = new H2Exchange(this, s, route, ip, zone, start, !ended);
    x.begin();
  }

  /**
   * What the codec's validation leaves out and an HTTP/1.1 upstream depends on: no field value with NUL, CR or LF
   * (RFC 9113 §8.2.1: they would split the forwarded head), a method that is a token, a path in origin form (or
   * {@code *}) and an authority of visible characters without userinfo (§8.3.1) — nothing of the request line or
   * Host may hold a space or a control character.
   */
  static boolean wellFormed(Http2Headers h, boolean request) {
    for (java.util.Map.Entry<CharSequence, CharSequence> e : h) {
      CharSequence v = e.getValue();
      for (int i = 0; i < v.length(); i++) {
        char c = v.charAt(i);
        if (c == 0 || c == '\r' || c == '\n') {
          return false;
        }
      }
    }
    if (!request) {
      return true;
    }
    CharSequence m = h.method();
    if (m == null || m.length() == 0) {
      return false;
    }
    for (int i = 0; i < m.length(); i++) {
      char c = m.charAt(i);
      if (c >= 128 || !H1Parser.TCHAR[c]) {
        return false;
      }
    }
    CharSequence p = h.path();
    if (p != null && !(p.length() > 0 && (p.charAt(0) == '/' || (p.length() == 1 && p.charAt(0) == '*'))
        && visible(p, false))) {
      return false;
    }
    CharSequence a = h.authority();
    if (a == null) {
      a = h.get(HOST);
    }
    return a == null || visible(a, true);
  }

  /** Only visible ASCII (0x21–0x7e); an authority without '/', '?', '#' or '@'. */
  private static boolean visible(CharSequence s, boolean authority) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c <= 0x20 || c >= 0x7f || (authority && (c == '/' || c == '?' || c == '#' || c == '@'))) {
        return false;
      }
    }
    return true;
  }

  /**
   * The checks HTTP/2 framing leaves to the server: the request's limits, a well-formed Content-Length, and a
   * method this proxy serves (CONNECT tunnels are not offered: 400, as the HTTP/1.1 path refuses the authority form).
   */
  private ProxyOutcome check(ProxyConfig.Limits limits) {
    CharSequence p = headers.path();
    if (p != null && p.length() > limits.maxUriBytes()) {
      return ProxyOutcome.URI_TOO_LONG;
    }
    if (headers.size() > limits.maxHeaders() + 4) { // + the four request pseudo-fields
      return ProxyOutcome.HEADERS_TOO_LARGE;
    }
    List<CharSequence> cl = headers.getAll(CONTENT_LENGTH);
    if (!cl.isEmpty()) {
      long n = H1Parser.parseDecimal(cl.get(0).toString());
      for (CharSequence v : cl) {
        if (n < 0 || H1Parser.parseDecimal(v.toString()) != n) {
          return ProxyOutcome.BAD_REQUEST;
        }
      }
      contentLength = n;
      if (limits.maxBodyBytes() > 0 && n > limits.maxBodyBytes()) {
        return ProxyOutcome.BODY_TOO_LARGE;
      }
    }
    CharSequence m = headers.method();
    if (m != null && AsciiString.contentEquals(m, "CONNECT")) {
      return ProxyOutcome.BAD_REQUEST;
    }
    return null;
  }

  private void trailers(Http2HeadersFrame hf) {
    ended = true;
    if (x == null) {
      return;
    }
    if (!wellFormed(hf.headers(), false)) {
      x.clientBodyBroken(ProxyOutcome.BAD_REQUEST);
      reset(Http2Error.PROTOCOL_ERROR);
      return;
    }
    if (!relaying) {
      hold(hf);
      return;
    }
    x.requestTrailers(hf.headers());
  }

  private void data(Http2DataFrame df) {
    lastData = System.nanoTime();
    ByteBuf content = df.content();
    received += content.readableBytes();
    boolean end = df.isEndStream();
    if (end) {
      ended = true;
    }
    // RFC 9113 §8.1.1: a body longer or shorter than its Content-Length is malformed; the upstream must never see
    // it (the excess would be the start of another request on its connection)
    boolean malformed = contentLength >= 0 && (received > contentLength || (end && received != contentLength));
    long max = conn.limits.maxBodyBytes();
    if (malformed || (max > 0 && received > max) || x == null) {
      df.release();
      if (x != null) {
        x.clientBodyBroken(malformed ? ProxyOutcome.BAD_REQUEST : ProxyOutcome.BODY_TOO_LARGE);
      }
      reset(malformed ? Http2Error.PROTOCOL_ERROR : Http2Error.CANCEL);
      return;
    }
    if (!relaying) {
      hold(df);
      return;
    }
    x.requestData(content, end); // takes the frame's buffer
  }

  private void hold(Object frame) {
    if (held == null) {
      held = new ArrayDeque<>(4);
    }
    held.add(frame);
  }

  /** The exchange wrote the request head upstream: the body may flow now. */
  void upstreamReady() {
    relaying = true;
    ArrayDeque<Object> h = held;
    held = null;
    if (h != null) {
      Object f;
      while ((f = h.poll()) != null) {
        if (f instanceof Http2DataFrame df) {
          x.requestData(df.content(), df.isEndStream());
        } else if (f instanceof Http2HeadersFrame hf) {
          x.requestTrailers(hf.headers());
        }
      }
    }
    if (!ended) {
      ch.config().setAutoRead(x.upstreamWritable());
      lastData = System.nanoTime();
      armBodyTimer(conn.limits.bodyIdleTimeout().toNanos());
    }
  }

  /**
   * {@code limits.body_idle_timeout} for a body being relayed: one timer per stream while its body flows, re-armed
   * for what remains when it fires. Reading paused by the upstream's back-pressure is not the client stalling.
   */
  private void armBodyTimer(long delayNanos) {
    bodyTimer = ch.eventLoop().schedule(() -> {
      H2Exchange cur = x;
      if (ended || cur == null || cur.finished || !ch.isActive()) {
        return;
      }
      long now = System.nanoTime();
      if (!ch.config().isAutoRead()) {
        lastData = now;
      }
      long left = conn.limits.bodyIdleTimeout().toNanos() - (now - lastData);
      if (left > 0) {
        armBodyTimer(left);
      } else {
        cur.clientBodyStalled();
      }
    }, delayNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /** The upstream connection accepts writes again: read (and credit) more of the body. */
  void upstreamWritable() {
    if (relaying && !ended) {
      ch.config().setAutoRead(true);
    }
  }

  /** The upstream connection's buffer is full: stop reading the body until it drains. */
  void upstreamFull() {
    if (!ended) {
      ch.config().setAutoRead(false);
    }
  }

  /** Ends the stream with RST_STREAM (RFC 9113 §6.4) unless it is closed already. */
  void reset(Http2Error error) {
    releaseHeld();
    if (ch.isActive()) {
      ch.writeAndFlush(new DefaultHttp2ResetFrame(error));
    }
  }

  private void releaseHeld() {
    ArrayDeque<Object> h = held;
    held = null;
    if (h != null) {
      h.forEach(ReferenceCountUtil::release);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof Http2ResetFrame) {
      streamGone(); // the client cancelled the stream
    }
    ReferenceCountUtil.release(evt);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (x != null) {
      x.clientWritabilityChanged(ch.isWritable());
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    streamGone();
  }

  private void streamGone() {
    releaseHeld();
    if (bodyTimer != null) {
      bodyTimer.cancel(false);
    }
    H2Exchange cur = x;
    if (cur != null) {
      cur.streamClosed();
    }
  }

  /**
   * A stream error the codec found (malformed request, flow control, state): the multiplexer resets the stream with
   * the error's own code right after this, so closing here (which would reset it with CANCEL) must not happen.
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (io.netty.handler.codec.http2.Http2CodecUtil.getEmbeddedHttp2Exception(cause) == null) {
      ctx.close();
    }
  }

  // ---- RequestView over the decoded header block

  @Override
  public String method() {
    String m = method;
    if (m == null) {
      CharSequence v = headers.method();
      m = v == null ? "GET" : AsciiString.contentEquals(v, "GET") ? "GET" : AsciiString.contentEquals(v, "POST")
          ? "POST" : v.toString();
      method = m;
    }
    return m;
  }

  @Override
  public String uri() {
    String p = path;
    if (p == null) {
      CharSequence v = headers.path();
      p = v == null ? "/" : v.toString();
      path = p;
    }
    return p;
  }

  @Override
  public String path() {
    String u = uri();
    int q = u.indexOf('?');
    return q < 0 ? u : u.substring(0, q);
  }

  /** RFC 9113 §8.3.1: :authority, else Host (a request translated from HTTP/1.1). */
  @Override
  public String authority() {
    String a = authority;
    if (a == null) {
      CharSequence v = headers.authority();
      if (v == null) {
        v = headers.get(HOST);
      }
      a = v == null ? null : v.toString();
      authority = a;
    }
    return a;
  }

  @Override
  public String host() {
    String a = authority();
    if (a == null) {
      return null;
    }
    if (a.startsWith("[")) {
      int close = a.indexOf(']');
      return close < 0 ? a : a.substring(0, close + 1);
    }
    int colon = a.indexOf(':');
    return colon < 0 ? a : a.substring(0, colon);
  }

  @Override
  public String header(String name) {
    CharSequence v = headers.get(AsciiString.of(name).toLowerCase()); // HTTP/2 field names are lower case
    return v == null ? null : v.toString();
  }

  @Override
  public String cookie(String name) {
    for (CharSequence c : headers.getAll(COOKIE)) { // RFC 9113 §8.2.3: one crumb per field, or several
      String v = RequestView.cookieIn(c.toString(), name);
      if (v != null) {
        return v;
      }
    }
    return null;
  }

  @Override
  public String peerAddress() {
    return conn.peerAddress();
  }

  @Override
  public String scheme() {
    return conn.tls ? "https" : "http";
  }

  @Override
  public String viaVersion() {
    return "2";
  }
}
