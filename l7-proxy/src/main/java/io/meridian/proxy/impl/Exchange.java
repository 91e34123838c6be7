package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.core.RegionSelector;
import io.meridian.core.RegionState;
import io.meridian.proxy.ProxyOutcome;

/**
 * One proxied request from choice of region to the last byte of the response: the routing decision, the same
 * for every transport. Runs entirely on the event loop of the client connection; its only shared-state writes
 * are atomic counters. A transport ({@link VertxExchange} for the Vert.x server, {@link H1Exchange} for the
 * proxy's own HTTP/1.1 path) subclasses it to move bytes: it calls {@link #begin()}, sends to the upstream
 * {@link #send} names, and reports back through {@link #responded}, {@link #upstreamFailed} and
 * {@link #complete}.
 *
 * <p>Retries (to the next eligible region, chosen again by {@link RegionSelector#choose} with the regions
 * already tried excluded) happen only when repeating cannot duplicate an effect: the connection to the upstream
 * failed before anything was sent, or the request is idempotent (RFC 9110 §9.2.2) and has no body. Each retry
 * needs a slot of the retry budget.
 */
abstract class Exchange implements RegionSelector.Constraint {
  static final String REGION_HEADER = "X-Meridian-Region";

  final ProxyLoop h;
  final RequestView req;
  ProxyEngine.Snapshot s;
  ProxyEngine.RouteRuntime route;
  byte[] clientIp;
  int zone;
  int clientHash;
  long start;
  boolean hasBody;
  boolean idempotent;
  boolean safe;
  /** Incremented per request when a transport reuses this object for its connection's next request. */
  int generation;

  private String[] tried;
  private int triedCount;
  int attempts;
  private boolean retrySlot;
  RegionUpstreams region;
  Upstream upstream;
  boolean bodyStarted;
  boolean finished;
  private ProxyOutcome lastFailure;
  long sentAt;
  Sessions sessions;
  private String user;
  /** Only this region may serve (home routing, strong consistency, read-your-writes redirect), or null. */
  private String onlyRegion;
  /** When {@link #onlyRegion} cannot serve, fall back to nearest instead of failing (home, eventual/session). */
  private boolean fallbackNearest;
  /** Residency enforced: only regions of this group, failover included; null: any. */
  private String requiredGroup;
  private boolean strong;
  /** A write while the plan fences regions: no fenced region may be chosen, whatever the route. */
  private boolean noFencedRegion;
  private Sessions.RywToken ryw;
  private long waitDeadline;
  /** The first region whose allowed rate turned this request away, or null. */
  private RegionUpstreams full;
  /** The plan index of {@link #full}. */
  private int fullIdx;
  /** This request has waited for a slot of a full region's allowed rate once (proxy.capacity_wait). */
  private boolean waitedForCapacity;
  private long responseDeadline;
  private boolean awaitingResponse;
  /** The current attempt's response head arrived. */
  private boolean responseSeen;
  boolean timedOut;

  Exchange(ProxyLoop h, ProxyEngine.Snapshot s, RequestView req, ProxyEngine.RouteRuntime route, byte[] clientIp,
      int zone, long start, boolean hasBody) {
    this.h = h;
    this.req = req;
    init(s, route, clientIp, zone, start, hasBody);
  }

  /**
   * (Re)starts this object for a request. A transport that serves one request at a time per connection may
   * reuse it once the previous request {@link #finished} and nothing of it is pending: callbacks still
   * scheduled for the previous request compare {@link #generation}.
   */
  final void init(ProxyEngine.Snapshot s, ProxyEngine.RouteRuntime route, byte[] clientIp, int zone, long start,
      boolean hasBody) {
    this.s = s;
    this.route = route;
    this.clientIp = clientIp;
    this.zone = zone;
    this.clientHash = io.meridian.core.ClientKey.of(clientIp); // shared with GeoDNS
    this.start = start;
    this.hasBody = hasBody;
    String m = req.method();
    this.safe = RequestView.isSafe(m);
    this.idempotent = RequestView.isIdempotent(m);
    generation++;
    triedCount = 0;
    attempts = 0;
    retrySlot = false;
    region = null;
    upstream = null;
    bodyStarted = false;
    finished = false;
    lastFailure = null;
    sentAt = 0;
    sessions = null;
    user = null;
    onlyRegion = null;
    fallbackNearest = false;
    requiredGroup = null;
    strong = false;
    noFencedRegion = false;
    ryw = null;
    waitedForCapacity = false;
    waitDeadline = 0;
    full = null;
    responseDeadline = 0;
    awaitingResponse = false;
    responseSeen = false;
    timedOut = false;
  }

  // ---- what a transport provides

  /** Sends the request to {@code up} (of {@link #region}); reports through the callbacks below. */
  abstract void send(Upstream up);

