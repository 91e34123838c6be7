package io.meridian.proxy.impl;

import io.meridian.proxy.ProxyOutcome;
import io.meridian.proxy.ProxyTokens;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;

/**
 * The HTTP/1.1-path transport of an {@link Exchange}: the request head rewritten as bytes from the recorded one
 * (hop-by-hop fields dropped, forwarding fields added) on a pooled or new upstream connection, the body relayed
 * raw as the client framed it, the response head parsed byte by byte and rewritten (hop-by-hop dropped,
 * X-Meridian-Region and read-your-writes token added), its body relayed raw as the upstream framed it. A
 * WebSocket upgrade answered 101 becomes a raw tunnel both ways.
 */
final class H1Exchange extends PooledExchange {
  private static final byte[] HTTP11 = " HTTP/1.1\r\n".getBytes(StandardCharsets.ISO_8859_1);
  private static final byte[] HTTP10 = " HTTP/1.0\r\n".getBytes(StandardCharsets.ISO_8859_1);
  /**
   * A response body of at most this many bytes that arrives with its head is copied behind the head: one write
   * of both to the client instead of a gather write of two buffers.
   */
  private static final int SMALL_BODY = 4096;
  private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);

  final H1Connection conn;
  private final H1Parser q;
  private boolean websocket;
  private boolean headWritten;
  private boolean tunnel;
  private int status;
  /** The response head told the client the connection closes after it. */
  private boolean closeClient;

  H1Exchange(H1Connection conn, ProxyEngine.Snapshot s, ProxyEngine.RouteRuntime route, byte[] clientIp, int zone,
      long start, boolean hasBody) {
    super(conn.loop, s, conn, route, clientIp, zone, start, hasBody);
    this.conn = conn;
    this.q = conn.parser;
    this.websocket = q.upgradeWebsocket;
  }

  /** This object again, for the connection's next request (the previous one is finished, see init). */
  H1Exchange reuse(ProxyEngine.Snapshot s, ProxyEngine.RouteRuntime route, byte[] clientIp, int zone, long start,
      boolean hasBody) {
    upc = null;
    requestWritten = false;
    headWritten = false;
    tunnel = false;
    status = 0;
    closeClient = false;
    queuedOn = null;
    websocket = q.upgradeWebsocket;
    init(s, route, clientIp, zone, start, hasBody);
    return this;
  }

  /** No upstream connection attached: nothing can call back into this object for its finished request. */
  boolean idle() {
    return upc == null;
  }

  boolean headWritten() {
    return headWritten;
  }

  // ---- request

  @Override
  void writeRequest() {
    UpstreamConn c = upc;
    byte[] h = q.head;
    HeadBuilder b = conn.loop.head.reset();
    if (q.absoluteForm) {
      // RFC 9112 §3.2.1: to an origin server the target goes in origin form, "/" for an empty path
      b.bytes(h, 0, q.methodEnd + 1);
      if (q.emptyPath) {
        b.ascii("/");
      }
      b.bytes(h, q.targetStart, q.targetEnd - q.targetStart);
    } else {
      b.bytes(h, 0, q.targetEnd);
    }
    b.bytes(q.http10 ? HTTP10 : HTTP11);
    // which forwarding fields the client sent: usually none, and then the block is the connection's cached one
    int sent = 0;
    for (int i = 0; i < q.fields; i++) {
      sent |= forwardingField(i);
    }
    boolean trusted = s.proxy().trustedHops() > 0;
    boolean keepProto = trusted && (sent & XFP) != 0;
    boolean keepHost = trusted && (sent & XFH) != 0;
    boolean ownContinue = hasBody && q.expectContinue;
    boolean hasHost = false;
    int[] f = q.f;
    for (int i = 0; i < q.fields; i++) {
      int kind = forwardingField(i);
      if (kind != 0 && !(kind == XFP && keepProto) && !(kind == XFH && keepHost) && !(kind == EXPECT && !ownContinue)) {
        continue; // rewritten below, or answered by the proxy (Expect)
      }
      if (q.isHopByHop(i)) {
        continue;
      }
      if (!hasHost && q.fieldIs(i, "host")) {
        hasHost = true;
      }
      int k = 4 * i;
      b.field(h, f[k], f[k + 1], f[k + 2], f[k + 3]);
    }
    if (!hasHost && q.absoluteForm) {
      b.ascii("host: ").line(req.authority()); // HTTP/1.0 in absolute form without Host
    }
    if (q.chunked) {
      b.line("transfer-encoding: chunked");
    }
    if (websocket) {
      b.line("connection: upgrade");
      b.line("upgrade: websocket");
    }
    if ((sent & ~EXPECT) == 0 && !trusted) {
      b.bytes(conn.forwardingBlock(this));
    } else {
      writeForwarding(b, keepProto, keepHost);
    }
    b.crlf();
    ByteBuf out = b.toBuffer(c.ch.alloc(), 0);
    requestWritten = true;
    c.ch.write(out, c.ch.voidPromise());
    if (conn.inRead) {
      conn.flushUpstream = c;
    } else {
      c.ch.flush();
    }
    sent();
    if (hasBody) {
      bodyStarted = true;
      if (ownContinue) {
        // RFC 9110 §10.1.1: the proxy answers 100 itself once it is ready for the body (Expect not forwarded)
        conn.ch.writeAndFlush(Unpooled.wrappedBuffer(CONTINUE));
      }
      conn.upstreamReady();
    }
  }

  /** X-Forwarded-For/-Proto/-Host, Forwarded and Via as this request needs them (RFC 9110 §7.6, RFC 7239). */
  void writeForwarding(HeadBuilder b, boolean keepProto, boolean keepHost) {
    b.ascii("x-forwarded-for: ").line(forwardedFor());
    if (!keepProto) {
      b.line(conn.tls ? "x-forwarded-proto: https" : "x-forwarded-proto: http");
    }
    String authority = req.authority();
    if (authority != null && !keepHost) {
      b.ascii("x-forwarded-host: ").line(authority);
    }
    b.ascii("forwarded: ").line(forwarded());
    b.ascii("via: ").line(via());
  }

  private static final int VIA = 1;
  private static final int FORWARDED = 2;
  private static final int XFF = 4;
  private static final int XFH = 8;
  private static final int XFP = 16;
  private static final int EXPECT = 32;

  /** Which of the fields this proxy rewrites (forwarding) or answers itself (Expect) field i is; 0: none. */
  private int forwardingField(int i) {
    int len = q.f[4 * i + 1] - q.f[4 * i];
    return switch (len) {
      case 3 -> q.fieldIs(i, "via") ? VIA : 0;
      case 6 -> q.fieldIs(i, "expect") ? EXPECT : 0;
      case 9 -> q.fieldIs(i, "forwarded") ? FORWARDED : 0;
      case 15 -> q.fieldIs(i, "x-forwarded-for") ? XFF : 0;
      case 16 -> q.fieldIs(i, "x-forwarded-host") ? XFH : 0;
      case 17 -> q.fieldIs(i, "x-forwarded-proto") ? XFP : 0;
      default -> 0;
    };
  }

  void writeBody(ByteBuf slice) {
    forwardToUpstream(slice);
  }

  /**
   * Writes {@code buf} to the upstream, flushed now or, during a client read, once that read is done (one flush
   * per read burst); null, with {@code buf} released, when there is no upstream.
   */
  private UpstreamConn forwardToUpstream(ByteBuf buf) {
    UpstreamConn c = upc;
    if (c == null) {
      buf.release();
      return null;
    }
    c.ch.write(buf, c.ch.voidPromise());
    if (conn.inRead) {
      conn.flushUpstream = c;
    } else {
      c.ch.flush();
    }
    return c;
  }

  @Override
  void onUpstreamWritable() {
    conn.upstreamWritable();
  }

  boolean upstreamWritable() {
    return upc != null && upc.ch.isWritable();
  }

  void clientWritabilityChanged(boolean writable) {
    if (upc != null) {
      upc.ch.config().setAutoRead(writable);
    }
  }

  void tunnelToUpstream(ByteBuf buf) {
    UpstreamConn c = forwardToUpstream(buf);
    if (c != null && !c.ch.isWritable()) {
      conn.ch.config().setAutoRead(false);
    }
  }

  /** The client's body broke its framing mid-way: the upstream must not take what it got as a whole body. */
  void clientBodyBroken() {
    abortUpstream();
    if (!finished) {
      complete(400, ProxyOutcome.BAD_REQUEST);
    }
  }

  /** The client's body stalled past the body idle timeout: counted as the client's 408, not the upstream's. */
  void clientBodyStalled() {
    abortUpstream();
    if (!finished) {
      complete(408, ProxyOutcome.BODY_TIMEOUT);
    }
  }

  void clientClosed() {
    if (tunnel) {
      abortUpstream();
      complete(101, null);
      return;
    }
    clientGone();
  }

  // ---- response

  @Override
  void onResponseData(ByteBuf buf) {
    UpstreamConn c = upc;
    H1Parser rp = c.parser;
    if (tunnel) {
      toClient(c, buf);
      return;
    }
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
        if (st < 200 && st != 101) {
          toClient(c, interimHead(rp)); // 100 / 103: relayed, the final response follows
          rp.reset();
          continue;
        }
        if (!responded(st)) {
          buf.release(); // retried elsewhere; this connection was dropped
          return;
        }
        status = st;
        if (st == 101) {
          if (!websocket) {
            buf.release();
            upstreamBrokeMidBody(); // a switch nobody asked for
            return;
          }
          toClient(c, responseHead(rp, true, 0));
          headWritten = true;
          tunnel = true;
          conn.startTunnel();
          region.latency(h.engine.metrics).observe((System.nanoTime() - sentAt) / 1e9);
          if (buf.isReadable()) {
            toClient(c, buf);
          } else {
            buf.release();
          }
          return;
        }
        boolean noBody = st == 204 || st == 304 || "HEAD".equals(req.method());
        rp.beginBody(noBody);
        int readable = buf.readableBytes();
        ByteBuf head = responseHead(rp, false, rp.bodyDone() || readable > SMALL_BODY ? 0 : readable);
        headWritten = true;
        if (rp.bodyDone()) {
          toClient(c, head);
          responseDone(c, buf);
          return;
        }
        if (readable > 0 && readable <= SMALL_BODY) {
          // the body (or its first part) came with the head: one buffer, one write(2) of both to the client
          int from = buf.readerIndex();
          int body = rp.feed(buf);
          if (body != H1Parser.ERROR) {
            head.writeBytes(buf, from, buf.readerIndex() - from);
          }
          toClient(c, head);
          if (body == H1Parser.ERROR) {
            buf.release();
            upstreamBrokeMidBody();
            return;
          }
          if (body == H1Parser.BODY_DONE) {
            responseDone(c, buf);
            return;
          }
          continue;
        }
        toClient(c, head);
      } else {
        int from = buf.readerIndex();
        int r = rp.feed(buf);
        if (r == H1Parser.ERROR) {
          buf.release();
          upstreamBrokeMidBody();
          return;
        }
        int n = buf.readerIndex() - from;
        if (n > 0) {
          toClient(c, buf.retainedSlice(from, n));
        }
        if (r == H1Parser.BODY_DONE) {
          responseDone(c, buf);
          return;
        }
      }
    }
    buf.release();
  }

  private void toClient(UpstreamConn c, ByteBuf b) {
    conn.ch.write(b, conn.ch.voidPromise()); // no promise per write: failures close the channel
    c.flushTarget = conn.ch;
    if (!conn.ch.isWritable()) {
      c.ch.config().setAutoRead(false); // the client's channelWritabilityChanged resumes it
    }
  }

  private void responseDone(UpstreamConn c, ByteBuf rest) {
    boolean extra = rest.isReadable();
    rest.release();
    H1Parser rp = c.parser;
    boolean reusable = !extra && !rp.connectionClose && !rp.http10 && !q.http10 && conn.requestDone();
    c.x = null;
    upc = null;
    long now = System.nanoTime(); // one clock read: the client's last activity and the upstream's idle start
    if (reusable) {
      rp.reset();
      if (!c.ch.config().isAutoRead()) { // setAutoRead is an atomic swap even when nothing changes
        c.ch.config().setAutoRead(true);
      }
      conn.loop.release(c.up, c, now);
    } else {
      c.ch.close();
    }
    conn.touch(now);
    complete(status, null);
    conn.exchangeDone(!closeClient);
  }

  /** The upstream connection closed while this exchange used it. */
  @Override
  void upstreamClosed() {
    UpstreamConn c = upc;
    if (!requestWritten) {
      return; // the connect or TLS handshake listener reports it
    }
    if (tunnel) {
      upc = null;
      c.x = null;
      complete(101, null);
      conn.exchangeDone(false);
      return;
    }
    if (!headWritten) {
      detach();
      failBeforeResponse();
    } else if (c.parser.untilClose()) {
      upc = null;
      c.x = null;
      complete(status, null); // the close delimits the body (RFC 9112 §6.3 rule 8)
      conn.exchangeDone(false);
    } else {
      upstreamBrokeMidBody();
    }
  }

  /** The response broke off after its head reached the client: close both so none takes it for whole. */
  private void upstreamBrokeMidBody() {
    UpstreamConn c = upc;
    detach();
    if (c != null) {
      c.ch.close();
    }
    complete(status, ProxyOutcome.UPSTREAM_FAILED);
    conn.ch.close();
  }

  @Override
  void onResponseTimeout() {
    if (upc != null && requestWritten) {
      upc.ch.close(); // channelInactive reports the failure; timedOut makes it a 504
    }
  }

  /** Status line and fields of a 1xx interim response, hop-by-hop dropped. */
  private ByteBuf interimHead(H1Parser rp) {
    HeadBuilder b = conn.loop.head.reset();
    statusLine(b, rp);
    copyFields(b, rp, false);
    return b.crlf().toBuffer(conn.ch.alloc(), 0);
  }

  private static final byte[] STATUS_PREFIX = "HTTP/1.1 ".getBytes(StandardCharsets.ISO_8859_1);

  private static void statusLine(HeadBuilder b, H1Parser rp) {
    b.bytes(STATUS_PREFIX).bytes(rp.head, 9, rp.startLineEnd - 9);
    if (rp.startLineEnd == 12) {
      b.ascii(" ");
    }
    b.crlf();
  }

  private void copyFields(HeadBuilder b, H1Parser rp, boolean upgrade) {
    byte[] h = rp.head;
    int[] f = rp.f;
    for (int i = 0; i < rp.fields; i++) {
      if (upgrade ? rp.fieldIs(i, "x-meridian-region") : rp.isHopByHop(i) || rp.fieldIs(i, "x-meridian-region")
          || (rp.chunked && rp.fieldIs(i, "content-length"))) {
        continue;
      }
      int k = 4 * i;
      b.field(h, f[k], f[k + 1], f[k + 2], f[k + 3]);
    }
  }

  /**
   * The response head for the client: end-to-end fields, framing, X-Meridian-Region, token; in a buffer with
   * {@code bodyRoom} bytes to spare for a small body that arrived with it.
   */
  private ByteBuf responseHead(H1Parser rp, boolean upgrade, int bodyRoom) {
    HeadBuilder b = conn.loop.head.reset();
    statusLine(b, rp);
    copyFields(b, rp, upgrade);
    if (!upgrade) {
      if (rp.chunked) {
        b.line("transfer-encoding: chunked");
      }
      // an HTTP/1.0 client cannot parse chunked framing: its connection ends the body (RFC 9112 §6.3)
      closeClient = rp.untilClose() || !conn.clientKeepsAlive() || (q.http10 && rp.chunked);
      if (closeClient) {
        b.line("connection: close");
      } else if (q.http10) {
        b.line("connection: keep-alive"); // RFC 9112 Appendix C.2.2: a 1.0 client keeps it only when told
      }
    }
    b.bytes(region.regionField);
    if (issuesToken(status)) {
      int i = rp.findIgnoreCase(s.proxy().readYourWrites().commitHeader());
      String token = mintToken(i < 0 ? null : rp.value(i));
      b.ascii(ProxyTokens.RYW_HEADER).ascii(": ").line(token);
      b.ascii("set-cookie: ").line(tokenCookie(token));
    }
    return b.crlf().toBuffer(conn.ch.alloc(), bodyRoom);
  }

  @Override
  void writeError(ProxyOutcome outcome, String regionId, boolean close) {
    if (headWritten) {
      conn.ch.close();
      return;
    }
    if (!conn.ch.isActive()) {
      conn.exchangeDone(false);
      return;
    }
    String body = ErrorBody.json(outcome, regionId);
    StringBuilder sb = new StringBuilder(256).append("HTTP/1.1 ").append(outcome.status()).append(' ')
        .append(SmugglingGuard.reasonPhrase(outcome.status())).append("\r\ncontent-type: application/json\r\n")
        .append("x-meridian-region: ").append(regionId == null ? "none" : regionId).append("\r\n");
    if (outcome.retryAfter()) {
      sb.append("retry-after: ").append(Math.max(1, s.proxy().retryAfter().toSeconds())).append("\r\n");
    }
    boolean keep = !close && conn.clientKeepsAlive();
    if (!keep) {
      // an unread request body makes the connection unusable for the next request (RFC 9112 §9.6)
      sb.append("connection: close\r\n");
    } else if (q.http10) {
      sb.append("connection: keep-alive\r\n");
    }
    sb.append("content-length: ").append(body.length()).append("\r\n\r\n").append(body);
    conn.ch.writeAndFlush(Unpooled.wrappedBuffer(sb.toString().getBytes(StandardCharsets.ISO_8859_1)));
    headWritten = true;
    conn.exchangeDone(keep);
  }
}
