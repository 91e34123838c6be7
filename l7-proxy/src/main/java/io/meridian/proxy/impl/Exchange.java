package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.core.RegionSelector;
import io.meridian.core.RegionState;
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
import io.vertx.core.net.SocketAddress;
import java.util.concurrent.TimeoutException;

/**
 * One proxied request from choice of region to the last byte of the response. Runs entirely on the event loop
 * of the client connection; its only shared-state writes are atomic counters.
 *
 * <p>Retries (to the next eligible region, chosen again by {@link RegionSelector#choose} with the regions
 * already tried excluded) happen only when repeating cannot duplicate an effect: the connection to the upstream
 * failed before anything was sent, or the request is idempotent (RFC 9110 §9.2.2) and has no body. Each retry
 * needs a slot of the retry budget.
 */
final class Exchange implements RegionSelector.Constraint {
  static final String REGION_HEADER = "X-Meridian-Region";

  private final ProxyHandler h;
  private final ProxyEngine.Snapshot s;
  private final HttpServerRequest req;
  private final ProxyEngine.RouteRuntime route;
  private final byte[] clientIp;
  private final int zone;
  private final int clientHash;
  private final long start;
  private final boolean hasBody;
  private final boolean idempotent;

  private String[] tried;
  private int triedCount;
  private int attempts;
  private boolean retrySlot;
  private RegionUpstreams region;
  private Upstream upstream;
  private HttpClientRequest upstreamRequest;
  private boolean bodyStarted;
  private boolean finished;
  private ProxyOutcome lastFailure;
  private long sentAt;
  private Sessions sessions;
  private String user;
  /** Only this region may serve (home routing, strong consistency, read-your-writes redirect), or null. */
  private String onlyRegion;
  /** When {@link #onlyRegion} cannot serve, fall back to nearest instead of failing (home, eventual/session). */
  private boolean fallbackNearest;
  /** Residency enforced: only regions of this group, failover included; null: any. */
  private String requiredGroup;
  private boolean strong;
  private Sessions.RywToken ryw;

  Exchange(ProxyHandler h, ProxyEngine.Snapshot s, HttpServerRequest req, ProxyEngine.RouteRuntime route,
      byte[] clientIp, int zone, int clientHash, long start) {
    this.h = h;
    this.s = s;
    this.req = req;
    this.route = route;
    this.clientIp = clientIp;
    this.zone = zone;
    this.clientHash = clientHash;
    this.start = start;
    this.hasBody = RequestChecks.hasBody(req);
    this.idempotent = isIdempotent(req.method());
  }

  static boolean isIdempotent(HttpMethod m) {
    return m == HttpMethod.GET || m == HttpMethod.HEAD || m == HttpMethod.OPTIONS || m == HttpMethod.PUT
        || m == HttpMethod.DELETE || m == HttpMethod.TRACE;
  }

  void begin() {
    if (route == null) {
      refuse(h, req, ProxyOutcome.NO_ROUTE, null, start, hasBody);
      return;
    }
    h.engine.activeRequests.incrementAndGet();
    if (zone >= 0) {
      h.engine.zoneRequests.incrementAndGet(zone);
    }
    req.response().closeHandler(v -> clientGone());
    ProxyConfig.Route r = route.route;
    sessions = h.sessions(s);
    boolean unsafe = !isSafe(req.method());
    boolean needsUser = r.policy() == ProxyConfig.Policy.HOME || r.consistency() != ProxyConfig.Consistency.EVENTUAL
        || r.residency() == ProxyConfig.Residency.ENFORCED || (unsafe && sessions.rywEnabled());
    if (!needsUser) {
      attempt();
      return;
    }
    Sessions.Identity id = sessions.identify(req);
    user = id.user();
    String home = sessions.home(id, req);
    String group = sessions.residencyGroup(id, home);
    // the controller may have promoted another region to act as home after a home-region failover
    String acting = home == null ? null : s.plan().homes().actingHome(home);
    boolean fenced = acting != null && s.plan().homes().fenced().contains(acting);
    if (r.residency() == ProxyConfig.Residency.ENFORCED) {
      if (group == null) {
        residencyRefused("unknown");
        return;
      }
      requiredGroup = group;
    }
    if (r.consistency() == ProxyConfig.Consistency.STRONG) {
      // strong: the home region or nothing — a write elsewhere could fork the user's data (fail closed)
      strong = true;
      if (acting == null || fenced) {
        finishWithError(ProxyOutcome.HOME_UNAVAILABLE, acting);
        return;
      }
      onlyRegion = acting;
    } else if (r.policy() == ProxyConfig.Policy.HOME && acting != null && !fenced) {
      onlyRegion = acting;
      fallbackNearest = true;
    }
    if (r.consistency() == ProxyConfig.Consistency.SESSION && !unsafe && onlyRegion == null) {
      ryw = sessions.rywToken(req, user);
    }
    attempt();
  }

