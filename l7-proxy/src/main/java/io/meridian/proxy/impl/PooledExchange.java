package io.meridian.proxy.impl;

import io.meridian.proxy.ProxyOutcome;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.handler.ssl.SslHandler;

/**
 * An {@link Exchange} whose upstream side is an HTTP/1.1 connection of its event loop's pools ({@link H1Loop}):
 * a pooled idle connection, a new one within {@code proxy.upstream_pool}'s limits, or a place in the pool's queue.
 * Shared by the client transports of the proxy's own engine — HTTP/1.1 ({@link H1Exchange}) and HTTP/2 streams
 * ({@link H2Exchange}) — which differ only in how they write the request and relay the response.
 */
abstract class PooledExchange extends Exchange {
  final H1Loop loop;
  UpstreamConn upc;
  boolean requestWritten;
  /** The upstream pool this exchange waits in for a connection, or null. */
  H1Loop.Pool queuedOn;

  PooledExchange(H1Loop loop, ProxyEngine.Snapshot s, RequestView req, ProxyEngine.RouteRuntime route,
      byte[] clientIp, int zone, long start, boolean hasBody) {
    super(loop, s, req, route, clientIp, zone, start, hasBody);
    this.loop = loop;
  }

  // ---- what the client transport provides

  /** The upstream connection {@link #upc} is ready: write the request head (and start the body). */
  abstract void writeRequest();

  /** Bytes of the response from {@link #upc} (owned). */
  abstract void onResponseData(ByteBuf buf);

  /** {@link #upc} closed while this exchange used it. */
  abstract void upstreamClosed();

  /** {@link #upc} accepts writes again: resume reading the client's body. */
  abstract void onUpstreamWritable();

  // ---- the upstream connection

  @Override
  void send(Upstream up) {
    H1Loop.Pool p = loop.pool(up);
    UpstreamConn c = loop.acquire(p);
    if (c != null) {
      attach(c);
      writeRequest();
      return;
    }
    io.meridian.config.ProxyConfig.UpstreamPool limits = s.proxy().upstreamPool();
    if (H1Loop.mayConnect(p, limits)) {
      connectNew(up, p);
    } else if (loop.enqueue(p, this, limits)) {
      queuedOn = p; // a released connection or a free slot comes to this exchange in arrival order
    } else {
      upstreamBusy();
    }
  }

  /** Whether this exchange still waits in {@code p}'s queue. */
  final boolean waitingFor(H1Loop.Pool p) {
    return queuedOn == p && !finished;
  }

  /** Waited for a connection and got an idle one. */
  final void usePooled(UpstreamConn c) {
    queuedOn = null;
    attach(c);
    writeRequest();
  }

  /** Waited longer than {@code upstream_pool.queue_timeout}. */
  final void queueTimedOut() {
    queuedOn = null;
    upstreamBusy();
  }

  /** Opens a new connection to {@code up}, counted in its pool until it closes. */
  final void connectNew(Upstream up, H1Loop.Pool p) {
    queuedOn = null;
    UpstreamConn nc = new UpstreamConn(loop, up);
    attach(nc);
    loop.connecting(p);
    ChannelFuture f = loop.connect(up, nc, (int) s.proxy().connectTimeout().toMillis());
    f.addListener(done -> {
      if (done.isSuccess()) {
        nc.ch.closeFuture().addListener(closed -> loop.closed(up, p));
      }
      loop.connected(up, p, done.isSuccess());
      if (upc != nc) {
        if (done.isSuccess()) {
          nc.ch.close(); // this attempt was abandoned meanwhile
        }
        return;
      }
      if (!done.isSuccess()) {
        detach();
        upstreamFailed(ProxyOutcome.UPSTREAM_UNREACHABLE, true); // nothing was sent: retry is safe
        return;
      }
      SslHandler tls = nc.ch.pipeline().get(SslHandler.class);
      if (tls == null) {
        writeRequest();
        return;
      }
      tls.handshakeFuture().addListener(hs -> {
        if (upc != nc) {
          return;
        }
        if (hs.isSuccess()) {
          writeRequest();
        } else {
          detach();
          nc.ch.close();
          upstreamFailed(ProxyOutcome.UPSTREAM_UNREACHABLE, true); // certificate refused: nothing was sent
        }
      });
    });
  }

  final void attach(UpstreamConn c) {
    upc = c;
    c.x = this;
  }

  /** Failed before a response head: maybe retried (idempotent without body), else 502/504. */
  final void failBeforeResponse() {
    UpstreamConn c = upc;
    detach();
    if (c != null) {
      c.ch.close();
    }
    upstreamFailed(timedOut ? ProxyOutcome.UPSTREAM_TIMEOUT
        : bodyStarted ? ProxyOutcome.UPSTREAM_FAILED : ProxyOutcome.UPSTREAM_UNREACHABLE, false);
  }

  final void detach() {
    UpstreamConn c = upc;
    if (c != null) {
      c.x = null;
      upc = null;
    }
    requestWritten = false;
  }

  @Override
  void abortUpstream() {
    UpstreamConn c = upc;
    detach();
    if (c != null) {
      c.ch.close();
    }
  }
}
