package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.proxy.ProxyOutcome;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One client connection of the HTTP/1.1 path. Reads are parsed by one {@link H1Parser} that validates framing
 * (smuggling shapes: 400 and close) and records the head; the recorded head is also the {@link RequestView} the
 * decision reads, so no header map is built. One request at a time: bytes of a pipelined next request wait in
 * {@link #pending} until the response is done. A request body is not read before an upstream is connected (a
 * failed connect can be retried elsewhere with the body intact); then it is relayed raw, as framed, with
 * back-pressure from the upstream connection's writability.
 */
final class H1Connection extends ChannelInboundHandlerAdapter implements RequestView {
  private static final int HEAD = 0;
  /** Head parsed, a body follows, the upstream is not ready: nothing more is read. */
  private static final int BODY_WAIT = 1;
  /** Relaying the request body to the upstream. */
  private static final int BODY = 2;
  /** Request read completely; the response is under way. */
  private static final int AWAIT = 3;
  /** WebSocket after 101: raw bytes both ways. */
  private static final int TUNNEL = 4;
  private static final int CLOSED = 5;
  /** Bytes of a pipelined request held at most before reading stops. */
  private static final int MAX_PENDING = 64 * 1024;
  /** Idle this long between requests when the idle timer fires: the spare exchange and caches are dropped. */
  private static final long IDLE_RELEASE_NANOS = 5_000_000_000L;

  final H1Loop loop;
  private final ProxyConfig.Limits limits;
  final H1Parser parser;
  ChannelHandlerContext ctx;
  Channel ch;
  private int phase = HEAD;
  private ByteBuf pending;
  H1Exchange x;
  private H1Exchange spare;
  /** Inside channelRead: writes to the upstream are flushed once, at channelReadComplete. */
  boolean inRead;
  UpstreamConn flushUpstream;
  private ClientPeer peer;
  private long lastActive;
  private ScheduledFuture<?> headTimer;
  private ScheduledFuture<?> idleTimer;
  private String method;
  /** Behind TLS (the client's connection is https): scheme, X-Forwarded-Proto and Forwarded proto say so. */
  final boolean tls;

  H1Connection(H1Loop loop, ProxyConfig.Limits limits) {
    this(loop, limits, false);
  }

  H1Connection(H1Loop loop, ProxyConfig.Limits limits, boolean tls) {
    this.loop = loop;
    this.limits = limits;
    this.parser = H1Parser.forRequests(limits, loop == null ? null : loop.parserBuffers);
    this.tls = tls;
  }