  /** Drops the upstream attempt in progress (its connection is not reused); no callback follows. */
  abstract void abortUpstream();

  /** Writes the proxy's own error response ({@code close}: the connection cannot carry another request). */
  abstract void writeError(ProxyOutcome outcome, String regionId, boolean close);

  // ---- the decision

  void begin() {
    if (route == null) {
      h.engine.metrics.refused(ProxyOutcome.NO_ROUTE.label());
      finished = true;
      h.engine.metrics.request("none", "none", "none", ProxyOutcome.NO_ROUTE.status());
      h.accessLog.log(req, "none", "none", ProxyOutcome.NO_ROUTE.status(), ProxyOutcome.NO_ROUTE, 0, clientIp, start);
      writeError(ProxyOutcome.NO_ROUTE, null, hasBody);
      return;
    }
    h.engine.activeRequests.incrementAndGet();
    if (zone >= 0) {
      h.engine.zoneRequests.incrementAndGet(zone); // demand counts what is shed below: the planner must see it
    }
    io.meridian.core.ZoneRoute zr = s.plan().zones().get(zone);
    // The plan could not place this fraction of the zone's demand. A fresh random draw per request spreads the
    // refusals over every client of the zone (a hash would refuse the same clients for as long as the plan
    // stands); ThreadLocalRandom is per event loop thread, so no contention.
    if (zr != null && zr.shed() > 0 && java.util.concurrent.ThreadLocalRandom.current().nextDouble() < zr.shed()) {
      h.engine.metrics.shedShortfall();
      finishWithError(ProxyOutcome.PLAN_SHORTFALL, null);
      return;
    }
    ProxyConfig.Route r = route.route;
    sessions = h.sessions(s);
    boolean unsafe = !safe;
    // A fenced region is an old home whose users now write elsewhere (a promotion). A write that reached it could
    // fork a user's data, and any write may belong to one of its former users, so while a fence stands no write
    // (unsafe method) goes there on any route — eventual and session ones included, not only strong. Reads keep
    // their route's rule: an eventual read may still be served by the fenced region's replica.
    noFencedRegion = unsafe && !s.plan().homes().fenced().isEmpty();
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
    if (noFencedRegion && s.plan().homes().fenced().contains(r.id())) {
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

  final void attempt() {
    int idx = RegionSelector.choose(s.plan(), zone, clientHash, this);
    if (idx < 0 && onlyRegion != null && fallbackNearest) {
      onlyRegion = null; // home (or the token's region) cannot serve: the nearest allowed region does
      fallbackNearest = false;
      idx = RegionSelector.choose(s.plan(), zone, clientHash, this);
    }
    if (idx < 0) {
      if (full != null) {
        // a region could have served but its allowed rate is used up, and so is every other's: wait for the
        // plan's first choice's next slot if it comes soon enough (a bunch of arrivals, not a sustained excess),
        // else shed
        if (!waitedForCapacity) {
          long maxWait = s.proxy().capacityWait().toNanos();
          long wait = maxWait > 0 ? full.limiter.reserve(System.nanoTime(), maxWait) : -1;
          if (wait >= 0) {
            waitedForCapacity = true;
            waitForSlot(full, fullIdx, wait);
            return;
          }
        }
        full.countCapacityShed(h.engine.metrics);
        finishWithError(ProxyOutcome.OVER_CAPACITY, full.region);
      } else if (strong) {
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
          waitDeadline = System.nanoTime() + maxWait * 1_000_000;
          waitForReplica(state.id(), token);
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
    // a first attempt picks at the request's start (microseconds ago); a retry or a delayed one reads the clock
    long now = attempts == 0 && waitDeadline == 0 ? start : System.nanoTime();
    Upstream up = ru == null || route.service < 0 ? null : ru.pick(route.service, now);
    if (up == null) {
      // no configured or non-ejected upstream: skip the region without spending a retry
      markTried(state.id());
      attempt();
      return;
    }
    // the clock read now, not the request's start: a request read early in a long batch of the event loop is
    // admitted later, and the limit must hold in real time (as the region sees it)
    if (!ru.limiter.tryAcquire(System.nanoTime())) {
      // this proxy's share of the region's allowed rate is used up: the plan's next choice, the region excluded
      ru.countSpill(h.engine.metrics);
      if (full == null) {
        full = ru;
        fullIdx = idx;
      }
      markTried(state.id());
      attempt();
      return;
    }
    admit(state, ru, up);
  }

  /** Sends to a region whose allowed rate has admitted the request, within its concurrency limit. */
  private void admit(RegionState state, RegionUpstreams ru, Upstream up) {
    ProxyConfig cfg = s.proxy();
    int limit = (int) Math.max(1, state.capacityRps() * cfg.inFlightPerCapacityRps());
    int inFlight = ru.inFlight.incrementAndGet();
    if (inFlight > limit) {
      ru.inFlight.decrementAndGet();
      h.engine.metrics.shed(ru.region, ProxyMetrics.CONCURRENCY);
      finishWithError(ProxyOutcome.SHED, ru.region);
      return;
    }
    region = ru;
    upstream = up;
    attempts++;
    ru.requests.increment();
    send(up);
  }

  /**
   * Sends to {@code ru} once the slot reserved for this request comes (at most {@code proxy.capacity_wait}
   * ahead). If no upstream of it can serve then, the request goes on to the plan's next choice without waiting
   * again.
   */
  private void waitForSlot(RegionUpstreams ru, int idx, long waitNanos) {
    ru.countCapacityWait(h.engine.metrics);
    int gen = generation;
    Runnable go = () -> {
      if (finished || gen != generation) {
        return;
      }
      Upstream up = route.service < 0 ? null : ru.pick(route.service, System.nanoTime());
      if (up == null) {
        attempt();
        return;
      }
      admit(s.plan().region(idx), ru, up);
    };
    if (waitNanos <= 0) {
      go.run();
    } else {
      // rounded up: later than the slot keeps the limit, earlier would not
      h.schedule((waitNanos + 999_999) / 1_000_000, go);
    }
  }

  /** Polls the region's watermark every 5 ms until it reaches the token or the configured bound passes. */
  private void waitForReplica(String regionId, Sessions.RywToken token) {
    int gen = generation;
    h.schedule(5, () -> {
      if (finished || gen != generation) {
        return;
      }
      if (h.engine.watermark(regionId, token.home()) >= token.position() || System.nanoTime() >= waitDeadline) {
        attempt(); // the deadline is set, so a still-lagging replica now redirects instead of waiting again
      } else {
        waitForReplica(regionId, token);
      }
    });
  }

  /**
   * The request head went out. Without a body the request is complete, and the response timeout runs from now;
   * with one it runs from {@link #bodySent()}: a slow upload is the client's pace, not the upstream's (nginx's
   * proxy_read_timeout and haproxy's timeout server count the same way). One FIFO queue per event loop instead
   * of a timer per request (a timer per request kept every exchange reachable until it fired: 30 s of garbage at
   * full rate); arming order is deadline order because every deadline is now + the same timeout.
   */
  final void sent() {
    sentAt = System.nanoTime();
    if (!hasBody) {
      armResponseTimeout(sentAt);
    }
  }

  /** The last byte of the request body went to the upstream: from now the response timeout runs. */
  final void bodySent() {
    if (finished || responseSeen || awaitingResponse || upstream == null) {
      return; // answered early (say a 413 before the body's end), or already over
    }
    armResponseTimeout(System.nanoTime());
  }

  private void armResponseTimeout(long now) {
    responseDeadline = now + s.proxy().responseTimeout().toNanos();
    awaitingResponse = true;
    h.awaitResponse(this);
  }

  /** Whether this exchange no longer needs the response-timeout queue, or has just timed out in it. */
  final boolean checkResponseDeadline(long now) {
    if (finished || !awaitingResponse) {
      return true;
    }
    if (now - responseDeadline < 0) {
      return false;
    }
    timedOut = true;
    awaitingResponse = false;
    onResponseTimeout();
    return true;
  }

  /** The response timeout passed with no response head: the transport drops the attempt and reports failure. */
  abstract void onResponseTimeout();

  /**
   * Response head received with {@code status}. Counts latency and outliers; returns false when the transport
   * must discard this response because the request is being retried elsewhere (502/503/504 to an idempotent
   * request without body, with a retry slot).
   */
  final boolean responded(int status) {
    awaitingResponse = false;
    responseSeen = true;
    long now = System.nanoTime();
    region.latency(h.engine.metrics).observe((now - sentAt) / 1e9);
    if (status >= 500) {
      region.errors.increment();
      countAgainstUpstream(now);
      if ((status == 502 || status == 503 || status == 504) && !hasBody && idempotent && canRetry()) {
        abortUpstream(); // discard this answer; the connection is not reused
        retryElsewhere();
        return false;
      }
    } else {
      upstream.onSuccess();
    }
    return true;
  }

  /** Whether a successful response gets a read-your-writes token (a write, with tokens configured). */
  final boolean issuesToken(int status) {
    return status >= 200 && status < 300 && !safe && sessions != null && sessions.rywEnabled();
  }

  /**
   * After a successful write, a signed token naming the region that took it and its commit position: the
   * upstream's own (e.g. X-Commit-Position) when it reports one ({@code reported}), else a hybrid-logical-clock
   * timestamp.
   */
  final String mintToken(String reported) {
    long position = -1;
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
    return sessions.mintRyw(user, region.region, position);
  }

  /** The Set-Cookie value carrying a read-your-writes token. */
  final String tokenCookie(String token) {
    return io.meridian.proxy.ProxyTokens.RYW_COOKIE + "=" + token + "; Path=/; Max-Age="
        + s.proxy().readYourWrites().ttl().toSeconds() + "; HttpOnly; SameSite=Lax";
  }

  /** Nothing reached the upstream, or it failed before a response head ({@code neverSent}: retry is safe). */
  final void upstreamFailed(ProxyOutcome outcome, boolean neverSent) {
    awaitingResponse = false;
    long now = System.nanoTime();
    region.errors.increment();
    countAgainstUpstream(now);
    lastFailure = outcome;
    boolean retryable = neverSent || (idempotent && !hasBody);
    if (retryable && canRetry()) {
      retryElsewhere();
    } else {
      releaseRegion();
      finishWithError(outcome, region.region);
    }
  }

  /**
   * One more failure of the current upstream for outlier detection. Only failures of the upstream count: what
   * the client did (went away, broke its body's framing, stalled it) never reaches here, and the response
   * timeout starts after the whole request was forwarded, so a slow upload cannot eject a healthy origin.
   */
  private void countAgainstUpstream(long now) {
    if (region.onFailure(upstream, now, s.proxy().outliers())) {
      h.engine.metrics.ejection(region.region, upstream.label);
    }
  }

  /**
   * No connection to the upstream came free within {@code upstream_pool.queue_timeout} (or its queue is full):
   * 503 with Retry-After. Not the upstream's failure: nothing was sent, and it counts nowhere against it.
   */
  final void upstreamBusy() {
    h.engine.metrics.shed(region.region, ProxyMetrics.UPSTREAM_POOL);
    finishWithError(ProxyOutcome.UPSTREAM_BUSY, region.region);
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
    timedOut = false;
    responseSeen = false;
    attempt();
  }

  private void releaseRegion() {
    if (region != null && upstream != null) {
      region.inFlight.decrementAndGet();
      upstream = null;
    }
  }

  /** The client went away before the exchange finished. */
  final void clientGone() {
    if (!finished) {
      abortUpstream();
      complete(499, ProxyOutcome.UPSTREAM_FAILED);
    }
  }

  final void finishWithError(ProxyOutcome outcome, String regionId) {
    if (finished) {
      return;
    }
    complete(outcome.status(), outcome);
    h.engine.metrics.refused(outcome.label());
    writeError(outcome, regionId, hasBody || bodyStarted);
  }

  /** The exchange is over: releases its region slot and retry slot, counts it and logs it. */
  void complete(int status, ProxyOutcome outcome) {
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
    String counted = outcome == null ? regionId
        : status >= 500 && region != null && !outcome.retryAfter() ? regionId : "none";
    ProxyMetrics.count(route.requestPoints(h.engine.metrics, counted), status);
    h.accessLog.log(req, route.route.name(), regionId, status, outcome, attempts, clientIp, start);
  }

  /** A request the proxy refuses before any exchange (bad request): counted and logged like one. */
  static void countRefusal(ProxyLoop h, RequestView req, ProxyOutcome outcome, long start) {
    h.engine.metrics.refused(outcome.label());
    h.engine.metrics.request("none", "none", "none", outcome.status());
    h.accessLog.log(req, "none", "none", outcome.status(), outcome, 0, null, start);
  }

  // ---- forwarding headers (RFC 9110 §7.6, RFC 7239), computed once for every transport

  /** X-Forwarded-For: the client's list with the TCP peer appended. */
  final String forwardedFor() {
    String peerIp = peerIp();
    String xff = req.header("x-forwarded-for");
    return xff == null ? peerIp : xff + ", " + peerIp;
  }

  /** Whether the client's X-Forwarded-{Proto,Host} are kept: only behind trusted proxies of ours. */
  final boolean keepsClientForwarded(String name) {
    return s.proxy().trustedHops() > 0 && req.header(name) != null;
  }

  final String forwarded() {
    String peerIp = peerIp();
    String host = req.authority();
    // RFC 7239 §4: IPv6 node names are quoted and bracketed
    String node = peerIp.indexOf(':') >= 0 ? "\"[" + peerIp + "]\"" : peerIp;
    String fwd = "for=" + node + ";proto=" + req.scheme() + (host == null ? "" : ";host=\"" + host + "\"");
    String prev = req.header("forwarded");
    return prev == null ? fwd : prev + ", " + fwd;
  }

  /** RFC 9110 §7.6.3: each proxy appends its protocol version and name. */
  final String via() {
    String via = req.viaVersion() + " meridian";
    String prev = req.header("via");
    return prev == null ? via : prev + ", " + via;
  }

  private String peerIp() {
    String p = req.peerAddress();
    return p == null ? "unknown" : p;
  }
}
