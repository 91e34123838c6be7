package io.meridian.proxy.impl;

import io.meridian.proxy.ProxyOutcome;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;

/**
 * Last on an h2c connection that turned out not to be HTTP/2: what {@code proxy.h2c_listen} does not serve. An
 * HTTP/1.x request without {@code Upgrade: h2c} gets 400 and the connection closes (served here it would bypass
 * the HTTP/1.1 path's framing checks); bytes that are not even an HTTP/1.x request line — a broken HTTP/2 preface —
 * get GOAWAY(PROTOCOL_ERROR) and the connection closes (RFC 9113 §3.4). After an h2c upgrade this handler only sees
 * what the HTTP/2 handlers in front of it pass on, which it drops.
 */
final class H2cHttp1Refusal extends ChannelInboundHandlerAdapter {
  private static final String BODY = "{\"error\":\"bad_request\",\"status\":400,\"message\":\"this listener serves"
      + " HTTP/2 only (prior knowledge or Upgrade: h2c)\"}";
  private static final byte[] REFUSAL = ("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
      + "x-meridian-region: none\r\nconnection: close\r\ncontent-length: " + BODY.length() + "\r\n\r\n" + BODY)
      .getBytes(StandardCharsets.ISO_8859_1);
  /** GOAWAY, stream 0, last stream 0, PROTOCOL_ERROR (RFC 9113 §6.8). */
  private static final byte[] GOAWAY = {0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

  private final ProxyEngine engine;
  private boolean done;

  H2cHttp1Refusal(ProxyEngine engine) {
    this.engine = engine;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (!(msg instanceof HttpRequest req) || done) {
        return;
      }
      done = true;
      ctx.channel().config().setAutoRead(false);
      ByteBuf out;
      if (req.decoderResult().isFailure()) {
        out = Unpooled.wrappedBuffer(GOAWAY);
        engine.metrics.refused(ProxyOutcome.BAD_REQUEST.label());
      } else {
        out = Unpooled.wrappedBuffer(REFUSAL);
        engine.metrics.refused(ProxyOutcome.BAD_REQUEST.label());
        engine.metrics.request("none", "none", "none", 400);
      }
      // straight to the socket: the HTTP/1.1 encoder in front would not pass raw bytes as they are
      ctx.pipeline().firstContext().writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