  /**
   * Added to a channel that is already active (a TLS connection after its handshake and ALPN, see
   * {@link H1Server#listenTls}): channelActive has happened before, so the connection starts here.
   */
  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive() && this.ctx == null) {
      start(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (this.ctx == null) {
      start(ctx);
    }
    ctx.fireChannelActive();
  }

  private void start(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.ch = ctx.channel();
    peer = new ClientPeer(loop.engine, ch);
    lastActive = System.nanoTime();
    armIdle(Math.min(limits.idleTimeout().toNanos(), limits.bodyIdleTimeout().toNanos()));
  }

  /**
   * One timer per connection per idle period (not per request): re-armed for what remains when it fires, and never
   * for longer than the body idle timeout, so a request body that stalls is noticed in time. While the request
   * body is relayed ({@link #BODY}) the limit is {@code body_idle_timeout}: a client that stops sending mid-body
   * gets 408 and the upstream connection (holding a partial body) is dropped. Reading paused by back-pressure
   * from the upstream is not the client stalling.
   */
  private void armIdle(long delayNanos) {
    idleTimer = ctx.executor().schedule(() -> {
      if (phase == CLOSED) {
        return;
      }
      long now = System.nanoTime();
      boolean body = phase == BODY;
      if (body && !ch.config().isAutoRead()) {
        lastActive = now; // waiting for the upstream to take more: the client is not idle
      }
      long left = (body ? limits.bodyIdleTimeout() : limits.idleTimeout()).toNanos() - (now - lastActive);
      if (left > 0 && phase == HEAD && !parser.headStarted && now - lastActive >= IDLE_RELEASE_NANOS) {
        // idle between requests for 5 s or more: what only saves work on the next request goes, so that a
        // connection kept open but unused costs little (the exchange object, the forwarding fields, the peer's
        // text form); checked when this timer fires (every body_idle_timeout, 30 s by default)
        spare = null;
        fwdBlock = null;
        fwdHost = null;
        peer.forgetText();
      }
      if (left > 0) {
        armIdle(Math.min(left, limits.bodyIdleTimeout().toNanos()));
      } else if (body) {
        bodyStalled();
      } else {
        ch.close();
      }
    }, delayNanos, TimeUnit.NANOSECONDS);
  }

  /** The client sent no body byte for {@code body_idle_timeout}: 408 (RFC 9110 §15.5.9) and close. */
  private void bodyStalled() {
    H1Exchange cur = x;
    boolean answered = cur != null && cur.headWritten();
    if (cur != null) {
      cur.clientBodyStalled(); // the partial body never reaches the upstream as a whole one
    }
    phase = CLOSED;
    releasePending();
    if (answered) {
      ch.close(); // the upstream's answer is under way: nothing can follow it
      return;
    }
    loop.engine.metrics.refused(ProxyOutcome.BODY_TIMEOUT.label()); // the exchange counted the request itself
    ch.writeAndFlush(Unpooled.wrappedBuffer(SmugglingGuard.rejection(ProxyOutcome.BODY_TIMEOUT)))
        .addListener(ChannelFutureListener.CLOSE);
  }

  void touch(long now) {
    lastActive = now;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf buf)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    inRead = true;
    try {
      switch (phase) {
        case HEAD -> {
          long now = System.nanoTime();
          lastActive = now;
          processHeads(buf, now); // the read's time is the request's start: one clock read for both
        }
        case BODY -> {
          lastActive = System.nanoTime();
          relayBody(buf);
        }
        case TUNNEL -> {
          lastActive = System.nanoTime();
          x.tunnelToUpstream(buf);
        }
        case CLOSED -> buf.release();
        default -> hold(buf); // BODY_WAIT, AWAIT: a body not to be read yet, or a pipelined request
      }
    } finally {
      inRead = false;
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    UpstreamConn u = flushUpstream;
    if (u != null) {
      flushUpstream = null;
      u.ch.flush();
    }
    ctx.fireChannelReadComplete();
  }

  private void hold(ByteBuf buf) {
    if (pending == null) {
      pending = buf;
    } else {
      CompositeByteBuf c = pending instanceof CompositeByteBuf cc ? cc : ch.alloc().compositeBuffer(64)
          .addComponent(true, pending);
      c.addComponent(true, buf);
      pending = c;
    }
    if (pending.readableBytes() > MAX_PENDING) {
      ch.config().setAutoRead(false);
    }
  }

  /**
   * Parses heads from {@code buf} (owned); stops at the first complete head and hands it to an exchange that
   * started at {@code now}.
   */
  private void processHeads(ByteBuf buf, long now) {
    int r = parser.feed(buf);
    if (r == H1Parser.ERROR) {
      buf.release();
      reject(parser.error);
      return;
    }
    if (r == H1Parser.NEED_MORE) {
      buf.release();
      if (parser.headStarted && headTimer == null) {
        // a head split across reads: give the client the header-read timeout to finish it
        headTimer = ctx.executor().schedule(() -> {
          if (phase == HEAD && parser.inHead() && parser.headStarted) {
            reject(null);
          }
        }, limits.headerReadTimeout().toMillis(), TimeUnit.MILLISECONDS);
      }
      return;
    }
    if (headTimer != null) {
      headTimer.cancel(false);
      headTimer = null;
    }
    if (parser.h2Preface) {
      buf.release();
      reject(ProxyOutcome.BAD_REQUEST); // this listener speaks HTTP/1.x; h2c has its own (proxy.h2c_listen)
      return;
    }
    parser.beginBody(false);
    if (buf.isReadable()) {
      pending = buf;
    } else {
      buf.release();
    }
    boolean body = !parser.bodyDone();
    phase = body ? BODY_WAIT : AWAIT;
    if (body) {
      ch.config().setAutoRead(false); // not a byte of the body before an upstream is ready
    }
    startExchange(body, now);
  }

  private void startExchange(boolean body, long start) {
    method = null;
    ProxyEngine.Snapshot s = loop.engine.snapshot();
    ProxyConfig cfg = s.proxy();
    ProxyEngine.RouteRuntime route = s.route(this); // on the head's bytes: no path or host String
    byte[] ip = peer.ip;
    if (cfg.trustedHops() > 0) {
      int xff = parser.find("x-forwarded-for");
      if (xff >= 0) {
        ip = ClientAddress.of(peerAddress(), forwardedForValues(), cfg.trustedHops());
      }
    }
    int zone = ip == peer.ip ? peer.zone() : peer.zoneOf(ip);
    H1Exchange spare = this.spare;
    this.spare = null;
    // one exchange object per connection, reused: the connection serves one request at a time
    x = spare != null ? spare.reuse(s, route, ip, zone, start, body) : new H1Exchange(this, s, route, ip, zone, start, body);
    x.begin();
  }

  private List<String> forwardedForValues() {
    List<String> out = new java.util.ArrayList<>(2);
    for (int i = 0; i < parser.fields; i++) {
      if (parser.fieldIs(i, "x-forwarded-for")) {
        out.add(parser.value(i));
      }
    }
    return out;
  }

  /** The exchange has an upstream connection and wrote the head: the body may flow now. */
  void upstreamReady() {
    if (phase != BODY_WAIT) {
      return;
    }
    phase = BODY;
    ByteBuf p = pending;
    pending = null;
    if (p != null) {
      boolean was = inRead;
      inRead = true; // batch: one flush below
      relayBody(p);
      inRead = was;
    }
    if (phase == BODY || phase == AWAIT) {
      UpstreamConn u = flushUpstream;
      if (u != null && !inRead) {
        flushUpstream = null;
        u.ch.flush();
      }
      if (phase == BODY && x != null && x.upstreamWritable()) {
        ch.config().setAutoRead(true);
      }
    }
  }

  /** Relays the body bytes of {@code buf} (owned) to the upstream as they are framed; keeps what follows. */
  private void relayBody(ByteBuf buf) {
    int from = buf.readerIndex();
    int r = parser.feed(buf);
    if (r == H1Parser.ERROR) {
      buf.release();
      // part of the body may be upstream already: drop that connection so the upstream never sees a truncated
      // body as whole, then answer 400 and close
      if (x != null) {
        x.clientBodyBroken();
      }
      reject(parser.error);
      return;
    }
    int n = buf.readerIndex() - from;
    if (n > 0) {
      x.writeBody(buf.retainedSlice(from, n));
    }
    if (r == H1Parser.BODY_DONE) {
      phase = AWAIT;
      x.bodySent(); // the response timeout runs from here, not from the head (a slow upload is not the upstream's)
      if (buf.isReadable()) {
        hold(buf);
        return;
      }
    }
    buf.release();
    if (phase == BODY && !x.upstreamWritable()) {
      ch.config().setAutoRead(false); // the upstream's channelWritabilityChanged resumes reading
    }
  }

  /**
   * Whether the client wants the connection kept after this request: HTTP/1.1 unless {@code Connection: close},
   * HTTP/1.0 only with {@code Connection: keep-alive} (RFC 9112 §9.3, and its Appendix C.2.2 for 1.0).
   */
  boolean clientKeepsAlive() {
    return !parser.connectionClose && (!parser.http10 || parser.connectionKeepAlive);
  }

  /** Whether the request has been read completely (its body relayed). */
  boolean requestDone() {
    return phase == AWAIT || phase == TUNNEL;
  }

  /** The upstream accepts writes again: resume reading the body. */
  void upstreamWritable() {
    if (phase == BODY || phase == TUNNEL) {
      ch.config().setAutoRead(true);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (x != null) {
      x.clientWritabilityChanged(ch.isWritable());
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** WebSocket accepted by the upstream (101 relayed): raw bytes both ways from now on. */
  void startTunnel() {
    phase = TUNNEL;
    ByteBuf p = pending;
    pending = null;
    if (p != null) {
      x.tunnelToUpstream(p);
    }
    ch.config().setAutoRead(true);
  }

  /**
   * The exchange is over. {@code keepAlive}: the response was complete and framed, so the connection can carry
   * the next request — unless the client asked to close, spoke HTTP/1.0, or its request was not read whole.
   */
  void exchangeDone(boolean keepAlive) {
    H1Exchange done = x;
    if (done != null && done.finished && done.idle()) {
      spare = done;
    }
    x = null;
    if (phase == CLOSED) {
      return;
    }
    if (!keepAlive || phase != AWAIT || !clientKeepsAlive()) {
      closeAfterFlush();
      return;
    }
    phase = HEAD;
    parser.reset();
    if (!ch.config().isAutoRead()) {
      ch.config().setAutoRead(true);
    }
    ByteBuf p = pending;
    if (p == null) {
      parser.releaseBuffers(); // idle until the next request: its head buffers serve other connections meanwhile
    } else {
      pending = null;
      // a pipelined request: parsed on a fresh task, not inside the upstream's read that finished this one
      ctx.executor().execute(() -> {
        if (phase == HEAD) {
          inRead = true;
          processHeads(p, System.nanoTime());
          inRead = false;
          channelReadComplete0();
          ch.flush();
        } else {
          p.release();
        }
      });
    }
  }

  private void channelReadComplete0() {
    UpstreamConn u = flushUpstream;
    if (u != null) {
      flushUpstream = null;
      u.ch.flush();
    }
  }

  void closeAfterFlush() {
    if (phase == CLOSED) {
      return;
    }
    phase = CLOSED;
    releasePending();
    ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
  }

  /** A request refused at the framing level: 4xx (408 for {@code null}: header-read timeout) and close. */
  private void reject(ProxyOutcome outcome) {
    if (phase == CLOSED) {
      return;
    }
    if (outcome == null) {
      loop.engine.metrics.refused("header_timeout");
      loop.engine.metrics.request("none", "none", "none", 408);
    } else {
      loop.engine.metrics.refused(outcome.label());
      loop.engine.metrics.request("none", "none", "none", outcome.status());
    }
    phase = CLOSED;
    releasePending();
    if (x != null && x.headWritten()) {
      ch.close(); // a response is under way: it cannot be followed by another
      return;
    }
    ch.writeAndFlush(Unpooled.wrappedBuffer(SmugglingGuard.rejection(outcome))).addListener(ChannelFutureListener.CLOSE);
  }

  private void releasePending() {
    if (pending != null) {
      pending.release();
      pending = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    phase = CLOSED;
    releasePending();
    if (headTimer != null) {
      headTimer.cancel(false);
    }
    if (idleTimer != null) {
      idleTimer.cancel(false);
    }
    H1Exchange cur = x;
    x = null;
    if (cur != null) {
      cur.clientClosed();
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close(); // a reset by the peer, mostly: nothing to answer
  }

  private byte[] fwdBlock;
  private byte[] fwdHost;
  private boolean fwdHttp10;

  /**
   * The forwarding fields for a request that brought none of its own: they depend only on the peer, the Host
   * value and the version, so a keep-alive connection builds them once, not per request.
   */
  byte[] forwardingBlock(H1Exchange x) {
    int i = parser.hostField;
    byte[] h = parser.head;
    int vs = i < 0 ? 0 : parser.f[4 * i + 2];
    int ve = i < 0 ? 0 : parser.f[4 * i + 3];
    byte[] cached = fwdBlock;
    if (cached != null && fwdHttp10 == parser.http10 && (i < 0 ? fwdHost == null
        : fwdHost != null && java.util.Arrays.equals(fwdHost, 0, fwdHost.length, h, vs, ve))) {
      return cached;
    }
    HeadBuilder b = new HeadBuilder(); // not the loop's: the request head is being assembled there
    x.writeForwarding(b, false, false);
    byte[] block = b.toArray();
    fwdBlock = block;
    fwdHost = i < 0 ? null : java.util.Arrays.copyOfRange(h, vs, ve);
    fwdHttp10 = parser.http10;
    return block;
  }

  // ---- RequestView over the recorded head

  @Override
  public String method() {
    String m = method;
    if (m == null) {
      byte[] h = parser.head;
      int n = parser.methodEnd;
      m = n == 3 && h[0] == 'G' && h[1] == 'E' && h[2] == 'T' ? "GET"
          : n == 4 && h[0] == 'P' && h[1] == 'O' && h[2] == 'S' && h[3] == 'T' ? "POST"
          : n == 4 && h[0] == 'H' && h[1] == 'E' && h[2] == 'A' && h[3] == 'D' ? "HEAD"
          : n == 3 && h[0] == 'P' && h[1] == 'U' && h[2] == 'T' ? "PUT"
          : new String(h, 0, n, StandardCharsets.ISO_8859_1);
      method = m;
    }
    return m;
  }

  @Override
  public String uri() {
    return new String(parser.head, parser.targetStart, parser.targetEnd - parser.targetStart,
        StandardCharsets.ISO_8859_1);
  }

  @Override
  public String path() {
    if (parser.emptyPath) {
      return "/";
    }
    byte[] h = parser.head;
    int end = pathEnd();
    if (end - parser.targetStart == 1 && h[parser.targetStart] == '/') {
      return "/";
    }
    return new String(h, parser.targetStart, end - parser.targetStart, StandardCharsets.ISO_8859_1);
  }

  /** Where the path of the target ends in the recorded head (at the query's '?', or the target's end). */
  int pathEnd() {
    byte[] h = parser.head;
    int end = parser.targetStart;
    while (end < parser.targetEnd && h[end] != '?') {
      end++;
    }
    return end;
  }

  @Override
  public String authority() {
    if (parser.absoluteForm) { // the target's authority (RFC 9112 §3.2.2); a Host beside it names the same
      return new String(parser.head, parser.authStart, parser.authEnd - parser.authStart, StandardCharsets.ISO_8859_1);
    }
    int i = parser.hostField;
    return i < 0 ? null : parser.value(i);
  }

  @Override
  public String host() {
    long r = hostRange();
    return r < 0 ? null
        : new String(parser.head, (int) (r >>> 32), (int) r - (int) (r >>> 32), StandardCharsets.ISO_8859_1);
  }

  /**
   * Where {@link #host()} lies in the recorded head, as {@code start << 32 | end}, or -1 without a Host field:
   * the route match compares these bytes without making the String.
   */
  long hostRange() {
    int i = parser.hostField;
    if (i < 0 && !parser.absoluteForm) {
      return -1;
    }
    byte[] h = parser.head;
    int vs = parser.absoluteForm ? parser.authStart : parser.f[4 * i + 2];
    int ve = parser.absoluteForm ? parser.authEnd : parser.f[4 * i + 3];
    int end = ve;
    if (vs < ve && h[vs] == '[') { // IPv6 literal
      int close = vs;
      while (close < ve && h[close] != ']') {
        close++;
      }
      end = Math.min(ve, close + 1);
    } else {
      for (int k = vs; k < ve; k++) {
        if (h[k] == ':') {
          end = k;
          break;
        }
      }
    }
    return (long) vs << 32 | end;
  }

  @Override
  public String header(String name) {
    int i = parser.findIgnoreCase(name);
    return i < 0 ? null : parser.value(i);
  }

  @Override
  public String cookie(String name) {
    for (int i = 0; i < parser.fields; i++) {
      if (parser.fieldIs(i, "cookie")) {
        String v = RequestView.cookieIn(parser.value(i), name);
        if (v != null) {
          return v;
        }
      }
    }
    return null;
  }

  @Override
  public String peerAddress() {
    return peer.address();
  }

  @Override
  public String scheme() {
    return tls ? "https" : "http";
  }

  @Override
  public String viaVersion() {
    return parser.http10 ? "1.0" : "1.1";
  }
}
