package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.proxy.ProxyOutcome;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.AsciiString;
import java.util.ArrayDeque;
import java.util.List;

/**
 * One HTTP/2 stream of an {@link H2Connection}, kept on the codec's own stream state: the request's HEADERS (the
 * {@link RequestView} the decision reads, straight from the decoded header block), its DATA relayed to the
 * {@link H2Exchange} once an upstream connection is ready, its trailers. DATA is credited back to the client
 * (WINDOW_UPDATE) only once it has gone to an upstream connection that accepts more: before the upstream is ready,
 * or while its connection is not writable, the credit is withheld, so the client can send at most one stream window
 * ahead (RFC 9113 §5.2) — the back-pressure.
 */
final class H2Stream implements RequestView {
  private static final AsciiString COOKIE = AsciiString.cached("cookie");
  private static final AsciiString HOST = AsciiString.cached("host");
  private static final AsciiString CONTENT_LENGTH = AsciiString.cached("content-length");

  final H2Connection conn;
  final Http2Stream stream;
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
  /** DATA (and trailers) that arrived before an upstream connection was ready (at most about one stream window). */
  private ArrayDeque<Object> held;
  /** Body bytes received and not yet credited back to the client. */
  private int withheld;
  /** The exchange is ready for body bytes. */
  private boolean relaying;
  /** When the last DATA frame arrived (the body idle timeout runs from it). */
  private long lastData;
  private io.netty.util.concurrent.ScheduledFuture<?> bodyTimer;

  /** A held DATA payload (retained) and whether it ended the stream. */
  private record HeldData(ByteBuf content, boolean end) { }

  H2Stream(H2Connection conn, Http2Stream stream) {
    this.conn = conn;
    this.stream = stream;
  }

  /** The stream can still carry frames to the client. */
  boolean open() {
    return stream.state() != Http2Stream.State.CLOSED && !stream.isResetSent() && conn.ch.isActive();
  }

  /** The client's flow-control window for this stream has room (the codec queues what does not fit). */
  boolean writable() {
    return conn.encoder().flowController().isWritable(stream);
  }

  void writeHeaders(Http2Headers h, boolean end, ChannelPromise promise) {
    conn.encoder().writeHeaders(conn.ctx, stream.id(), h, 0, end, promise);
  }

  void writeData(ByteBuf data, boolean end, ChannelPromise promise) {
    conn.encoder().writeData(conn.ctx, stream.id(), data, 0, end, promise);
  }

  void flush() {
    conn.flush(conn.ctx);
  }

  ChannelPromise newPromise() {
    return conn.ctx.newPromise();
  }

  ChannelPromise voidPromise() {
    return conn.ctx.voidPromise();
  }

