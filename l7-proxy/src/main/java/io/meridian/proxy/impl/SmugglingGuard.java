package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.proxy.ProxyOutcome;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The {@link H1Parser}'s strict framing in front of the Vert.x HTTP/1.x decoder (TLS listener, and the plain
 * listener with {@code -Dmeridian.proxy.engine=vertx}). The decoder is lenient where a proxy must not be: it
 * accepts bare LF, unfolds obs-fold, and when both Content-Length and Transfer-Encoding are present silently
 * drops one — exactly the disagreements request smuggling exploits. This guard follows every request's framing
 * so it knows where the next request starts, answers any smuggling shape with 400 (limits: 413/414/431; the
 * header-read timeout: 408) and closes. A buffer is scanned once and passed on unchanged, never copied. Chunk
 * extensions are refused (400) as on the plain listener. An Upgrade request or the HTTP/2 preface ends the guard's watch: what follows is not HTTP/1.1.
 */
final class SmugglingGuard extends ChannelInboundHandlerAdapter {
  private final ProxyConfig.Limits limits;
  private final ProxyMetrics metrics;
  private final H1Parser parser;
  private boolean passthrough;
  private boolean dead;
  private ScheduledFuture<?> headTimer;

  SmugglingGuard(ProxyConfig.Limits limits, ProxyMetrics metrics) {
    this.limits = limits;
    this.metrics = metrics;
    this.parser = H1Parser.forRequests(limits);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (passthrough || !(msg instanceof ByteBuf buf)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (dead) {
      ReferenceCountUtil.release(msg);
      return;
    }
    ProxyOutcome bad = scan(buf);
    if (bad != null) {
      ReferenceCountUtil.release(msg);
      reject(ctx, bad);
      return;
    }
    if (!passthrough && parser.inHead() && parser.headStarted && headTimer == null) {
      // a head split across reads: give the client the header-read timeout to finish it
      headTimer = ctx.executor().schedule(() -> {
        if (parser.inHead() && parser.headStarted && !dead) {
          reject(ctx, null);
        }
      }, limits.headerReadTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }
    ctx.fireChannelRead(msg);
  }

  private ProxyOutcome scan(ByteBuf buf) {
    int from = buf.readerIndex();
    try {
      while (buf.isReadable() && !passthrough) {
        int r = parser.feed(buf);
        if (r == H1Parser.ERROR) {
          return parser.error;
        }
        if (r == H1Parser.HEAD_DONE) {
          cancelTimer();
          if (parser.h2Preface || parser.upgrade) {
            passthrough = true; // h2c prior knowledge, WebSocket or h2c upgrade: the bytes after are another protocol
            break;
          }
          parser.beginBody(false);
          if (parser.bodyDone()) {
            parser.reset();
          }
        } else if (r == H1Parser.BODY_DONE) {
          parser.reset();
        }
      }
      return null;
    } finally {
      buf.readerIndex(from);
    }
  }

  private void cancelTimer() {
    if (headTimer != null) {
      headTimer.cancel(false);
      headTimer = null;
    }
  }

  /** Answers with the outcome's status (408 when {@code outcome} is null: header-read timeout) and closes. */
  private void reject(ChannelHandlerContext ctx, ProxyOutcome outcome) {
    dead = true;
    cancelTimer();
    metrics.refused(outcome == null ? "header_timeout" : outcome.label());
    metrics.request("none", "none", "none", outcome == null ? 408 : outcome.status());
    // Written on the channel directly: the request never reached the HTTP layer, and nothing after it on this
    // connection can be trusted to be framed as the client claims.
    ctx.writeAndFlush(Unpooled.wrappedBuffer(rejection(outcome))).addListener(ChannelFutureListener.CLOSE);
  }

  /** The complete 4xx response (with {@code connection: close}) for a request refused at the framing level. */
  static byte[] rejection(ProxyOutcome outcome) {
    int status = outcome == null ? 408 : outcome.status();
    String label = outcome == null ? "header_timeout" : outcome.label();
    String reason = outcome == null ? "request head not received within the header-read timeout" : outcome.reason();
    String body = "{\"error\":\"" + label + "\",\"status\":" + status + ",\"message\":\"" + reason + "\"}";
    String resp = "HTTP/1.1 " + status + " " + reasonPhrase(status) + "\r\ncontent-type: application/json\r\n"
        + "connection: close\r\nx-meridian-region: none\r\ncontent-length: " + body.length() + "\r\n\r\n" + body;
    return resp.getBytes(StandardCharsets.ISO_8859_1);
  }

  static String reasonPhrase(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 404 -> "Not Found";
      case 408 -> "Request Timeout";
      case 413 -> "Content Too Large";
      case 414 -> "URI Too Long";
      case 431 -> "Request Header Fields Too Large";
      case 499 -> "Client Closed Request";
      case 502 -> "Bad Gateway";
      case 503 -> "Service Unavailable";
      case 504 -> "Gateway Timeout";
      default -> "Error";
    };
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelTimer();
    ctx.fireChannelInactive();
  }
}
