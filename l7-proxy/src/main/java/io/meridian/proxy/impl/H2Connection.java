package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpScheme;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.codec.http2.UniformStreamByteDistributor;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/2 client connection on the proxy's own engine (TLS with ALPN h2, or h2c): Netty's
 * {@link Http2ConnectionHandler} (framing, HPACK, stream states, flow control, SETTINGS/PING/GOAWAY) with
 * {@link H2FrameGuard} in front of its decoder, and this class as the decoder's frame listener. A stream is an
 * {@link H2Stream} attached to the codec's own stream state: no channel, pipeline or frame object per stream —
 * those cost a fifth of the proxy's CPU per h2 request when each stream had a Netty child channel. The peer's
 * address and zone are kept once per connection for its streams; the idle timeout is here too. Everything runs on
 * the connection's event loop, the same as the upstream connections its streams use ({@link H1Loop}).
 */
final class H2Connection extends Http2ConnectionHandler implements Http2FrameListener {
  /**
   * Streams a client may open at once (RFC 9113 §6.5.2 SETTINGS_MAX_CONCURRENT_STREAMS): 100, as nginx's
   * http2_max_concurrent_streams and haproxy's default; a stream beyond it is refused (RST_STREAM REFUSED_STREAM).
   */
  static final int MAX_CONCURRENT_STREAMS = 100;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(H2Connection.class);

  final H1Loop loop;
  final ProxyConfig.Limits limits;
  /** Behind TLS: scheme, X-Forwarded-Proto and Forwarded proto say https. */
  final boolean tls;
  private final Http2Connection.PropertyKey streamKey;
  /** This handler's context: frames are written from here, so they pass the codec's encoder and what is in front. */
  ChannelHandlerContext ctx;
  Channel ch;
  /** The client, for all the connection's streams. */
  ClientPeer peer;

