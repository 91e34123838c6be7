package io.meridian.checker.impl;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough of an HTTP/1.1 response parser (RFC 9112) for a health check: the status line, the framing
 * headers, and the first {@code bodyCap} bytes of the body (Content-Length, chunked or read-until-close,
 * RFC 9112 §6.3). Bytes beyond the cap are never needed, so the caller may close the connection as soon as
 * {@link #complete()} is true.
 */
final class HttpResponseParser {
  /** A health endpoint with 16 KiB of headers is broken; don't buffer without bound. */
  static final int MAX_HEAD = 16 * 1024;
  private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.[01] (\\d{3})(?: .*)?");

  private final int bodyCap;
  private final boolean headRequest;
  private final Buffer buf = Buffer.buffer(512);
  private int headEnd = -1;
  private int status = -1;
  private long contentLength = -1;
  private boolean chunked;
  private boolean complete;
  private boolean truncated;
  private String error;
  private byte[] body = new byte[0];

  HttpResponseParser(int bodyCap, boolean headRequest) {
    this.bodyCap = bodyCap;
    this.headRequest = headRequest;
  }

  void feed(Buffer b) {
    if (complete || error != null) {
      return;
    }
    buf.appendBuffer(b);
    if (headEnd < 0) {
      int end = indexOfBlankLine();
      if (end < 0) {
        if (buf.length() > MAX_HEAD) {
          error = "response head larger than " + MAX_HEAD + " bytes";
        }
        return;
      }
      headEnd = end;
      parseHead(buf.getString(0, end - 4, "ISO-8859-1"));
      if (error != null) {
        return;
      }
    }
    tryBody(false);
  }

  /** The peer closed the connection. */
  void eof() {
    if (!complete && error == null && headEnd >= 0) {
      tryBody(true);
    }
  }

  private int indexOfBlankLine() {
    for (int i = 3; i < buf.length(); i++) {
      if (buf.getByte(i) == '\n' && buf.getByte(i - 1) == '\r' && buf.getByte(i - 2) == '\n'
          && buf.getByte(i - 3) == '\r') {
        return i + 1;
      }
    }
    return -1;
  }

  private void parseHead(String head) {
    String[] lines = head.split("\r\n");
    Matcher m = STATUS_LINE.matcher(lines[0]);
    if (!m.matches()) {
      error = "not an HTTP/1.x status line: '" + truncate(lines[0], 60) + "'";
      return;
    }
    status = Integer.parseInt(m.group(1));
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon <= 0) {
        continue;
      }
      String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = lines[i].substring(colon + 1).trim();
      if (name.equals("content-length")) {
        try {
          contentLength = Long.parseLong(value);
        } catch (NumberFormatException e) {
          error = "bad Content-Length '" + truncate(value, 30) + "'";
        }
      } else if (name.equals("transfer-encoding") && value.toLowerCase(Locale.ROOT).contains("chunked")) {
        chunked = true;
      }
    }
  }

  private void tryBody(boolean eof) {
    // RFC 9112 §6.3: responses to HEAD, 1xx, 204 and 304 have no body whatever the headers say
    if (headRequest || status / 100 == 1 || status == 204 || status == 304) {
      complete = true;
      return;
    }
    int available = buf.length() - headEnd;
    if (chunked) {
      decodeChunked(eof);
    } else if (contentLength >= 0) {
      long need = Math.min(contentLength, bodyCap);
      if (available >= need) {
        body = buf.getBytes(headEnd, headEnd + (int) need);
        truncated = contentLength > bodyCap;
        complete = true;
      }
    } else if (available >= bodyCap || eof) {
      body = buf.getBytes(headEnd, headEnd + Math.min(available, bodyCap));
      truncated = available > bodyCap;
      complete = true;
    }
  }

  private void decodeChunked(boolean eof) {
    Buffer out = Buffer.buffer();
    int p = headEnd;
    while (true) {
      int lineEnd = indexOfCrlf(p);
      if (lineEnd < 0) {
        break;
      }
      String sizeText = buf.getString(p, lineEnd, "ISO-8859-1");
      int semi = sizeText.indexOf(';');
      long size;
      try {
        size = Long.parseLong((semi >= 0 ? sizeText.substring(0, semi) : sizeText).trim(), 16);
      } catch (NumberFormatException e) {
        error = "bad chunk size '" + truncate(sizeText, 30) + "'";
        return;
      }
      if (size == 0) {
        body = out.getBytes();
        complete = true;
        return;
      }
      int dataStart = lineEnd + 2;
      int have = (int) Math.min(size, buf.length() - dataStart);
      out.appendBuffer(buf.slice(dataStart, dataStart + have));
      if (out.length() >= bodyCap) {
        body = out.getBytes(0, bodyCap);
        truncated = true;
        complete = true;
        return;
      }
      if (have < size) {
        break;
      }
      p = dataStart + (int) size + 2;
      if (p > buf.length()) {
        break;
      }
    }
    if (eof) {
      error = "connection closed inside a chunked body";
    }
  }

  private int indexOfCrlf(int from) {
    for (int i = from + 1; i < buf.length(); i++) {
      if (buf.getByte(i) == '\n' && buf.getByte(i - 1) == '\r') {
        return i - 1;
      }
    }
    return -1;
  }

  boolean complete() {
    return complete;
  }

  String error() {
    return error;
  }

  boolean headReceived() {
    return headEnd >= 0;
  }

  int status() {
    return status;
  }

  int bytesReceived() {
    return buf.length();
  }

  String body() {
    return new String(body, StandardCharsets.UTF_8);
  }

  boolean bodyTruncated() {
    return truncated;
  }

  static String truncate(String s, int max) {
    String oneLine = s.replace("\r", "\\r").replace("\n", "\\n");
    return oneLine.length() <= max ? oneLine : oneLine.substring(0, max) + "…";
  }
}
