package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.proxy.ProxyOutcome;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * One strict, byte-level HTTP/1.1 message parser that both validates framing and records the head, for
 * requests (client side) and responses (upstream side). It walks every byte of a message once: the head is
 * copied into {@link #head} with the offsets of the start line and of each field's name and value (no header
 * map, no second scan); the body is not copied, only followed — fixed length, or chunk by chunk with trailers —
 * so the owner can relay it raw and knows where the next message starts. State is reused from message to
 * message ({@link #reset()}).
 *
 * <p>Rejected (request: 400 and close; response: the upstream failed), because these are the disagreements
 * request smuggling exploits between a front proxy and the server behind it:
 * <ul>
 *   <li>bare CR or bare LF anywhere in a head or chunk line (RFC 9112 §2.2);</li>
 *   <li>obs-fold: a field line starting with SP or HTAB (RFC 9112 §5.2);</li>
 *   <li>invalid field names, whitespace before the colon (RFC 9112 §5.1), control characters in values;</li>
 *   <li>Content-Length together with Transfer-Encoding in a request (RFC 9112 §6.1), differing Content-Length
 *       values (RFC 9112 §6.3), non-numeric lengths, a request Transfer-Encoding other than one {@code chunked};</li>
 *   <li>invalid chunk sizes, a chunk not followed by CRLF (RFC 9112 §7.1), and in requests any chunk
 *       extension ({@link #forRequests}).</li>
 * </ul>
 * Limits (requests): URI length (414), header count and bytes (431), body bytes (413).
 */
final class H1Parser {
  /** {@link #feed} results. */
  static final int ERROR = -1;
  static final int NEED_MORE = 0;
  static final int HEAD_DONE = 1;
  static final int BODY_DONE = 2;

  private static final int S_HEAD = 0;
  private static final int S_HEAD_END = 1; // head parsed, body framing not started yet
  private static final int S_FIXED = 2;
  private static final int S_CHUNK_SIZE = 3;
  private static final int S_CHUNK_DATA = 4;
  private static final int S_CHUNK_CR = 5;
  private static final int S_CHUNK_LF = 6;
  private static final int S_TRAILERS = 7;
  private static final int S_UNTIL_CLOSE = 8;
  private static final int S_DONE = 9;

  static final boolean[] TCHAR = new boolean[128];

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

  private final boolean request;
  private final int maxUri;
  private final int maxHeadBytes;
  private final int maxFields;
  private final long maxBody;
  private final boolean rejectChunkExtensions;

  /**
   * The head's lines without their CRLFs, back to back; offsets below index into it. Null until the first byte
   * of a message arrives, and again while an idle client connection waits for its next request (see
   * {@link Buffers}).
   */
  byte[] head;
  int headLen;
  /** Request: method is head[0, methodEnd), target head[targetStart, targetEnd). Response: status code. */
  int methodEnd;
  int targetStart;
  int targetEnd;
  int status;
  int reasonStart;
  int startLineEnd;
  /** HTTP/1.0 message (else 1.1). */
  boolean http10;
  /** Field i: name head[f[4i], f[4i+1]), value (OWS trimmed) head[f[4i+2], f[4i+3]). */
  int[] f;
  /** Where {@link #head} and {@link #f} come from and go back to between requests; null: allocated, kept. */
  private final Buffers buffers;
  int fields;
  long contentLength;
  boolean chunked;
  private boolean sawTe;
  /** An Upgrade field was present; {@link #upgradeWebsocket}: it names websocket (RFC 6455 §4.1). */
  boolean upgrade;
  boolean upgradeWebsocket;
  /** Connection: close / keep-alive tokens seen. */
  boolean connectionClose;
  boolean connectionKeepAlive;
  /** A Connection field names other fields (beyond keep-alive/close/upgrade): those are hop-by-hop too. */
  boolean hasConnection;
  boolean expectContinue;
  /**
   * The request target was in absolute form (RFC 9112 §3.2.2, {@code http://host/path}): its authority is
   * head[authStart, authEnd), {@link #targetStart} is where its path (or query) starts, and {@link #emptyPath}
   * says the path is empty (the origin form then starts with "/").
   */
  boolean absoluteForm;
  int authStart;
  int authEnd;
  boolean emptyPath;
  private boolean https;
  /** Host fields seen, and the first one's index. */
  private int hostFields;
  int hostField;
  /** The request line was the HTTP/2 connection preface (RFC 9113 §3.4). */
  boolean h2Preface;
  /** A byte of the next head has arrived (for the header-read timeout). */
  boolean headStarted;
  ProxyOutcome error;

  /**
   * For a client that is not HTTP/1.1 (an HTTP/2 stream): {@link #feed} returns after each run of body bytes,
   * which lies in [{@link #dataStart}, {@link #dataEnd}) of the buffer, so that chunk framing can be dropped;
   * trailer lines of a chunked body are kept in {@link #trailers}.
   */
  boolean stopAtData;
  int dataStart;
  int dataEnd;
  java.util.List<String> trailers;

  private int state;
  private int lineStart;
  private boolean prevCr;
  private int lineNo;
  private int headBytes;
  private long remaining;
  private long bodyTotal;
  /** Chunk-size and trailer lines; allocated with the first chunked body. */
  private byte[] line;
  private int lineLen;
  /**
   * The head line being read holds a control character other than HTAB (seen while copying it): only then are
   * its value bytes scanned again for one.
   */
  private boolean lineHasControl;

  private H1Parser(boolean request, int maxUri, int maxHeadBytes, int maxFields, long maxBody,
      boolean rejectChunkExtensions, Buffers buffers) {
    this.request = request;
    this.buffers = buffers;
    this.maxUri = maxUri;
    this.maxHeadBytes = maxHeadBytes;
    this.maxFields = maxFields;
    this.maxBody = maxBody;
    this.rejectChunkExtensions = rejectChunkExtensions;
    reset();
  }

  /**
   * A request parser under the configured limits. Chunk extensions are refused: RFC 9112 §7.1.1 allows them,
   * but parsers disagree on them (quoted strings, bare LF inside: a known desync vector), and the body is relayed
   * as framed, so an upstream would parse them too.
   */
  static H1Parser forRequests(ProxyConfig.Limits limits) {
    return forRequests(limits, null);
  }

  /** The same, borrowing its head buffers from {@code buffers} (an event loop's) while a request is read. */
  static H1Parser forRequests(ProxyConfig.Limits limits, Buffers buffers) {
    return new H1Parser(true, limits.maxUriBytes(), limits.maxHeaderBytes() + limits.maxUriBytes(),
        limits.maxHeaders(), limits.maxBodyBytes(), true, buffers);
  }

  /**
   * Per event loop, the head buffers of client connections between their requests. An idle keep-alive connection
   * holds none (it held 0.8 KiB: a 512-byte head and 64 field offsets), one that reads a request takes a pair and
   * gives it back when the response is done: in steady state no allocation, and the memory follows the requests
   * in progress, not the connections open. Used on one event loop only: no lock.
   */
  static final class Buffers {
    /** Heads grown beyond this are not kept (a rare large head should not pin its buffer). */
    private static final int KEEP_MAX_HEAD = 4096;
    private final byte[][] heads;
    private final int[][] fields;
    private int size;

    Buffers(int capacity) {
      heads = new byte[capacity][];
      fields = new int[capacity][];
    }

    int size() {
      return size;
    }
  }

  /** Takes {@link #head} and {@link #f} from the pool (or allocates them) before the first byte of a message. */
  private void takeBuffers() {
    Buffers b = buffers;
    if (b != null && b.size > 0) {
      int i = --b.size;
      head = b.heads[i];
      f = b.fields[i];
      b.heads[i] = null;
      b.fields[i] = null;
    } else {
      head = new byte[512];
      f = new int[64];
    }
  }

  /**
   * Between two requests (the previous one answered, no byte of the next one read): gives the head buffers back
   * to the pool. Nothing reads the recorded head until the next message arrives.
   */
  void releaseBuffers() {
    Buffers b = buffers;
    if (b == null || head == null || headLen != 0) {
      return;
    }
    if (b.size < b.heads.length && head.length <= Buffers.KEEP_MAX_HEAD) {
      b.heads[b.size] = head;
      b.fields[b.size] = f;
      b.size++;
    }
    head = null;
    f = null;
  }

  /**
   * A response parser: heads up to 64 KiB and 1000 fields, no body limit (what the upstream sends, we relay),
   * chunk extensions relayed.
   */
  static H1Parser forResponses() {
    return new H1Parser(false, 0, 64 * 1024, 1000, 0, false, null);
  }

  /** Ready for the next message on the connection. */
  void reset() {
    state = S_HEAD;
    headLen = 0;
    lineStart = 0;
    prevCr = false;
    lineNo = 0;
    headBytes = 0;
    fields = 0;
    contentLength = -1;
    chunked = false;
    sawTe = false;
    upgrade = false;
    upgradeWebsocket = false;
    connectionClose = false;
    connectionKeepAlive = false;
    hasConnection = false;
    expectContinue = false;
    h2Preface = false;
    headStarted = false;
    lineHasControl = false;
    http10 = false;
    absoluteForm = false;
    emptyPath = false;
    hostFields = 0;
    hostField = -1;
    status = 0;
    error = null;
    stopAtData = false;
    trailers = null;
  }

  boolean inHead() {
    return state == S_HEAD;
  }

  boolean bodyDone() {
    return state == S_DONE;
  }

  /** Whether the body runs until the connection closes (a response without length). */
  boolean untilClose() {
    return state == S_UNTIL_CLOSE;
  }

  /**
   * After {@link #HEAD_DONE}: starts following the body. Requests frame by Content-Length / chunked (no body
   * otherwise, RFC 9112 §6.3); responses likewise, except {@code noBody} (HEAD, 1xx, 204, 304) and a body
   * delimited by the connection's close when neither is given.
   */
  void beginBody(boolean noBody) {
    bodyTotal = 0;
    lineLen = 0;
    prevCr = false;
    if (noBody) {
      state = S_DONE;
    } else if (chunked) {
      state = S_CHUNK_SIZE;
      if (line == null) {
        line = new byte[64];
      }
    } else if (sawTe) {
      state = S_UNTIL_CLOSE; // RFC 9112 §6.3 rule 4: a response with a final coding other than chunked
    } else if (contentLength > 0) {
      state = S_FIXED;
      remaining = contentLength;
    } else if (contentLength == 0 || request) {
      state = S_DONE;
    } else {
      state = S_UNTIL_CLOSE;
    }
  }

  /**
   * Consumes bytes from {@code buf}'s reader index: stops right after a head ({@link #HEAD_DONE}) or at the end
   * of a body ({@link #BODY_DONE}), else consumes everything ({@link #NEED_MORE}); {@link #ERROR} with
   * {@link #error} set. The reader index is left after the last byte consumed.
   */
  int feed(ByteBuf buf) {
    int i = buf.readerIndex();
    int end = buf.writerIndex();
    int r = NEED_MORE;
    dataStart = i;
    dataEnd = i;
    if (head == null) {
      takeBuffers();
    }
    // line-oriented bytes are read from a bulk copy (one memcpy per 4 KiB) rather than one bounds- and
    // reference-checked getByte per byte; body bytes are only counted, never read
    byte[] a = SCRATCH.get();
    int aBase = 0;
    int aEnd = 0;
    loop:
    while (i < end) {
      switch (state) {
        case S_FIXED -> {
          int n = (int) Math.min(remaining, end - i);
          dataStart = i;
          i += n;
          dataEnd = i;
          remaining -= n;
          if (remaining == 0) {
            state = S_DONE;
            r = BODY_DONE;
            break loop;
          }
          if (stopAtData) {
            break loop;
          }
        }
        case S_UNTIL_CLOSE -> {
          dataStart = i;
          i = end;
          dataEnd = end;
        }
        case S_CHUNK_DATA -> {
          int n = (int) Math.min(remaining, end - i);
          dataStart = i;
          i += n;
          dataEnd = i;
          remaining -= n;
          if (remaining == 0) {
            state = S_CHUNK_CR;
          }
          if (stopAtData) {
            break loop;
          }
        }
        case S_HEAD_END, S_DONE -> {
          break loop;
        }
        default -> { // S_HEAD, S_CHUNK_SIZE, S_TRAILERS: line oriented; S_CHUNK_CR, S_CHUNK_LF: one byte
          if (i >= aEnd || i < aBase) {
            int n = Math.min(end - i, a.length);
            buf.getBytes(i, a, 0, n);
            aBase = i;
            aEnd = i + n;
          }
          if (state == S_HEAD && !prevCr) {
            // the bytes of a head line up to its CR (or a bare LF) are copied as one run; the line is checked
            // when it ends (requestLine / statusLine / fieldLine), the limits here for the whole run at once
            int p = i - aBase;
            int lim = aEnd - aBase;
            int s0 = p;
            boolean ctl = false;
            while (p < lim) {
              byte c = a[p];
              if ((c & 0xff) < 0x20 || c == 0x7f) { // rare in a head: one test per byte on the usual path
                if (c == '\r' || c == '\n') {
                  break;
                }
                ctl |= c != '\t';
              }
              p++;
            }
            lineHasControl |= ctl;
            int n = p - s0;
            if (n > 0) {
              headStarted = true;
              // the first byte that would pass a limit, 1-based in this run, as the byte-wise checks order them
              int overHead = maxHeadBytes - headBytes + 1;
              int overUri = lineNo == 0 && request ? maxUri + 64 - headLen + 1 : Integer.MAX_VALUE;
              if (overHead <= n || overUri <= n) {
                i += Math.min(overHead, overUri);
                r = fail(overHead <= overUri ? ProxyOutcome.HEADERS_TOO_LARGE : ProxyOutcome.URI_TOO_LONG);
                break loop;
              }
              if (headLen + n > head.length) {
                head = java.util.Arrays.copyOf(head, Math.min(Math.max(head.length * 2, headLen + n), maxHeadBytes + 1));
              }
              System.arraycopy(a, s0, head, headLen, n);
              headLen += n;
              headBytes += n;
              i += n;
              continue;
            }
          }
          byte b = a[i - aBase];
          i++;
          if (state == S_CHUNK_CR || state == S_CHUNK_LF) {
            if (b != (state == S_CHUNK_CR ? '\r' : '\n')) {
              r = fail(ProxyOutcome.BAD_REQUEST);
              break loop;
            }
            state = state == S_CHUNK_CR ? S_CHUNK_LF : S_CHUNK_SIZE;
            continue;
          }
          if (state == S_HEAD) {
            headStarted = true;
            if (++headBytes > maxHeadBytes) {
              r = fail(ProxyOutcome.HEADERS_TOO_LARGE);
              break loop;
            }
          }
          if (prevCr) {
            if (b != '\n') {
              r = fail(ProxyOutcome.BAD_REQUEST); // bare CR
              break loop;
            }
            prevCr = false;
            r = endOfLine();
            lineHasControl = false;
            if (r != NEED_MORE) {
              break loop;
            }
          } else if (b == '\r') {
            prevCr = true;
          } else if (b == '\n') {
            r = fail(ProxyOutcome.BAD_REQUEST); // bare LF
            break loop;
          } else if (state == S_HEAD) {
            if (headLen == head.length) {
              head = java.util.Arrays.copyOf(head, Math.min(head.length * 2, maxHeadBytes + 1));
            }
            head[headLen++] = b;
            if (lineNo == 0 && request && headLen > maxUri + 64) {
              r = fail(ProxyOutcome.URI_TOO_LONG);
              break loop;
            }
          } else {
            if (lineLen == line.length) {
              if (lineLen >= Math.max(maxHeadBytes, 8192)) {
                r = fail(ProxyOutcome.HEADERS_TOO_LARGE);
                break loop;
              }
              line = java.util.Arrays.copyOf(line, line.length * 2);
            }
            line[lineLen++] = b;
          }
        }
      }
    }
    buf.readerIndex(i);
    return r;
  }

  /** Per-thread bulk-read buffer; only valid within one {@link #feed} call. */
  private static final io.netty.util.concurrent.FastThreadLocal<byte[]> SCRATCH =
      new io.netty.util.concurrent.FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
          return new byte[4096];
        }
      };

  private int fail(ProxyOutcome o) {
    error = o;
    return ERROR;
  }

  private int endOfLine() {
    return switch (state) {
      case S_HEAD -> headLine();
      case S_CHUNK_SIZE -> chunkSizeLine();
      default -> trailerLine();
    };
  }

  private int headLine() {
    int from = lineStart;
    int len = headLen - from;
    if (lineNo == 0) {
      if (len == 0 && request && headBytes <= 2) {
        headBytes = 0;
        headStarted = false;
        return NEED_MORE; // RFC 9112 §2.2: an empty line before the request line may be ignored
      }
      lineNo++;
      ProxyOutcome o = request ? requestLine(len) : statusLine(len);
      if (o != null) {
        return fail(o);
      }
      startLineEnd = headLen;
      lineStart = headLen;
      if (h2Preface) {
        state = S_HEAD_END;
        return HEAD_DONE;
      }
      return NEED_MORE;
    }
    if (len == 0) {
      return endOfHead();
    }
    lineNo++;
    if (fields >= maxFields) {
      return fail(request ? ProxyOutcome.HEADERS_TOO_LARGE : ProxyOutcome.BAD_REQUEST);
    }
    ProxyOutcome o = fieldLine(head, from, headLen, true);
    lineStart = headLen;
    return o == null ? NEED_MORE : fail(o);
  }

  private ProxyOutcome requestLine(int len) {
    byte[] h = head;
    if (len == 14 && h[0] == 'P' && h[1] == 'R' && h[2] == 'I' && h[3] == ' ' && h[4] == '*'
        && isBytes(h, 0, PREFACE_LINE)) {
      h2Preface = true; // h2c with prior knowledge (RFC 9113 §3.3): not HTTP/1.1 from here on
      return null;
    }
    int sp1 = -1;
    int sp2 = -1;
    for (int i = 0; i < len; i++) {
      if (h[i] == ' ') {
        if (sp1 < 0) {
          sp1 = i;
        } else if (sp2 < 0) {
          sp2 = i;
        } else {
          return ProxyOutcome.BAD_REQUEST;
        }
      }
    }
    if (sp1 <= 0 || sp2 <= sp1 + 1) {
      return ProxyOutcome.BAD_REQUEST;
    }
    for (int i = 0; i < sp1; i++) {
      byte c = h[i];
      if (c < 0 || !TCHAR[c]) {
        return ProxyOutcome.BAD_REQUEST;
      }
    }
    if (sp2 - sp1 - 1 > maxUri) {
      return ProxyOutcome.URI_TOO_LONG;
    }
    for (int i = sp1 + 1; i < sp2; i++) {
      byte c = h[i];
      if ((c >= 0 && c <= 0x20) || c == 0x7f) {
        return ProxyOutcome.BAD_REQUEST;
      }
    }
    if (!isVersion(h, sp2 + 1, len)) {
      return ProxyOutcome.BAD_REQUEST;
    }
    http10 = h[len - 1] == '0';
    methodEnd = sp1;
    targetStart = sp1 + 1;
    targetEnd = sp2;
    return h[targetStart] == '/' || h[targetStart] == '*' ? null : absoluteTarget();
  }

  /**
   * RFC 9112 §3.2.2: a server MUST accept the absolute form. An http(s) URI's authority becomes the request's
   * host (routed on, compared with Host) and the path the proxy forwards; other schemes, a userinfo part
   * (RFC 9110 §4.2.4: a recipient treats it as an error) or an empty host are refused. CONNECT's authority form
   * is not accepted here.
   */
  private ProxyOutcome absoluteTarget() {
    byte[] h = head;
    int t = targetStart;
    int p;
    if (targetEnd - t > 7 && regionIs(h, t, "http://")) {
      p = t + 7;
      https = false;
    } else if (targetEnd - t > 8 && regionIs(h, t, "https://")) {
      p = t + 8;
      https = true;
    } else {
      return ProxyOutcome.BAD_REQUEST;
    }
    int e = p;
    while (e < targetEnd && h[e] != '/' && h[e] != '?') {
      if (h[e] == '@' || h[e] == '#') {
        return ProxyOutcome.BAD_REQUEST;
      }
      e++;
    }
    if (e == p || h[p] == ':') {
      return ProxyOutcome.BAD_REQUEST;
    }
    absoluteForm = true;
    authStart = p;
    authEnd = e;
    targetStart = e;
    emptyPath = e == targetEnd || h[e] == '?';
    return null;
  }

  private static final byte[] PREFACE_LINE = "PRI * HTTP/2.0".getBytes(StandardCharsets.ISO_8859_1);

  private static boolean isBytes(byte[] h, int from, byte[] want) {
    return java.util.Arrays.equals(h, from, from + want.length, want, 0, want.length);
  }

  /** {@code HTTP/1.1} or {@code HTTP/1.0} exactly in head[from, to). */
  private static boolean isVersion(byte[] h, int from, int to) {
    return to - from == 8 && h[from] == 'H' && h[from + 1] == 'T' && h[from + 2] == 'T' && h[from + 3] == 'P'
        && h[from + 4] == '/' && h[from + 5] == '1' && h[from + 6] == '.' && (h[from + 7] == '1' || h[from + 7] == '0');
  }

  private ProxyOutcome statusLine(int len) {
    byte[] h = head;
    // HTTP-version SP 3DIGIT SP [reason] (RFC 9112 §4); a missing SP before an empty reason is tolerated
    if (len < 12 || !isVersion(h, 0, 8) || h[8] != ' ' || (len > 12 && h[12] != ' ')) {
      return ProxyOutcome.BAD_REQUEST;
    }
    int st = 0;
    for (int i = 9; i < 12; i++) {
      if (h[i] < '0' || h[i] > '9') {
        return ProxyOutcome.BAD_REQUEST;
      }
      st = st * 10 + h[i] - '0';
    }
    if (st < 100) {
      return ProxyOutcome.BAD_REQUEST;
    }
    http10 = h[7] == '0';
    status = st;
    reasonStart = Math.min(len, 13);
    return null;
  }

  /** Validates a field line in b[from, to); for head fields records offsets and framing semantics. */
  private ProxyOutcome fieldLine(byte[] b, int from, int to, boolean inHead) {
    byte first = b[from];
    if (first == ' ' || first == '\t') {
      return ProxyOutcome.BAD_REQUEST; // obs-fold
    }
    int colon = -1;
    for (int i = from; i < to; i++) {
      byte c = b[i];
      if (c == ':') {
        colon = i;
        break;
      }
      if (c < 0 || !TCHAR[c]) {
        return ProxyOutcome.BAD_REQUEST; // invalid name, or whitespace before the colon
      }
    }
    if (colon <= from) {
      return ProxyOutcome.BAD_REQUEST;
    }
    for (int i = colon + 1; (lineHasControl || !inHead) && i < to; i++) {
      byte c = b[i];
      if ((c >= 0 && c < 0x20 && c != '\t') || c == 0x7f) {
        return ProxyOutcome.BAD_REQUEST;
      }
    }
    if (!inHead) {
      return null;
    }
    int vs = colon + 1;
    while (vs < to && (b[vs] == ' ' || b[vs] == '\t')) {
      vs++;
    }
    int ve = to;
    while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t')) {
      ve--;
    }
    int k = fields * 4;
    if (k + 4 > f.length) {
      f = java.util.Arrays.copyOf(f, f.length * 2);
    }
    f[k] = from;
    f[k + 1] = colon;
    f[k + 2] = vs;
    f[k + 3] = ve;
    fields++;
    int nameLen = colon - from;
    switch (nameLen) {
      case 14 -> {
        if (nameIs(b, from, "content-length")) {
          return contentLength(b, vs, ve);
        }
      }
      case 17 -> {
        if (nameIs(b, from, "transfer-encoding")) {
          return transferEncoding(b, vs, ve);
        }
      }
      case 7 -> {
        if (nameIs(b, from, "upgrade")) {
          upgrade = true;
          upgradeWebsocket |= hasToken(b, vs, ve, "websocket");
        }
      }
      case 10 -> {
        if (nameIs(b, from, "connection")) {
          connectionClose |= hasToken(b, vs, ve, "close");
          connectionKeepAlive |= hasToken(b, vs, ve, "keep-alive");
          // the usual "keep-alive" / "close" / "upgrade" name no field that is not hop-by-hop already: only
          // other names make every field worth checking against the list
          hasConnection |= hasOtherToken(b, vs, ve);
        }
      }
      case 4 -> {
        if (request && nameIs(b, from, "host")) {
          if (hostFields++ == 0) {
            hostField = fields - 1;
          }
          for (int i = vs; i < ve; i++) {
            byte c = b[i];
            if (c == ' ' || c == '\t' || c == ',' || c == '/' || c == '?' || c == '#' || c == '@') {
              return ProxyOutcome.BAD_REQUEST; // not a uri-host [":" port] (RFC 9110 §7.2): 400 (RFC 9112 §3.2)
            }
          }
        }
      }
      case 6 -> {
        if (nameIs(b, from, "expect")) {
          expectContinue |= hasToken(b, vs, ve, "100-continue");
        }
      }
      default -> { }
    }
    return null;
  }

  private ProxyOutcome contentLength(byte[] b, int vs, int ve) {
    // RFC 9112 §6.3: a list of identical values is one value; differing values are unrecoverable
    int i = vs;
    while (true) {
      int end = i;
      while (end < ve && b[end] != ',') {
        end++;
      }
      int s = i;
      int e = end;
      while (s < e && (b[s] == ' ' || b[s] == '\t')) {
        s++;
      }
      while (e > s && (b[e - 1] == ' ' || b[e - 1] == '\t')) {
        e--;
      }
      long n = parseDecimal(b, s, e);
      if (n < 0 || (contentLength >= 0 && n != contentLength)) {
        return ProxyOutcome.BAD_REQUEST;
      }
      contentLength = n;
      if (end >= ve) {
        break;
      }
      i = end + 1;
    }
    if (request && sawTe) {
      return ProxyOutcome.BAD_REQUEST;
    }
    return null;
  }

  private ProxyOutcome transferEncoding(byte[] b, int vs, int ve) {
    if (request) {
      // only a single "chunked" is acceptable from a client: another coding we cannot frame, and "chunked" twice
      // or not last is a classic desync shape; with Content-Length it is one (RFC 9112 §6.1)
      if (sawTe || contentLength >= 0 || ve - vs != 7 || !regionIs(b, vs, "chunked")) {
        return ProxyOutcome.BAD_REQUEST;
      }
      sawTe = true;
      chunked = true;
      return null;
    }
    // a response: chunked when it is the final coding (RFC 9112 §6.3 rule 4), else read until close
    sawTe = true;
    int last = ve;
    int s = ve;
    while (s > vs && b[s - 1] != ',') {
      s--;
    }
    while (s < last && (b[s] == ' ' || b[s] == '\t')) {
      s++;
    }
    chunked = last - s == 7 && regionIs(b, s, "chunked");
    return null;
  }

  private int endOfHead() {
    if (request && sawTe && contentLength >= 0) {
      return fail(ProxyOutcome.BAD_REQUEST);
    }
    // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host and for any request with more than one (the
    // origin would see both, and which one a hop believes is how cache poisoning and routing bypasses start);
    // with an absolute-form target the Host must name the same authority (RFC 9112 §3.2.2 lets a server ignore
    // Host then; refusing keeps Host, X-Forwarded-Host and the route in agreement)
    if (request && (hostFields > 1 || (hostFields == 0 && !http10)
        || (absoluteForm && hostFields == 1 && !sameAuthority()))) {
      return fail(ProxyOutcome.BAD_REQUEST);
    }
    if (request && !chunked && contentLength > 0 && maxBody > 0 && contentLength > maxBody) {
      return fail(ProxyOutcome.BODY_TOO_LARGE);
    }
    state = S_HEAD_END;
    return HEAD_DONE;
  }

  private int chunkSizeLine() {
    byte[] l = line;
    int len = lineLen;
    lineLen = 0;
    int i = 0;
    long size = 0;
    while (i < len && Character.digit(l[i], 16) >= 0) {
      if (i >= 15) {
        return fail(ProxyOutcome.BAD_REQUEST); // > 2^60: no real chunk, an overflow attempt
      }
      size = size * 16 + Character.digit(l[i], 16);
      i++;
    }
    if (i == 0) {
      return fail(ProxyOutcome.BAD_REQUEST);
    }
    int j = i;
    while (j < len && (l[j] == ' ' || l[j] == '\t')) {
      j++;
    }
    if (j < len && (l[j] != ';' || rejectChunkExtensions)) {
      return fail(ProxyOutcome.BAD_REQUEST); // only chunk extensions may follow the size (RFC 9112 §7.1.1)
    }
    for (int k = j; k < len; k++) {
      if ((l[k] >= 0 && l[k] < 0x20 && l[k] != '\t') || l[k] == 0x7f) {
        return fail(ProxyOutcome.BAD_REQUEST);
      }
    }
    bodyTotal += size;
    if (maxBody > 0 && bodyTotal > maxBody) {
      return fail(ProxyOutcome.BODY_TOO_LARGE);
    }
    if (size == 0) {
      state = S_TRAILERS;
    } else {
      state = S_CHUNK_DATA;
      remaining = size;
    }
    return NEED_MORE;
  }

  private int trailerLine() {
    int len = lineLen;
    lineLen = 0;
    if (len == 0) {
      state = S_DONE;
      return BODY_DONE;
    }
    ProxyOutcome o = fieldLine(line, 0, len, false);
    if (o == null && stopAtData) {
      if (trailers == null) {
        trailers = new java.util.ArrayList<>(2);
      }
      trailers.add(new String(line, 0, len, StandardCharsets.ISO_8859_1));
    }
    return o == null ? NEED_MORE : fail(o);
  }

  // ---- head accessors

  private static boolean nameIs(byte[] b, int from, String lower) {
    for (int i = 0; i < lower.length(); i++) {
      if ((b[from + i] | 0x20) != lower.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static boolean regionIs(byte[] b, int from, String lower) {
    for (int i = 0; i < lower.length(); i++) {
      int c = b[from + i];
      if ((c >= 'A' && c <= 'Z' ? c | 0x20 : c) != lower.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** Whether the comma-separated list in b[vs, ve) holds {@code token} (case-insensitive). */
  static boolean hasToken(byte[] b, int vs, int ve, String token) {
    int n = token.length();
    for (int s = tokenStart(b, vs, ve), e; s < ve; s = tokenStart(b, e, ve)) {
      e = tokenEnd(b, s, ve);
      if (e - s == n && regionIs(b, s, token)) {
        return true;
      }
    }
    return false;
  }

  /** Whether the list in b[vs, ve) names anything but keep-alive, close and upgrade. */
  private static boolean hasOtherToken(byte[] b, int vs, int ve) {
    for (int s = tokenStart(b, vs, ve), e; s < ve; s = tokenStart(b, e, ve)) {
      e = tokenEnd(b, s, ve);
      int n = e - s;
      if (!(n == 10 && regionIs(b, s, "keep-alive")) && !(n == 5 && regionIs(b, s, "close"))
          && !(n == 7 && regionIs(b, s, "upgrade"))) {
        return true;
      }
    }
    return false;
  }

  /** Where the next token of a comma-separated list starts in b[i, ve): past spaces, tabs and commas. */
  private static int tokenStart(byte[] b, int i, int ve) {
    while (i < ve && (b[i] == ' ' || b[i] == '\t' || b[i] == ',')) {
      i++;
    }
    return i;
  }

  /** Where the token starting at s ends: at the next comma, space or tab, or ve. */
  private static int tokenEnd(byte[] b, int s, int ve) {
    while (s < ve && b[s] != ',' && b[s] != ' ' && b[s] != '\t') {
      s++;
    }
    return s;
  }

  /** Whether field i's name equals {@code lower} (a lower-case name). */
  boolean fieldIs(int i, String lower) {
    int from = f[4 * i];
    return f[4 * i + 1] - from == lower.length() && nameIs(head, from, lower);
  }

  /** Index of the first field named {@code lower}, or -1. */
  int find(String lower) {
    for (int i = 0; i < fields; i++) {
      if (fieldIs(i, lower)) {
        return i;
      }
    }
    return -1;
  }

  /** Index of the first field named {@code name}, any case on either side, or -1. */
  int findIgnoreCase(String name) {
    int n = name.length();
    for (int i = 0; i < fields; i++) {
      int from = f[4 * i];
      if (f[4 * i + 1] - from != n) {
        continue;
      }
      boolean eq = true;
      for (int k = 0; k < n && eq; k++) {
        eq = (head[from + k] | 0x20) == (name.charAt(k) | 0x20);
      }
      if (eq) {
        return i;
      }
    }
    return -1;
  }

  String value(int i) {
    return new String(head, f[4 * i + 2], f[4 * i + 3] - f[4 * i + 2], StandardCharsets.ISO_8859_1);
  }

  /** The first value of field {@code lower}, or null. */
  String value(String lower) {
    int i = find(lower);
    return i < 0 ? null : value(i);
  }

  /**
   * Whether field i is hop-by-hop (RFC 9110 §7.6.1, plus Proxy-Connection and Keep-Alive) or named in a
   * Connection field — never forwarded. Host, Transfer-Encoding and the forwarding headers are handled by the
   * caller.
   */
  boolean isHopByHop(int i) {
    int from = f[4 * i];
    int len = f[4 * i + 1] - from;
    byte[] h = head;
    boolean hop = switch (len) {
      case 2 -> nameIs(h, from, "te");
      case 7 -> nameIs(h, from, "upgrade") || nameIs(h, from, "trailer");
      case 10 -> nameIs(h, from, "connection") || nameIs(h, from, "keep-alive");
      case 16 -> nameIs(h, from, "proxy-connection");
      case 17 -> nameIs(h, from, "transfer-encoding");
      default -> false;
    };
    if (hop || !hasConnection) {
      return hop;
    }
    for (int c = 0; c < fields; c++) {
      if (fieldIs(c, "connection") && namedIn(c, from, len)) {
        return true;
      }
    }
    return false;
  }

  /** Whether Connection field c lists the name head[from, from+len). */
  private boolean namedIn(int c, int from, int len) {
    byte[] h = head;
    int i = f[4 * c + 2];
    int ve = f[4 * c + 3];
    while (i < ve) {
      while (i < ve && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) {
        i++;
      }
      int s = i;
      while (i < ve && h[i] != ',' && h[i] != ' ' && h[i] != '\t') {
        i++;
      }
      if (i - s == len) {
        boolean eq = true;
        for (int k = 0; k < len && eq; k++) {
          eq = (h[s + k] | 0x20) == (h[from + k] | 0x20);
        }
        if (eq) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Whether the Host field names the absolute target's authority: host case-insensitively, ports equal once the
   * scheme's default fills in a missing one ({@code example.com} = {@code example.com:80} for http).
   */
  private boolean sameAuthority() {
    byte[] h = head;
    int hs = f[4 * hostField + 2];
    int he = f[4 * hostField + 3];
    int aPort = portStart(h, authStart, authEnd);
    int hPort = portStart(h, hs, he);
    int aHostEnd = aPort < 0 ? authEnd : aPort - 1;
    int hHostEnd = hPort < 0 ? he : hPort - 1;
    if (aHostEnd - authStart != hHostEnd - hs) {
      return false;
    }
    for (int i = 0; i < aHostEnd - authStart; i++) {
      if ((h[authStart + i] | 0x20) != (h[hs + i] | 0x20)) {
        return false;
      }
    }
    long dflt = https ? 443 : 80;
    long ap = aPort < 0 || aPort == authEnd ? dflt : parseDecimal(h, aPort, authEnd);
    long hp = hPort < 0 || hPort == he ? dflt : parseDecimal(h, hPort, he);
    return ap >= 0 && ap == hp;
  }

  /** Where the port of the authority in b[s, e) starts (after its ':'), or -1 without one; IPv6 literals kept. */
  private static int portStart(byte[] b, int s, int e) {
    for (int i = e - 1; i >= s; i--) {
      if (b[i] == ':') {
        return i + 1;
      }
      if (b[i] == ']') {
        return -1;
      }
    }
    return -1;
  }

  /** A non-negative decimal of at most 18 digits in b[s, e) (no sign, no spaces: RFC 9110 §8.6), else -1. */
  static long parseDecimal(byte[] b, int s, int e) {
    if (e <= s || e - s > 18) {
      return -1;
    }
    long v = 0;
    for (int i = s; i < e; i++) {
      byte c = b[i];
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  /** The same for a String (used on heads the Vert.x decoder parsed). */
  static long parseDecimal(String s) {
    byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
    return parseDecimal(b, 0, b.length);
  }
}