  void request(Http2Headers h, boolean endOfStream) {
    long start = System.nanoTime();
    headers = h;
    ended = endOfStream;
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
    ClientPeer peer = conn.peer;
    byte[] ip = peer.ip;
    int zone;
    if (cfg.trustedHops() > 0 && headers.contains("x-forwarded-for")) {
      List<String> xff = headers.getAll("x-forwarded-for").stream().map(CharSequence::toString).toList();
      ip = ClientAddress.of(peerAddress(), xff, cfg.trustedHops());
      zone = peer.zoneOf(ip);
    } else {
      zone = peer.zone();
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

  void trailers(Http2Headers trailers) {
    ended = true;
    if (x == null) {
      return;
    }
    if (!wellFormed(trailers, false)) {
      x.clientBodyBroken(ProxyOutcome.BAD_REQUEST);
      reset(Http2Error.PROTOCOL_ERROR);
      return;
    }
    if (!relaying) {
      hold(trailers);
      return;
    }
    x.requestTrailers(trailers);
  }

  /**
   * A DATA payload (the decoder's buffer, valid during the call); returns the bytes to credit back to the client now
   * (the rest is credited once it has gone upstream, {@link #creditWithheld}).
   */
  int data(ByteBuf content, boolean end) {
    lastData = System.nanoTime();
    int n = content.readableBytes();
    received += n;
    if (end) {
      ended = true;
    }
    // RFC 9113 §8.1.1: a body longer or shorter than its Content-Length is malformed; the upstream must never see
    // it (the excess would be the start of another request on its connection)
    boolean malformed = contentLength >= 0 && (received > contentLength || (end && received != contentLength));
    long max = conn.limits.maxBodyBytes();
    if (malformed || (max > 0 && received > max) || x == null) {
      if (x != null) {
        x.clientBodyBroken(malformed ? ProxyOutcome.BAD_REQUEST : ProxyOutcome.BODY_TOO_LARGE);
      }
      reset(malformed ? Http2Error.PROTOCOL_ERROR : Http2Error.CANCEL);
      return n;
    }
    if (!relaying) {
      hold(new HeldData(content.retain(), end));
      withheld += n;
      return 0;
    }
    x.requestData(content.retain(), end); // the upstream write takes the retained buffer
    if (end || x.upstreamWritable()) {
      return n;
    }
    withheld += n; // credited when the upstream connection drains (upstreamWritable)
    return 0;
  }

  private void hold(Object frame) {
    if (held == null) {
      held = new ArrayDeque<>(4);
    }
    held.add(frame);
  }

  /** Returns the withheld credit to the client: the body may come on. */
  private void creditWithheld() {
    int n = withheld;
    if (n > 0) {
      withheld = 0;
      conn.consumed(stream, n);
      flush();
    }
  }

  /** The exchange wrote the request head upstream: the body may flow now. */
  void upstreamReady() {
    relaying = true;
    ArrayDeque<Object> h = held;
    held = null;
    if (h != null) {
      Object f;
      while ((f = h.poll()) != null) {
        if (f instanceof HeldData d) {
          x.requestData(d.content(), d.end());
        } else if (f instanceof Http2Headers t) {
          x.requestTrailers(t);
        }
      }
    }
    if (!ended) {
      if (x.upstreamWritable()) {
        creditWithheld();
      }
      lastData = System.nanoTime();
      armBodyTimer(conn.limits.bodyIdleTimeout().toNanos());
    }
  }

  /**
   * {@code limits.body_idle_timeout} for a body being relayed: one timer per stream while its body flows, re-armed
   * for what remains when it fires. Reading paused by the upstream's back-pressure is not the client stalling.
   */
  private void armBodyTimer(long delayNanos) {
    bodyTimer = conn.ch.eventLoop().schedule(() -> {
      H2Exchange cur = x;
      if (ended || cur == null || cur.finished || !open()) {
        return;
      }
      long now = System.nanoTime();
      if (withheld > 0) {
        lastData = now; // the client's window is held shut by the upstream's back-pressure: not its stall
      }
      long left = conn.limits.bodyIdleTimeout().toNanos() - (now - lastData);
      if (left > 0) {
        armBodyTimer(left);
      } else {
        cur.clientBodyStalled();
      }
    }, delayNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /** The upstream connection accepts writes again: credit (and so receive) more of the body. */
  void upstreamWritable() {
    if (relaying && !ended) {
      creditWithheld();
    }
  }

  /** Ends the stream with RST_STREAM (RFC 9113 §6.4) unless it is closed already. */
  void reset(Http2Error error) {
    releaseHeld();
    if (open()) {
      conn.resetStream(conn.ctx, stream.id(), error.code(), conn.ctx.newPromise());
      flush();
    }
  }

  private void releaseHeld() {
    ArrayDeque<Object> h = held;
    held = null;
    if (h != null) {
      for (Object f : h) {
        if (f instanceof HeldData d) {
          d.content().release();
        }
      }
    }
  }

  /** The client's window for this stream opened or closed (WINDOW_UPDATE, or frames queued beyond it). */
  void clientWritabilityChanged() {
    if (x != null) {
      x.clientWritabilityChanged(writable());
    }
  }

  /** The stream closed: ended both ways, reset by either side, or its connection closed. */
  void streamGone() {
    releaseHeld();
    if (bodyTimer != null) {
      bodyTimer.cancel(false);
    }
    H2Exchange cur = x;
    if (cur != null) {
      cur.streamClosed();
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

  /**
   * Field names as HTTP/2 carries them, in lower case (RFC 9113 §8.2.1), per name asked for: the decision asks for
   * the same few names (forwarding fields, session and token headers from the config) on every request.
   */
  private static final java.util.concurrent.ConcurrentHashMap<String, AsciiString> LOWER_CASE =
      new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public String header(String name) {
    AsciiString lower = LOWER_CASE.get(name);
    if (lower == null) {
      lower = AsciiString.of(name).toLowerCase();
      if (LOWER_CASE.size() < 1024) { // names come from code and config; a bound all the same
        LOWER_CASE.putIfAbsent(name, lower);
      }
    }
    CharSequence v = headers.get(lower);
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
    return conn.peer.address();
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
