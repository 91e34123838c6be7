package io.meridian.proxy.impl;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameLogger;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.logging.LogLevel;
import io.netty.util.internal.PlatformDependent;

/**
 * What Netty's HTTP/2 decoder does not tell apart: a HEADERS frame for a stream id it no longer tracks is a stream
 * error STREAM_CLOSED there, whatever the stream's history. RFC 9113 asks for more:
 * <ul>
 *   <li>an id below one the client already used, for a stream it never opened, is a connection error
 *       PROTOCOL_ERROR (§5.1.1: new stream ids only increase; the skipped ones were closed implicitly);</li>
 *   <li>a stream that was closed normally (END_STREAM both ways) gets a connection error STREAM_CLOSED (§5.1,
 *       "closed");</li>
 *   <li>only a stream that was reset (by either side) keeps the stream error, since frames in flight when the
 *       RST_STREAM crossed them are expected (§5.1, §6.4);</li>
 *   <li>HEADERS on a half-closed (remote) stream is a stream error STREAM_CLOSED (§5.1), where the decoder would
 *       first find the block malformed as trailers (PROTOCOL_ERROR).</li>
 * </ul>
 * The codec's frame logger sees every frame, inbound before the decoder acts on it (after HPACK decoding, so the
 * compression state stays in step) and outbound as it is written, so this per-connection logger keeps the little
 * history needed — the highest client stream id, the latest ranges of skipped ids and the latest reset ids — and
 * throws the connection error from there; the codec answers it with GOAWAY and closes (RFC 9113 §5.4.1). Nothing
 * is logged.
 */
final class H2FrameGuard extends Http2FrameLogger {
  /** Ranges of skipped client stream ids kept (clients rarely skip; an old range forgotten only changes the code). */
  private static final int GAPS = 8;
  /** Reset stream ids kept: frames for them may still be in flight. */
  private static final int RESETS = 64;

  private Http2Connection connection;
  private int lastOpened;
  private final int[] gapFrom = new int[GAPS];
  private final int[] gapTo = new int[GAPS];
  private int gaps;
  private final int[] resets = new int[RESETS];
  private int resetCount;

  H2FrameGuard() {
    super(LogLevel.TRACE);
  }

  /** The codec's connection, whose stream states tell a half-closed stream from one never opened. */
  void connection(Http2Connection connection) {
    this.connection = connection;
  }

  @Override
  public boolean isEnabled() {
    return false;
  }

  @Override
  public void logHeaders(Direction direction, ChannelHandlerContext ctx, int streamId, Http2Headers headers,
      int padding, boolean endStream) {
    if (direction == Direction.INBOUND) {
      inboundHeaders(streamId);
    }
  }

  @Override
  public void logHeaders(Direction direction, ChannelHandlerContext ctx, int streamId, Http2Headers headers,
      int streamDependency, short weight, boolean exclusive, int padding, boolean endStream) {
    if (direction == Direction.INBOUND) {
      inboundHeaders(streamId);
    }
  }

  @Override
  public void logRstStream(Direction direction, ChannelHandlerContext ctx, int streamId, long errorCode) {
    resets[resetCount++ % RESETS] = streamId;
  }

  private void inboundHeaders(int id) {
    if ((id & 1) == 0 || connection == null) {
      return; // an even id: the decoder's own error (PROTOCOL_ERROR) applies
    }
    if (id > lastOpened) {
      if (lastOpened > 0 ? id > lastOpened + 2 : id > 1) {
        int slot = gaps++ % GAPS;
        gapFrom[slot] = lastOpened + 2 - (lastOpened == 0 ? 1 : 0);
        gapTo[slot] = id - 2;
      }
      lastOpened = id;
      return;
    }
    io.netty.handler.codec.http2.Http2Stream stream = connection.stream(id);
    if (stream != null) {
      if (stream.state() == io.netty.handler.codec.http2.Http2Stream.State.HALF_CLOSED_REMOTE) {
        // §5.1 "half-closed (remote)": STREAM_CLOSED, before the decoder takes the block for malformed trailers
        throw sneaky(Http2Exception.streamError(id, Http2Error.STREAM_CLOSED,
            "HEADERS after END_STREAM on stream %d (RFC 9113 §5.1)", id));
      }
      return; // open: the decoder checks trailers
    }
    for (int i = 0; i < Math.min(gaps, GAPS); i++) {
      if (id >= gapFrom[i] && id <= gapTo[i]) {
        throw sneaky(Http2Exception.connectionError(Http2Error.PROTOCOL_ERROR,
            "HEADERS for stream %d, below the client's last stream %d (RFC 9113 §5.1.1)", id, lastOpened));
      }
    }
    for (int i = 0; i < Math.min(resetCount, RESETS); i++) {
      if (resets[i] == id) {
        return; // reset: frames in flight are expected, the decoder answers with RST_STREAM(STREAM_CLOSED)
      }
    }
    throw sneaky(Http2Exception.connectionError(Http2Error.STREAM_CLOSED,
        "HEADERS for closed stream %d (RFC 9113 §5.1)", id));
  }

  /**
   * The logger's methods cannot declare {@link Http2Exception}; thrown unchecked, the codec's decode still finds it
   * (it looks for the Http2Exception in whatever it caught) and turns it into GOAWAY with its code.
   */
  private static RuntimeException sneaky(Http2Exception e) {
    PlatformDependent.throwException(e);
    return new IllegalStateException(e); // not reached
  }
}