  static boolean isSafe(HttpMethod m) {
    return m == HttpMethod.GET || m == HttpMethod.HEAD || m == HttpMethod.OPTIONS || m == HttpMethod.TRACE;
  }

  private void residencyRefused(String group) {
    h.engine.metrics.residencyRefusal(route.route.name(), group);
    finishWithError(ProxyOutcome.RESIDENCY_REFUSED, null);
  }

  /** Regions already tried for this request are excluded from the next choice. */
  @Override
  public boolean allows(RegionState r) {
    if (onlyRegion != null && !onlyRegion.equals(r.id())) {
      return false;
    }
    if (requiredGroup != null && !requiredGroup.equals(r.residencyGroup())) {
      return false;
    }
    for (int i = 0; i < triedCount; i++) {
      if (tried[i].equals(r.id())) {
        return false;
      }
    }
    return true;
  }

  private void markTried(String regionId) {
    if (tried == null) {
      tried = new String[4];
    } else if (triedCount == tried.length) {
      tried = java.util.Arrays.copyOf(tried, triedCount * 2);
    }
    tried[triedCount++] = regionId;
  }

  private void attempt() {
    int idx = RegionSelector.choose(s.plan(), zone, clientHash, this);
    if (idx < 0 && onlyRegion != null && fallbackNearest) {
      onlyRegion = null; // home (or the token's region) cannot serve: the nearest allowed region does
      fallbackNearest = false;
      idx = RegionSelector.choose(s.plan(), zone, clientHash, this);
    }
    if (idx < 0) {
      if (strong) {
        finishWithError(ProxyOutcome.HOME_UNAVAILABLE, onlyRegion);
      } else if (requiredGroup != null) {
        residencyRefused(requiredGroup);
      } else {
        finishWithError(lastFailure != null ? lastFailure : ProxyOutcome.NO_ELIGIBLE_REGION, null);
      }
      return;
    }
    RegionState state = s.plan().region(idx);
    if (ryw != null && !state.id().equals(ryw.home())) {
      Sessions.RywToken token = ryw;
      if (h.engine.watermark(state.id(), token.home()) < token.position()) {
        long maxWait = s.proxy().readYourWrites().maxWait().toMillis();
        if (maxWait > 0 && waitDeadline == 0) {
          waitForReplica(state.id(), token, System.nanoTime() + maxWait * 1_000_000);
          return;
        }
        // the local replica has not applied the user's last write: read at the home region instead
        ryw = null;
        h.engine.metrics.rywRedirect(state.id(), token.home());
        if (requiredGroup == null || requiredGroup.equals(sessions.groupOf(token.home()))) {
          onlyRegion = token.home();
          fallbackNearest = true;
        }
        attempt();
        return;
      }
    }
    ryw = null;
    RegionUpstreams ru = s.byPlanIndex()[idx];
    long now = System.nanoTime();
    Upstream up = ru == null ? null : ru.pick(now);
    if (up == null) {
      // no configured or non-ejected upstream: skip the region without spending a retry
      markTried(state.id());
      attempt();
      return;
    }
    ProxyConfig cfg = s.proxy();
    int limit = (int) Math.max(1, state.capacityRps() * cfg.inFlightPerCapacityRps());
    int inFlight = ru.inFlight.incrementAndGet();
    if (inFlight > limit) {
      ru.inFlight.decrementAndGet();
      h.engine.metrics.shed(ru.region);
      finishWithError(ProxyOutcome.SHED, ru.region);
      return;
    }
    region = ru;
    upstream = up;
    attempts++;
    ru.requests.increment();
    if (WebSocketTunnel.isUpgrade(req)) {
      openTunnel(up);
      return;
    }
    RequestOptions o = new RequestOptions().setMethod(req.method()).setHost(up.host).setPort(up.port)
        .setSsl(up.ssl).setURI(req.uri()).setConnectTimeout(cfg.connectTimeout().toMillis());
    h.client.request(o).onComplete(this::connected);
  }

