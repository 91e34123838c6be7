package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.proxy.ProxyOutcome;
import io.vertx.core.AsyncResult;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import java.util.concurrent.TimeoutException;

/**
 * The Vert.x transport of an {@link Exchange}: a request of the Vert.x server (HTTP/2 over TLS or h2c,
 * HTTP/1.1 over TLS, or the plain listener with {@code -Dmeridian.proxy.engine=vertx}) sent with the Vert.x
 * HTTP client, bodies streamed both ways with {@code pipe} (back-pressure, never buffered).
 */
final class VertxExchange extends Exchange {
  private final ProxyHandler vh;
  private final HttpServerRequest sreq;
  private HttpClientRequest upstreamRequest;

  VertxExchange(ProxyHandler h, ProxyEngine.Snapshot s, HttpServerRequest sreq, RequestView view,
      ProxyEngine.RouteRuntime route, byte[] clientIp, int zone, long start) {
    super(h, s, view, route, clientIp, zone, start, RequestChecks.hasBody(sreq));
    this.vh = h;
    this.sreq = sreq;
  }

  @Override
  void begin() {
    if (route != null) {
      sreq.response().closeHandler(v -> clientGone());
    }
    super.begin();
  }

  @Override
  void send(Upstream up) {
    if (WebSocketTunnel.isUpgrade(sreq)) {
      openTunnel(up);
      return;
    }
    RequestOptions o = new RequestOptions().setMethod(sreq.method()).setHost(up.host).setPort(up.port)
        .setSsl(up.ssl).setURI(originForm(sreq.uri()))
        // Vert.x counts the wait for a pooled connection into this timeout: the queue's bound plus the connect's
        .setConnectTimeout(s.proxy().connectTimeout().toMillis() + s.proxy().upstreamPool().queueTimeout().toMillis());
    vh.client.request(o).onComplete(this::connected);
  }

  /**
   * The target as an origin server expects it (RFC 9112 §3.2.1): an absolute-form target (accepted per §3.2.2,
   * its authority checked against Host by {@link SmugglingGuard}) loses scheme and authority; "/" for an empty
   * path.
   */
  static String originForm(String uri) {
    if (uri.isEmpty() || uri.charAt(0) == '/' || uri.equals("*")) {
      return uri;
    }
    int scheme = uri.indexOf("://");
    if (scheme < 0) {
      return uri;
    }
    int i = scheme + 3;
    while (i < uri.length() && uri.charAt(i) != '/' && uri.charAt(i) != '?') {
      i++;
    }
    return i == uri.length() ? "/" : uri.charAt(i) == '?' ? "/" + uri.substring(i) : uri.substring(i);
  }

  private void openTunnel(Upstream up) {
    java.util.Map<String, String> fwd = new java.util.HashMap<>();
    io.vertx.core.MultiMap tmp = io.vertx.core.MultiMap.caseInsensitiveMultiMap();
    addForwardingHeaders(tmp);
    tmp.forEach(e -> fwd.put(e.getKey(), e.getValue()));
    WebSocketTunnel.connectUpstream(vh.webSockets(), sreq, up, s.proxy().connectTimeout().toMillis(), fwd)
        .onComplete(ar -> {
          if (finished) {
            if (ar.succeeded()) {
              ar.result().close();
            }
            return;
          }
          if (ar.failed()) {
            upstreamFailed(ProxyOutcome.UPSTREAM_UNREACHABLE, true); // the handshake never reached the client
            return;
          }
          upstream.onSuccess();
          String regionId = region.region;
          WebSocketTunnel.splice(sreq, ar.result()).onComplete(done -> complete(101, null));
          h.engine.metrics.upstreamLatency(regionId, System.nanoTime() - start);
        });
  }

  private void connected(AsyncResult<HttpClientRequest> ar) {
    if (finished) {
      if (ar.succeeded()) {
        ar.result().reset();
      }
      return;
    }
    if (ar.failed()) {
      if (ar.cause() instanceof io.vertx.core.http.ConnectionPoolTooBusyException) {
        upstreamBusy(); // the wait queue is full (upstream_pool.max_queued)
        return;
      }
      // nothing was sent: safe to retry whatever the method (the body is still unread, paused)
      upstreamFailed(ProxyOutcome.UPSTREAM_UNREACHABLE, true);
      return;
    }
    HttpClientRequest creq = ar.result();
    upstreamRequest = creq;
    MultiMap out = creq.headers();
    Headers.copyEndToEnd(sreq.headers(), out);
    HostAndPort authority = sreq.authority();
    if (authority != null) {
      creq.authority(authority); // the application sees the Host the client asked for
    }
    addForwardingHeaders(out);
    sent();
    creq.response().onComplete(this::responded);
    if (hasBody) {
      if (!out.contains("content-length")) {
        creq.setChunked(true);
      }
      bodyStarted = true;
      sreq.pipe().endOnFailure(false).to(creq).onComplete(done -> {
        if (done.succeeded()) {
          bodySent(); // the response timeout runs from here: a slow upload is the client's pace
        } else if (!finished) {
          creq.reset(0, done.cause()); // the client's body broke off: never let the upstream see a truncated body
        }
      });
    } else {
      creq.end();
    }
  }

