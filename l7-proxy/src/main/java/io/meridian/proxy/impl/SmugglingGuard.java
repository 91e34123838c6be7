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
 * Strict HTTP/1.1 framing check on the raw bytes of a client connection, in front of the HTTP decoder. The
 * decoder is lenient where a proxy must not be: it accepts bare LF, unfolds obs-fold, and when both
 * Content-Length and Transfer-Encoding are present silently drops one — exactly the disagreements request
 * smuggling exploits between a front proxy and the application behind it. This guard follows every request's
 * framing (head, fixed or chunked body, trailers) so it knows where the next request starts, and answers any of
 * these shapes with 400 and closes the connection:
 * <ul>
 *   <li>bare CR or bare LF anywhere in a head or chunk line (RFC 9112 §2.2);</li>
 *   <li>obs-fold: a header line starting with SP or HTAB (RFC 9112 §5.2);</li>
 *   <li>invalid field names, whitespace before the colon (RFC 9112 §5.1), control characters in values;</li>
 *   <li>Content-Length together with Transfer-Encoding (RFC 9112 §6.1), differing Content-Length values
 *       (RFC 9112 §6.3), non-numeric lengths, a Transfer-Encoding other than a final {@code chunked};</li>
 *   <li>invalid chunk sizes or a chunk not followed by CRLF (RFC 9112 §7.1).</li>
 * </ul>
 * It also enforces the head limits (URI length, header count and size: 414 / 431), the body limit for chunked
 * bodies (413) and the header-read timeout (408) against slow-loris clients. A buffer is scanned once and
 * passed on unchanged, never copied. An Upgrade request or the HTTP/2 preface ends the guard's watch: what
 * follows is not HTTP/1.1.
 */
final class SmugglingGuard extends ChannelInboundHandlerAdapter {
  private enum State { HEAD, BODY_FIXED, CHUNK_SIZE, CHUNK_DATA, CHUNK_CR, CHUNK_LF, TRAILERS, PASSTHROUGH, DEAD }

  private static final boolean[] TCHAR = new boolean[128];