  private long waitDeadline;

  /** Polls the region's watermark until it reaches the token or the configured bound passes. */
  private void waitForReplica(String regionId, Sessions.RywToken token, long deadline) {
    waitDeadline = deadline;
    h.vertx.setPeriodic(5, timer -> {
      if (finished) {
        h.vertx.cancelTimer(timer);
      } else if (h.engine.watermark(regionId, token.home()) >= token.position() || System.nanoTime() >= deadline) {
        h.vertx.cancelTimer(timer);
        attempt(); // the deadline is set, so a still-lagging replica now redirects instead of waiting again
      }
    });
  }

  private void openTunnel(Upstream up) {
    java.util.Map<String, String> fwd = new java.util.HashMap<>();
    io.vertx.core.MultiMap tmp = io.vertx.core.MultiMap.caseInsensitiveMultiMap();
    addForwardingHeaders(tmp, req.authority());
    tmp.forEach(e -> fwd.put(e.getKey(), e.getValue()));
    WebSocketTunnel.connectUpstream(h.webSockets(), req, up, s.proxy().connectTimeout().toMillis(), fwd)
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
          WebSocketTunnel.splice(req, ar.result()).onComplete(done -> complete(101, null));
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
      // nothing was sent: safe to retry whatever the method (the body is still unread, paused)
      upstreamFailed(ProxyOutcome.UPSTREAM_UNREACHABLE, true);
      return;
    }
    HttpClientRequest creq = ar.result();
    upstreamRequest = creq;
    MultiMap out = creq.headers();
    Headers.copyEndToEnd(req.headers(), out);
    HostAndPort authority = req.authority();
    if (authority != null) {
      creq.authority(authority); // the application sees the Host the client asked for
    }
    addForwardingHeaders(out, authority);
    // Response timeout: one FIFO queue per event loop instead of a timer per request (a timer per request kept
    // every exchange reachable until it fired: 30 s of garbage at full rate).
    responseDeadline = System.nanoTime() + s.proxy().responseTimeout().toNanos();
    awaitingResponse = true;
    h.awaitResponse(this);
    creq.response().onComplete(this::responded);
    sentAt = System.nanoTime();
    if (hasBody) {
      if (!out.contains("content-length")) {
        creq.setChunked(true);
      }
      bodyStarted = true;
      req.pipe().endOnFailure(false).to(creq).onFailure(err -> {
        if (!finished) {
          creq.reset(0, err); // the client's body broke off: never let the upstream see a truncated body as whole
        }
      });
    } else {
      creq.end();
    }
  }

  private void addForwardingHeaders(MultiMap out, HostAndPort authority) {
    SocketAddress peer = req.remoteAddress();
    String peerIp = peer == null ? "unknown" : peer.hostAddress();
    String xff = req.headers().get("x-forwarded-for");
    out.set("x-forwarded-for", xff == null ? peerIp : xff + ", " + peerIp);
    boolean trustClientHeaders = s.proxy().trustedHops() > 0;
    if (!trustClientHeaders || !out.contains("x-forwarded-proto")) {
      out.set("x-forwarded-proto", req.scheme());
    }
    String host = authority == null ? null : authority.toString();
    if (host != null && (!trustClientHeaders || !out.contains("x-forwarded-host"))) {
      out.set("x-forwarded-host", host);
    }
    // RFC 7239 §4: IPv6 node names are quoted and bracketed
    String node = peerIp.indexOf(':') >= 0 ? "\"[" + peerIp + "]\"" : peerIp;
    String fwd = "for=" + node + ";proto=" + req.scheme() + (host == null ? "" : ";host=\"" + host + "\"");
    String prevFwd = req.headers().get("forwarded");
    out.set("forwarded", prevFwd == null ? fwd : prevFwd + ", " + fwd);
    // RFC 9110 §7.6.3: each proxy appends its protocol version and name
    String via = req.version() == HttpVersion.HTTP_2 ? "2 meridian" : req.version() == HttpVersion.HTTP_1_0
        ? "1.0 meridian" : "1.1 meridian";
    String prevVia = req.headers().get("via");
    out.set("via", prevVia == null ? via : prevVia + ", " + via);
  }

  private long responseDeadline;
  private boolean awaitingResponse;
  private boolean timedOut;

  /** Whether this exchange no longer needs the response-timeout queue, or has just timed out in it. */
  boolean checkResponseDeadline(long now) {
    if (finished || !awaitingResponse) {
      return true;
    }
    if (now - responseDeadline < 0) {
      return false;
    }
    timedOut = true;
    awaitingResponse = false;
    if (upstreamRequest != null) {
      upstreamRequest.reset(0, new TimeoutException("no response headers within the response timeout"));
    }
    return true;
  }

  private void responded(AsyncResult<HttpClientResponse> ar) {
    awaitingResponse = false;
    if (finished) {
      return;
    }
    if (ar.failed()) {
      boolean timeout = timedOut || ar.cause() instanceof TimeoutException;
      upstreamFailed(timeout ? ProxyOutcome.UPSTREAM_TIMEOUT
          : bodyStarted ? ProxyOutcome.UPSTREAM_FAILED : ProxyOutcome.UPSTREAM_UNREACHABLE, false);
      return;
    }
    HttpClientResponse cres = ar.result();
    long now = System.nanoTime();
    h.engine.metrics.upstreamLatency(region.region, now - sentAt);
    int status = cres.statusCode();
    ProxyConfig.Outliers od = s.proxy().outliers();
    if (status >= 500) {
      region.errors.increment();
      if (upstream.onFailure(now, od.consecutiveFailures(), od.baseEjection().toNanos())) {
        h.engine.metrics.ejection(region.region, upstream.label);
      }
      if ((status == 502 || status == 503 || status == 504) && !hasBody && idempotent && canRetry()) {
        upstreamRequest.reset(); // discard this answer; the connection is not reused
        retryElsewhere();
        return;
      }
    } else {
      upstream.onSuccess();
    }
    HttpServerResponse resp = req.response();
    resp.setStatusCode(status);
    String reason = cres.statusMessage();
    if (reason != null && !reason.equals(io.netty.handler.codec.http.HttpResponseStatus.valueOf(status).reasonPhrase())) {
      resp.setStatusMessage(reason); // only a custom reason phrase: the standard one comes from Netty's cache
    }
    Headers.copyEndToEnd(cres.headers(), resp.headers());
    resp.putHeader(REGION_HEADER, region.region);
    if (status >= 200 && status < 300 && !isSafe(m0()) && sessions != null && sessions.rywEnabled()) {
      issueToken(cres, resp);
    }
    HttpMethod m = req.method();
    if (m == HttpMethod.HEAD || status == 204 || status == 304 || status < 200) {
      cres.handler(null);
      resp.end();
      complete(status, null);
      return;
    }
    if (!resp.headers().contains("content-length") && req.version() != HttpVersion.HTTP_1_0) {
      resp.setChunked(true);
    }
    cres.pipe().endOnFailure(false).to(resp).onComplete(done -> {
      if (done.failed()) {
        // either side broke mid-body: reset both so neither mistakes a truncated body for a whole one
        resp.reset();
        upstreamRequest.reset();
        complete(status, ProxyOutcome.UPSTREAM_FAILED);
      } else {
        complete(status, null);
      }
    });
  }

  private HttpMethod m0() {
    return req.method();
  }

  /**
   * After a successful write, a signed token naming the region that took it and its commit position: the
   * upstream's own (e.g. X-Commit-Position) when it reports one, else a hybrid-logical-clock timestamp.
   */
  private void issueToken(HttpClientResponse cres, HttpServerResponse resp) {
    long position = -1;
    String reported = cres.getHeader(s.proxy().readYourWrites().commitHeader());
    if (reported != null) {
      try {
        position = Long.parseLong(reported.trim());
      } catch (NumberFormatException e) {
        position = -1;
      }
    }
    if (position < 0) {
      position = h.engine.hlc.next();
    }
    String token = sessions.mintRyw(user, region.region, position);
    resp.putHeader(io.meridian.proxy.ProxyTokens.RYW_HEADER, token);
    resp.headers().add("set-cookie", io.meridian.proxy.ProxyTokens.RYW_COOKIE + "=" + token + "; Path=/; Max-Age="
        + s.proxy().readYourWrites().ttl().toSeconds() + "; HttpOnly; SameSite=Lax");
  }

  private void upstreamFailed(ProxyOutcome outcome, boolean neverSent) {
    long now = System.nanoTime();
    region.errors.increment();
    ProxyConfig.Outliers od = s.proxy().outliers();
    if (upstream.onFailure(now, od.consecutiveFailures(), od.baseEjection().toNanos())) {
      h.engine.metrics.ejection(region.region, upstream.label);
    }
    lastFailure = outcome;
    boolean retryable = neverSent || (idempotent && !hasBody);
    if (retryable && canRetry()) {
      retryElsewhere();
    } else {
      releaseRegion();
      finishWithError(outcome, region.region);
    }
  }

  private boolean canRetry() {
    if (attempts >= s.proxy().retries().maxAttempts()) {
      return false;
    }
    if (!retrySlot) {
      retrySlot = h.engine.tryAcquireRetry(s.proxy().retries());
    }
    return retrySlot;
  }

  private void retryElsewhere() {
    h.engine.metrics.retry(region.region);
    releaseRegion();
    markTried(region.region);
    upstreamRequest = null;
    timedOut = false;
    attempt();
  }

  private void releaseRegion() {
    if (region != null && upstream != null) {
      region.inFlight.decrementAndGet();
      upstream = null;
    }
  }

  private void clientGone() {
    if (!finished) {
      if (upstreamRequest != null) {
        upstreamRequest.reset();
      }
      complete(499, ProxyOutcome.UPSTREAM_FAILED);
    }
  }

  private void finishWithError(ProxyOutcome outcome, String regionId) {
    if (finished) {
      return;
    }
    complete(outcome.status(), outcome);
    h.engine.metrics.refused(outcome.label());
    writeError(req, outcome, regionId, s.proxy(), hasBody || bodyStarted);
  }

  private void complete(int status, ProxyOutcome outcome) {
    if (finished) {
      return;
    }
    finished = true;
    releaseRegion();
    if (retrySlot) {
      h.engine.releaseRetry();
    }
    h.engine.activeRequests.decrementAndGet();
    String regionId = region == null ? "none" : region.region;
    h.engine.metrics.request(route.route.name(), route.routeClass, outcome == null ? regionId
        : status >= 500 && region != null && outcome != ProxyOutcome.SHED ? regionId : "none", status);
    h.accessLog.log(req, route.route.name(), regionId, status, outcome, attempts, clientIp, start);
  }

  /** Answers a request the proxy refuses without an exchange (bad request, no route). */
  static void refuse(ProxyHandler h, HttpServerRequest req, ProxyOutcome outcome, String regionId, long start,
      boolean close) {
    h.engine.metrics.refused(outcome.label());
    h.engine.metrics.request("none", "none", "none", outcome.status());
    h.accessLog.log(req, "none", "none", outcome.status(), outcome, 0, null, start);
    writeError(req, outcome, regionId, h.engine.snapshot().proxy(), close);
  }

  private static void writeError(HttpServerRequest req, ProxyOutcome outcome, String regionId, ProxyConfig cfg,
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
    if (outcome == ProxyOutcome.SHED) {
      resp.putHeader("retry-after", Long.toString(Math.max(1, cfg.retryAfter().toSeconds())));
    }
    if (close && req.version() != HttpVersion.HTTP_2) {
      // an unread request body makes the connection unusable for the next request (RFC 9112 §9.6)
      resp.putHeader("connection", "close");
    }
    StringBuilder b = new StringBuilder(128).append("{\"error\":\"").append(outcome.label())
        .append("\",\"status\":").append(outcome.status()).append(",\"message\":\"").append(outcome.reason());
    if (regionId != null) {
      b.append("\",\"region\":\"").append(regionId);
    }
    b.append("\"}");
    resp.end(b.toString());
    if (close && req.version() != HttpVersion.HTTP_2) {
      resp.endHandler(v -> req.connection().close());
    }
  }
}
