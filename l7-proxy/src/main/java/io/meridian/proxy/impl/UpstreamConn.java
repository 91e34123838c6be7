package io.meridian.proxy.impl;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * One keep-alive connection to an upstream on the proxy's own engine, with its reusable response parser. It serves
 * one exchange ({@link H1Exchange} or {@link H2Exchange}) at a time ({@link #x}) and between exchanges idles in
 * its {@link H1Loop}'s pool; bytes or a close while idle just retire it.
 */
final class UpstreamConn extends ChannelInboundHandlerAdapter {
  final H1Loop loop;
  final Upstream up;
  final H1Parser parser = H1Parser.forResponses();
  Channel ch;
  PooledExchange x;
  long idleSince;
  /** The client channel written to during this read: flushed once at channelReadComplete. */
  Channel flushTarget;

  UpstreamConn(H1Loop loop, Upstream up) {
    this.loop = loop;
    this.up = up;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    ch = ctx.channel();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf buf)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    PooledExchange cur = x;
    if (cur == null) {
      buf.release(); // nothing was asked: a server that talks out of turn is not reused
      loop.forget(up, this);
      ch.close();
      return;
    }
    cur.onResponseData(buf);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    Channel t = flushTarget;
    if (t != null) {
      flushTarget = null;
      t.flush();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    PooledExchange cur = x;
    if (cur != null && ch.isWritable()) {
      cur.onUpstreamWritable();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    PooledExchange cur = x;
    if (cur == null) {
      loop.forget(up, this);
      return;
    }
    cur.upstreamClosed();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close(); // reset or TLS failure: channelInactive reports it to the exchange
  }
}