  static {
    // RFC 9110 §5.6.2 token characters
    for (char c = '0'; c <= '9'; c++) {
      TCHAR[c] = true;
    }
    for (char c = 'a'; c <= 'z'; c++) {
      TCHAR[c] = true;
      TCHAR[Character.toUpperCase(c)] = true;
    }
    for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
      TCHAR[c] = true;
    }
  }

  private final ProxyConfig.Limits limits;
  private final ProxyMetrics metrics;
  private State state = State.HEAD;
  private final byte[] line;
  private int lineLen;
  private boolean prevCr;
  private int lineNo; // 0: request line
  private int headBytes;
  private int headers;
  private long contentLength;
  private boolean sawTe;
  private boolean teChunkedLast;
  private boolean upgrade;
  private long remaining;
  private long chunkedTotal;
  private boolean headStarted;
  private ScheduledFuture<?> headTimer;

  SmugglingGuard(ProxyConfig.Limits limits, ProxyMetrics metrics) {
    this.limits = limits;
    this.metrics = metrics;
    this.line = new byte[Math.max(limits.maxHeaderBytes(), limits.maxUriBytes() + 64)];
    resetHead();
  }

  private void resetHead() {
    state = State.HEAD;
    lineLen = 0;
    prevCr = false;
    lineNo = 0;
    headBytes = 0;
    headers = 0;
    contentLength = -1;
    sawTe = false;
    teChunkedLast = false;
    upgrade = false;
    headStarted = false;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (state == State.PASSTHROUGH || !(msg instanceof ByteBuf buf)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (state == State.DEAD) {
      ReferenceCountUtil.release(msg);
      return;
    }
    ProxyOutcome bad = scan(buf);
    if (bad != null) {
      ReferenceCountUtil.release(msg);
      reject(ctx, bad);
      return;
    }
    if (state == State.HEAD && headStarted && headTimer == null) {
      // a head split across reads: give the client the header-read timeout to finish it
      headTimer = ctx.executor().schedule(() -> {
        if (state == State.HEAD && headStarted) {
          reject(ctx, null);
        }
      }, limits.headerReadTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }
    ctx.fireChannelRead(msg);
  }

  private ProxyOutcome scan(ByteBuf buf) {
    int i = buf.readerIndex();
    int end = buf.writerIndex();
    while (i < end && state != State.PASSTHROUGH) {
      switch (state) {
        case BODY_FIXED -> {
          int n = (int) Math.min(remaining, end - i);
          i += n;
          remaining -= n;
          if (remaining == 0) {
            resetHead();
          }
        }
        case CHUNK_DATA -> {
          int n = (int) Math.min(remaining, end - i);
          i += n;
          remaining -= n;
          if (remaining == 0) {
            state = State.CHUNK_CR;
          }
        }
        case CHUNK_CR -> {
          if (buf.getByte(i++) != '\r') {
            return ProxyOutcome.BAD_REQUEST;
          }
          state = State.CHUNK_LF;
        }
        case CHUNK_LF -> {
          if (buf.getByte(i++) != '\n') {
            return ProxyOutcome.BAD_REQUEST;
          }
          state = State.CHUNK_SIZE;
        }
        default -> { // HEAD, CHUNK_SIZE, TRAILERS: line oriented
          byte b = buf.getByte(i++);
          if (state == State.HEAD) {
            headStarted = true;
            if (++headBytes > limits.maxHeaderBytes() + limits.maxUriBytes()) {
              return ProxyOutcome.HEADERS_TOO_LARGE;
            }
          }
          if (prevCr) {
            if (b != '\n') {
              return ProxyOutcome.BAD_REQUEST; // bare CR
            }
            prevCr = false;
            ProxyOutcome r = endOfLine();
            if (r != null) {
              return r;
            }
          } else if (b == '\r') {
            prevCr = true;
          } else if (b == '\n') {
            return ProxyOutcome.BAD_REQUEST; // bare LF
          } else {
            if (lineLen == line.length) {
              return lineNo == 0 && state == State.HEAD ? ProxyOutcome.URI_TOO_LONG : ProxyOutcome.HEADERS_TOO_LARGE;
            }
            line[lineLen++] = b;
          }
        }
      }
    }
    return null;
  }

  private ProxyOutcome endOfLine() {
    int len = lineLen;
    lineLen = 0;
    return switch (state) {
      case HEAD -> headLine(len);
      case CHUNK_SIZE -> chunkSizeLine(len);
      case TRAILERS -> trailerLine(len);
      default -> null;
    };
  }

  private ProxyOutcome headLine(int len) {
    if (lineNo == 0) {
      if (len == 0 && headBytes <= 2) {
        headBytes = 0;
        headStarted = false;
        return null; // RFC 9112 §2.2: an empty line before the request line may be ignored
      }
      lineNo++;
      return requestLine(len);
    }
    if (len == 0) {
      return endOfHead();
    }
    lineNo++;
    if (++headers > limits.maxHeaders()) {
      return ProxyOutcome.HEADERS_TOO_LARGE;
    }
    return fieldLine(len, true);
  }

  private ProxyOutcome requestLine(int len) {
    String s = new String(line, 0, len, StandardCharsets.ISO_8859_1);
    if (s.equals("PRI * HTTP/2.0")) {
      state = State.PASSTHROUGH; // h2c with prior knowledge (RFC 9113 §3.3)
      return null;
    }
    int sp1 = s.indexOf(' ');
    int sp2 = s.lastIndexOf(' ');
    if (sp1 <= 0 || sp2 <= sp1 + 1 || s.indexOf(' ', sp1 + 1) != sp2) {
      return ProxyOutcome.BAD_REQUEST;
    }
    for (int i = 0; i < sp1; i++) {
      char c = s.charAt(i);
      if (c >= 128 || !TCHAR[c]) {
        return ProxyOutcome.BAD_REQUEST;
      }
    }
    if (sp2 - sp1 - 1 > limits.maxUriBytes()) {
      return ProxyOutcome.URI_TOO_LONG;
    }
    for (int i = sp1 + 1; i < sp2; i++) {
      char c = s.charAt(i);
      if (c <= 0x20 || c == 0x7f) {
        return ProxyOutcome.BAD_REQUEST;
      }
    }
    String version = s.substring(sp2 + 1);
    if (!version.equals("HTTP/1.1") && !version.equals("HTTP/1.0")) {
      return ProxyOutcome.BAD_REQUEST;
    }
    return null;
  }

  private ProxyOutcome fieldLine(int len, boolean head) {
    byte first = line[0];
    if (first == ' ' || first == '\t') {
      return ProxyOutcome.BAD_REQUEST; // obs-fold
    }
    int colon = -1;
    for (int i = 0; i < len; i++) {
      byte c = line[i];
      if (c == ':') {
        colon = i;
        break;
      }
      if (c < 0 || !TCHAR[c]) {
        return ProxyOutcome.BAD_REQUEST; // invalid name, or whitespace before the colon
      }
    }
    if (colon <= 0) {
      return ProxyOutcome.BAD_REQUEST;
    }
    for (int i = colon + 1; i < len; i++) {
      byte c = line[i];
      if ((c >= 0 && c < 0x20 && c != '\t') || c == 0x7f) {
        return ProxyOutcome.BAD_REQUEST;
      }
    }
    if (!head) {
      return null;
    }
    if (nameIs("content-length", colon)) {
      String v = new String(line, colon + 1, len - colon - 1, StandardCharsets.ISO_8859_1);
      for (String part : v.split(",", -1)) {
        long n = parseDecimal(part.strip());
        if (n < 0 || (contentLength >= 0 && n != contentLength)) {
          return ProxyOutcome.BAD_REQUEST;
        }
        contentLength = n;
      }
    } else if (nameIs("transfer-encoding", colon)) {
      String v = new String(line, colon + 1, len - colon - 1, StandardCharsets.ISO_8859_1).strip();
      String[] codings = v.split(",");
      String last = codings[codings.length - 1].strip();
      // only a single "chunked" is acceptable: another coding we cannot frame, and "chunked" twice or not last
      // is a classic desync shape
      if (sawTe || codings.length != 1 || !last.equalsIgnoreCase("chunked")) {
        return ProxyOutcome.BAD_REQUEST;
      }
      sawTe = true;
      teChunkedLast = true;
    } else if (nameIs("upgrade", colon)) {
      upgrade = true;
    }
    return null;
  }

  private boolean nameIs(String name, int colon) {
    if (colon != name.length()) {
      return false;
    }
    for (int i = 0; i < colon; i++) {
      int c = line[i] | 0x20;
      if (c != name.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private ProxyOutcome endOfHead() {
    if (headTimer != null) {
      headTimer.cancel(false);
      headTimer = null;
    }
    if (sawTe && contentLength >= 0) {
      return ProxyOutcome.BAD_REQUEST;
    }
    if (upgrade) {
      state = State.PASSTHROUGH; // WebSocket or h2c upgrade: the bytes after this head are another protocol
      return null;
    }
    if (sawTe && teChunkedLast) {
      state = State.CHUNK_SIZE;
      chunkedTotal = 0;
      lineNo = 0;
    } else if (contentLength > 0) {
      if (limits.maxBodyBytes() > 0 && contentLength > limits.maxBodyBytes()) {
        return ProxyOutcome.BODY_TOO_LARGE;
      }
      state = State.BODY_FIXED;
      remaining = contentLength;
    } else {
      resetHead();
    }
    return null;
  }

  private ProxyOutcome chunkSizeLine(int len) {
    int i = 0;
    long size = 0;
    while (i < len && Character.digit(line[i], 16) >= 0) {
      if (i >= 15) {
        return ProxyOutcome.BAD_REQUEST; // > 2^60: no real chunk, an overflow attempt
      }
      size = size * 16 + Character.digit(line[i], 16);
      i++;
    }
    if (i == 0) {
      return ProxyOutcome.BAD_REQUEST;
    }
    int j = i;
    while (j < len && (line[j] == ' ' || line[j] == '\t')) {
      j++;
    }
    if (j < len && line[j] != ';') {
      return ProxyOutcome.BAD_REQUEST; // only chunk extensions may follow the size (RFC 9112 §7.1.1)
    }
    for (int k = j; k < len; k++) {
      if ((line[k] >= 0 && line[k] < 0x20 && line[k] != '\t') || line[k] == 0x7f) {
        return ProxyOutcome.BAD_REQUEST;
      }
    }
    chunkedTotal += size;
    if (limits.maxBodyBytes() > 0 && chunkedTotal > limits.maxBodyBytes()) {
      return ProxyOutcome.BODY_TOO_LARGE;
    }
    if (size == 0) {
      state = State.TRAILERS;
    } else {
      state = State.CHUNK_DATA;
      remaining = size;
    }
    return null;
  }

  private ProxyOutcome trailerLine(int len) {
    if (len == 0) {
      resetHead();
      return null;
    }
    return fieldLine(len, false);
  }

  /** A non-negative decimal of at most 18 digits (no sign, no spaces: RFC 9110 §8.6), else -1. */
  static long parseDecimal(String s) {
    if (s.isEmpty() || s.length() > 18) {
      return -1;
    }
    long v = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  /** Answers with the outcome's status (408 when {@code outcome} is null: header-read timeout) and closes. */
  private void reject(ChannelHandlerContext ctx, ProxyOutcome outcome) {
    state = State.DEAD;
    if (headTimer != null) {
      headTimer.cancel(false);
      headTimer = null;
    }
    int status = outcome == null ? 408 : outcome.status();
    String label = outcome == null ? "header_timeout" : outcome.label();
    String reason = outcome == null ? "request head not received within the header-read timeout" : outcome.reason();
    metrics.refused(label);
    metrics.request("none", "none", "none", status);
    String body = "{\"error\":\"" + label + "\",\"status\":" + status + ",\"message\":\"" + reason + "\"}";
    String text = switch (status) {
      case 400 -> "Bad Request";
      case 408 -> "Request Timeout";
      case 413 -> "Content Too Large";
      case 414 -> "URI Too Long";
      default -> "Request Header Fields Too Large";
    };
    String resp = "HTTP/1.1 " + status + " " + text + "\r\ncontent-type: application/json\r\nconnection: close\r\n"
        + "x-meridian-region: none\r\ncontent-length: " + body.length() + "\r\n\r\n" + body;
    // Written on the channel directly: the request never reached the HTTP layer, and nothing after it on this
    // connection can be trusted to be framed as the client claims.
    ctx.writeAndFlush(Unpooled.copiedBuffer(resp, StandardCharsets.ISO_8859_1))
        .addListener(ChannelFutureListener.CLOSE);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (headTimer != null) {
      headTimer.cancel(false);
      headTimer = null;
    }
    ctx.fireChannelInactive();
  }
}
