package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.core.geo.ClientLocation;
import io.meridian.core.geo.Zones;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/2 client connection on the proxy's own engine (TLS with ALPN h2, or h2c): Netty's
 * {@link Http2FrameCodec} (framing, HPACK, stream states, flow control, SETTINGS/PING/GOAWAY) with
 * {@link H2FrameGuard} in front of its decoder, an {@link Http2MultiplexHandler} that gives each stream a child
 * channel served by an {@link H2Stream}, and this handler last on the connection: the peer's address and zone
 * (once per connection, shared by its streams) and the idle timeout. Everything runs on the connection's event
 * loop, the same as the upstream connections its streams use ({@link H1Loop}).
 */
final class H2Connection extends ChannelInboundHandlerAdapter {
  /**
   * Streams a client may open at once (RFC 9113 §6.5.2 SETTINGS_MAX_CONCURRENT_STREAMS): 100, as nginx's
   * http2_max_concurrent_streams and haproxy's default; a stream beyond it is refused (RST_STREAM REFUSED_STREAM).
   */
  static final int MAX_CONCURRENT_STREAMS = 100;

  final H1Loop loop;
  final ProxyConfig.Limits limits;
  /** Behind TLS: scheme, X-Forwarded-Proto and Forwarded proto say https. */
  final boolean tls;
  final Http2FrameCodec codec;
  Channel ch;
  private byte[] peerIp;
  private String peer;
  private int cachedZone;
  private Object zoneConfig;
  private long zoneLoads = -1;

  private H2Connection(H1Loop loop, ProxyConfig.Limits limits, boolean tls) {
    this.loop = loop;
    this.limits = limits;
    this.tls = tls;
    Http2Settings settings = Http2Settings.defaultSettings().maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
        .maxHeaderListSize(limits.maxHeaderBytes());
    this.codec = new H2FrameGuard.Builder().initialSettings(settings).build();
  }

  /** The handlers of an HTTP/2 connection at the end of {@code p} (after TLS, or for h2c prior knowledge). */
  static void configure(ChannelPipeline p, H1Loop loop, ProxyConfig.Limits limits, boolean tls) {
    for (ChannelHandler h : handlers(loop, limits, tls)) {
      p.addLast(h);
    }
  }

  /** The same handlers in pipeline order (an h2c Upgrade puts them in place itself). */
  static ChannelHandler[] handlers(H1Loop loop, ProxyConfig.Limits limits, boolean tls) {
    H2Connection c = new H2Connection(loop, limits, tls);
    // idle: no frame either way for idle_timeout; closed only without open streams (a long response is not idle)
    IdleStateHandler idle = new IdleStateHandler(0, 0, limits.idleTimeout().toMillis(), TimeUnit.MILLISECONDS);
    Http2MultiplexHandler mux = new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
      @Override
      protected void initChannel(Http2StreamChannel sc) {
        sc.pipeline().addLast(new H2Stream(c, sc));
      }
    });
    // responses come back on the upstream connections' reads, one stream at a time: without this every response
    // flushed the connection on its own (a TLS record and a write(2) each); consolidated, the responses that
    // finish in one event-loop turn leave in one flush (and at once after 256, so none waits long)
    io.netty.handler.flush.FlushConsolidationHandler flushes =
        new io.netty.handler.flush.FlushConsolidationHandler(256, true);
    return new ChannelHandler[] {idle, flushes, c.codec, mux, c};
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    ch = ctx.channel();
    if (ch.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null) {
      peerIp = a.getAddress().getAddress();
    }
  }

  byte[] peerIp() {
    return peerIp;
  }

  String peerAddress() {
    String p = peer;
    if (p == null && ch.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null) {
      p = a.getAddress().getHostAddress();
      peer = p;
    }
    return p;
  }

  /** The peer's zone, located once per connection and again after a config or GeoIP database reload. */
  int peerZone() {
    Object cfg = loop.engine.config();
    long loads = loop.engine.geo.databaseLoads();
    if (cfg != zoneConfig || loads != zoneLoads) {
      cachedZone = zoneOf(peerIp);
      zoneConfig = cfg;
      zoneLoads = loads;
    }
    return cachedZone;
  }

  int zoneOf(byte[] ip) {
    ClientLocation loc = ip == null ? null : loop.engine.geo.locate(ip);
    return loc == null ? Zones.UNKNOWN : loc.zone();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ReferenceCountUtil.release(msg); // connection-level frames (SETTINGS, PING, GOAWAY, unknown types): handled
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent && codec.connection().numActiveStreams() == 0) {
      ctx.close(); // the codec sends GOAWAY(NO_ERROR) first (RFC 9113 §6.8)
      return;
    }
    ReferenceCountUtil.release(evt);
  }

  /**
   * The codec shows a connection error here before it answers it with GOAWAY and its code (RFC 9113 §5.4.1):
   * closing now would send GOAWAY(NO_ERROR) first. Anything else (a reset by the peer, mostly) closes.
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (io.netty.handler.codec.http2.Http2CodecUtil.getEmbeddedHttp2Exception(cause) == null) {
      ctx.close();
    }
  }
}