  private H2Connection(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings,
      H1Loop loop, ProxyConfig.Limits limits, boolean tls) {
    super(decoder, encoder, settings);
    this.loop = loop;
    this.limits = limits;
    this.tls = tls;
    this.streamKey = connection().newKey();
    decoder.frameListener(this);
    connection().addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamClosed(Http2Stream stream) {
        H2Stream s = stream.removeProperty(streamKey);
        if (s != null) {
          s.streamGone();
        }
      }
    });
    encoder.flowController().listener(stream -> {
      H2Stream s = stream.getProperty(streamKey);
      if (s != null) {
        s.clientWritabilityChanged();
      }
    });
  }

  /** The codec of one connection, with its guard and settings. */
  private static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<H2Connection, Builder> {
    private final H1Loop loop;
    private final ProxyConfig.Limits limits;
    private final boolean tls;
    private final H2FrameGuard guard = new H2FrameGuard();

    Builder(H1Loop loop, ProxyConfig.Limits limits, boolean tls) {
      this.loop = loop;
      this.limits = limits;
      this.tls = tls;
      DefaultHttp2Connection connection = new DefaultHttp2Connection(true);
      // RFC 9113 §5.3.2: priority signals are deprecated and a proxy has nothing to rank its streams by; the
      // uniform distributor shares the connection window without the weighted tree's per-stream bookkeeping
      connection.remote().flowController(
          new DefaultHttp2RemoteFlowController(connection, new UniformStreamByteDistributor(connection)));
      connection(connection);
      initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
          .maxHeaderListSize(limits.maxHeaderBytes()));
      // RFC 9113 §8.2: field names in lower case, no connection-specific fields, pseudo-fields as required
      validateHeaders(true);
      validateRequiredPseudoHeaders(true);
      frameLogger(guard);
      guard.connection(connection);
    }

    H2Connection create() {
      return build();
    }

    @Override
    protected H2Connection build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
        Http2Settings settings) {
      return new H2Connection(decoder, encoder, settings, loop, limits, tls);
    }
  }

  /** The handlers of an HTTP/2 connection at the end of {@code p} (after TLS, or for h2c prior knowledge). */
  static void configure(ChannelPipeline p, H1Loop loop, ProxyConfig.Limits limits, boolean tls) {
    for (ChannelHandler h : handlers(loop, limits, tls)) {
      p.addLast(h);
    }
  }

  /** The same handlers in pipeline order: idle timeout, flush consolidation, the connection (codec and streams). */
  static ChannelHandler[] handlers(H1Loop loop, ProxyConfig.Limits limits, boolean tls) {
    // idle: no frame either way for idle_timeout; closed only without open streams (a long response is not idle)
    IdleStateHandler idle = idleTimer(limits);
    // responses come back on the upstream connections' reads, one stream at a time: without this every response
    // flushed the connection on its own (a TLS record and a write(2) each); consolidated, the responses that
    // finish in one event-loop turn leave in one flush (and at once after 256, so none waits long)
    FlushConsolidationHandler flushes = new FlushConsolidationHandler(256, true);
    return new ChannelHandler[] {idle, flushes, new Builder(loop, limits, tls).create()};
  }

  /**
   * For an h2c Upgrade: the connection's codec, which the upgrade codec puts in place itself (it puts extra handlers
   * after the codec, where the idle timer would see no frames: the codec adds its own in front of itself); without
   * the flush consolidation, which the upgrade's own flushes bypass.
   */
  static H2Connection upgradeCodec(H1Loop loop, ProxyConfig.Limits limits) {
    H2Connection c = new Builder(loop, limits, false).create();
    c.addIdleTimer = true;
    return c;
  }

  private static IdleStateHandler idleTimer(ProxyConfig.Limits limits) {
    return new IdleStateHandler(0, 0, limits.idleTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  private boolean addIdleTimer;

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    super.handlerAdded(ctx);
    this.ctx = ctx;
    if (addIdleTimer) {
      ctx.pipeline().addBefore(ctx.name(), null, idleTimer(limits));
    }
    ch = ctx.channel();
    peer = new ClientPeer(loop.engine, ch);
  }

  /** Credits {@code bytes} of a stream's DATA back to the client (WINDOW_UPDATE as the flow controller decides). */
  void consumed(Http2Stream stream, int bytes) {
    if (bytes <= 0 || stream.state() == Http2Stream.State.CLOSED) {
      return;
    }
    try {
      decoder().flowController().consumeBytes(stream, bytes);
    } catch (Http2Exception e) {
      onError(ctx, false, e);
    }
  }

  // ---- frames from the client (the decoder has checked the stream state, flow control and the header block)

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
      boolean endOfStream) {
    Http2Stream stream = connection().stream(streamId);
    if (stream == null) {
      return; // reset already: the decoder answers with RST_STREAM(STREAM_CLOSED)
    }
    H2Stream s = stream.getProperty(streamKey);
    try {
      if (s == null) {
        s = new H2Stream(this, stream);
        stream.setProperty(streamKey, s);
        s.request(headers, endOfStream);
      } else {
        s.trailers(headers);
      }
    } catch (RuntimeException e) {
      streamFailed(stream, e);
    }
  }

  /**
   * A fault of this proxy while serving one stream ends that stream (RST_STREAM INTERNAL_ERROR), not the whole
   * connection with its other streams, which is what the codec would make of an exception thrown back into it.
   */
  private void streamFailed(Http2Stream stream, RuntimeException e) {
    LOG.warn("HTTP/2 stream {} of {} failed: {}", stream.id(), ch.remoteAddress(), e.toString(), e);
    resetStream(ctx, stream.id(), io.netty.handler.codec.http2.Http2Error.INTERNAL_ERROR.code(), ctx.newPromise());
    flush(ctx);
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
      short weight, boolean exclusive, int padding, boolean endOfStream) {
    onHeadersRead(ctx, streamId, headers, padding, endOfStream);
  }

  @Override
  public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
    Http2Stream stream = connection().stream(streamId);
    H2Stream s = stream == null ? null : stream.getProperty(streamKey);
    if (s == null) {
      return data.readableBytes() + padding;
    }
    try {
      // padding carries nothing to relay: credited at once; the payload when it has gone upstream
      return padding + s.data(data, endOfStream);
    } catch (RuntimeException e) {
      streamFailed(stream, e);
      return data.readableBytes() + padding;
    }
  }

  @Override
  public void onPriorityRead(ChannelHandlerContext ctx, int streamId, int streamDependency, short weight,
      boolean exclusive) {
  }

  @Override
  public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
    // the codec closes the stream right after this: onStreamClosed tells the exchange
  }

  @Override
  public void onSettingsAckRead(ChannelHandlerContext ctx) {
  }

  @Override
  public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
  }

  @Override
  public void onPingRead(ChannelHandlerContext ctx, long data) {
  }

  @Override
  public void onPingAckRead(ChannelHandlerContext ctx, long data) {
  }

  @Override
  public void onPushPromiseRead(ChannelHandlerContext ctx, int streamId, int promisedStreamId, Http2Headers headers,
      int padding) {
  }

  @Override
  public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
  }

  @Override
  public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {
  }

  @Override
  public void onUnknownFrame(ChannelHandlerContext ctx, byte frameType, int streamId, Http2Flags flags,
      ByteBuf payload) {
    // RFC 9113 §4.1: frames of unknown types are ignored
  }

  // ---- connection events

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent) {
      if (connection().numActiveStreams() == 0) {
        ctx.close(); // GOAWAY(NO_ERROR) first (RFC 9113 §6.8)
      }
      return;
    }
    if (evt instanceof HttpServerUpgradeHandler.UpgradeEvent upgrade) {
      try {
        upgraded(ctx, upgrade.upgradeRequest());
      } finally {
        upgrade.release();
      }
      return;
    }
    ReferenceCountUtil.release(evt);
  }

  /**
   * An h2c Upgrade (RFC 7540 §3.2) went through: the HTTP/1.1 request that carried it is stream 1, already
   * half-closed (remote) by the codec, and served like any other stream.
   */
  private void upgraded(ChannelHandlerContext ctx, FullHttpRequest request) {
    request.headers().set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), HttpScheme.HTTP.name());
    Http2Headers headers = HttpConversionUtil.toHttp2Headers(request, true);
    boolean body = request.content().isReadable();
    onHeadersRead(ctx, Http2CodecUtil.HTTP_UPGRADE_STREAM_ID, headers, 0, !body);
    if (body) {
      onDataRead(ctx, Http2CodecUtil.HTTP_UPGRADE_STREAM_ID, request.content(), 0, true);
    }
    flush(ctx);
  }

  /**
   * Errors of the HTTP/2 layer are the codec's (it answers a connection error with GOAWAY and its code, RFC 9113
   * §5.4.1, and a stream error with RST_STREAM); anything else (a reset by the peer, mostly) closes.
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
    if (Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null) {
      super.exceptionCaught(ctx, cause);
    } else {
      ctx.close();
    }
  }
}