  private void addForwardingHeaders(MultiMap out) {
    out.set("x-forwarded-for", forwardedFor());
    if (!keepsClientForwarded("x-forwarded-proto")) {
      out.set("x-forwarded-proto", req.scheme());
    }
    String host = req.authority();
    if (host != null && !keepsClientForwarded("x-forwarded-host")) {
      out.set("x-forwarded-host", host);
    }
    out.set("forwarded", forwarded());
    out.set("via", via());
  }

  @Override
  void onResponseTimeout() {
    if (upstreamRequest != null) {
      upstreamRequest.reset(0, new TimeoutException("no response headers within the response timeout"));
    }
  }

  @Override
  void abortUpstream() {
    if (upstreamRequest != null) {
      upstreamRequest.reset();
      upstreamRequest = null;
    }
  }

  private void responded(AsyncResult<HttpClientResponse> ar) {
    if (finished) {
      return;
    }
    if (ar.failed()) {
      boolean timeout = timedOut || ar.cause() instanceof TimeoutException;
      upstreamRequest = null;
      upstreamFailed(timeout ? ProxyOutcome.UPSTREAM_TIMEOUT
          : bodyStarted ? ProxyOutcome.UPSTREAM_FAILED : ProxyOutcome.UPSTREAM_UNREACHABLE, false);
      return;
    }
    HttpClientResponse cres = ar.result();
    int status = cres.statusCode();
    HttpClientRequest creq = upstreamRequest;
    if (!responded(status)) {
      return;
    }
    HttpServerResponse resp = sreq.response();
    resp.setStatusCode(status);
    String reason = cres.statusMessage();
    if (reason != null && !reason.equals(io.netty.handler.codec.http.HttpResponseStatus.valueOf(status).reasonPhrase())) {
      resp.setStatusMessage(reason); // only a custom reason phrase: the standard one comes from Netty's cache
    }
    Headers.copyEndToEnd(cres.headers(), resp.headers());
    resp.putHeader(REGION_HEADER, region.region);
    if (issuesToken(status)) {
      String token = mintToken(cres.getHeader(s.proxy().readYourWrites().commitHeader()));
      resp.putHeader(io.meridian.proxy.ProxyTokens.RYW_HEADER, token);
      resp.headers().add("set-cookie", tokenCookie(token));
    }
    HttpMethod m = sreq.method();
    if (m == HttpMethod.HEAD || status == 204 || status == 304 || status < 200) {
      cres.handler(null);
      resp.end();
      complete(status, null);
      return;
    }
    if (!resp.headers().contains("content-length") && sreq.version() != HttpVersion.HTTP_1_0) {
      resp.setChunked(true);
    }
    cres.pipe().endOnFailure(false).to(resp).onComplete(done -> {
      if (done.failed()) {
        // either side broke mid-body: reset both so neither mistakes a truncated body for a whole one
        resp.reset();
        creq.reset();
        complete(status, ProxyOutcome.UPSTREAM_FAILED);
      } else {
        complete(status, null);
      }
    });
  }

  @Override
  void writeError(ProxyOutcome outcome, String regionId, boolean close) {
    writeError(sreq, outcome, regionId, s.proxy(), close);
  }

  static void writeError(HttpServerRequest req, ProxyOutcome outcome, String regionId, ProxyConfig cfg,
      boolean close) {
    HttpServerResponse resp = req.response();
    if (resp.headWritten()) {
      resp.reset();
      return;
    }
    if (resp.closed()) {
      return;
    }
    resp.setStatusCode(outcome.status());
    resp.putHeader("content-type", "application/json");
    resp.putHeader(REGION_HEADER, regionId == null ? "none" : regionId);
    if (outcome.retryAfter()) {
      resp.putHeader("retry-after", Long.toString(Math.max(1, cfg.retryAfter().toSeconds())));
    }
    boolean h1 = req.version() != HttpVersion.HTTP_2;
    if (close && h1) {
      // an unread request body makes the connection unusable for the next request (RFC 9112 §9.6)
      resp.putHeader("connection", "close");
    }
    resp.end(ErrorBody.json(outcome, regionId));
    if (close && h1) {
      resp.endHandler(v -> req.connection().close());
    }
  }

  /** The Vert.x request as the decision sees it. */
  static final class View implements RequestView {
    private final HttpServerRequest r;

    View(HttpServerRequest r) {
      this.r = r;
    }

    @Override
    public String method() {
      return r.method().name();
    }

    @Override
    public String uri() {
      return r.uri();
    }

    @Override
    public String path() {
      return r.path();
    }

    @Override
    public String authority() {
      return r.authority() == null ? null : r.authority().toString();
    }

    @Override
    public String host() {
      return r.authority() == null ? null : r.authority().host();
    }

    @Override
    public String header(String name) {
      return r.getHeader(name);
    }

    @Override
    public String cookie(String name) {
      io.vertx.core.http.Cookie c = r.getCookie(name);
      return c == null ? null : c.getValue();
    }

    @Override
    public String peerAddress() {
      return r.remoteAddress() == null ? null : r.remoteAddress().hostAddress();
    }

    @Override
    public String scheme() {
      return r.scheme();
    }

    @Override
    public String viaVersion() {
      return r.version() == HttpVersion.HTTP_2 ? "2" : r.version() == HttpVersion.HTTP_1_0 ? "1.0" : "1.1";
    }
  }
}
