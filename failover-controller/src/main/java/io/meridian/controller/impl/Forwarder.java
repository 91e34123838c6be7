package io.meridian.controller.impl;

import io.meridian.config.MeridianConfig;
import io.meridian.controller.CommandRequest;
import io.meridian.controller.Outcome;
import io.meridian.controller.Refusal;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A follower's way to the leader: POSTs a {@link CommandRequest} as JSON to the leader's {@code /v1/commands}
 * with the caller's own Authorization header and Idempotency-Key, and turns the answer back into the
 * {@link Outcome} the leader gave. Forward, not redirect: the caller keeps one URL and one token, the leader's
 * address need not be reachable from the caller's side, and a POST body is never dropped by a client that does
 * not re-send it on a 307. The Idempotency-Key makes a retried forward apply once.
 */
final class Forwarder {
  /** Header naming the controller that forwarded a command; the leader logs it. */
  static final String FORWARDED_BY = "Meridian-Forwarded-By";
  /** Forwards so far: a forward that lands on a controller deposed meanwhile is forwarded once more at most. */
  static final String HOPS = "Meridian-Forward-Hops";
  static final int MAX_HOPS = 2;

  private final HttpClientAgent client;
  private final String self;
  private final long timeoutMs;

  Forwarder(Vertx vertx, MeridianConfig config, String self, Duration etcdTimeout) {
    this.self = self;
    // the leader answers once etcd committed the journal entry: its etcd timeout, plus the HTTP round trip
    this.timeoutMs = etcdTimeout.toMillis() + 5000;
    HttpClientOptions o = new HttpClientOptions().setConnectTimeout(2000);
    var tls = config.admin().tls();
    if (tls != null) {
      // the controllers share admin.tls: trust its certificate as well as the JVM's roots
      Path base = config.source() == null || config.source().toAbsolutePath().getParent() == null
          ? Path.of("") : config.source().toAbsolutePath().getParent();
      o.setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(base.resolve(tls.certPath()).toString()));
    }
    this.client = vertx.createHttpClient(o);
  }

  /**
   * Sends {@code request} to the leader at {@code leaderUrl}; fails only when the leader could not be asked or gave
   * no readable answer (the caller answers 503 no_leader then; nothing was acknowledged).
   */
  Future<Outcome> forward(String leaderUrl, CommandRequest request, String authorization, int hops) {
    RequestOptions ro = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(leaderUrl + "/v1/commands")
        .setIdleTimeout(timeoutMs).putHeader("content-type", "application/json").putHeader(FORWARDED_BY, self)
        .putHeader(HOPS, Integer.toString(hops));
    if (authorization != null) {
      ro.putHeader("Authorization", authorization);
    }
    if (request.idempotencyKey() != null) {
      ro.putHeader("Idempotency-Key", request.idempotencyKey());
    }
    return client.request(ro)
        .compose(req -> req.send(Buffer.buffer(request.toJson().encode())))
        .compose(res -> res.body().map(b -> answer(res.statusCode(), b)));
  }

  /** The leader's answer: an Outcome, or a refusal its HTTP layer made (401, 403, 400) before any command ran. */
  private static Outcome answer(int status, Buffer body) {
    JsonObject j = new JsonObject(body);
    if (j.containsKey("outcome")) {
      return Outcome.fromJson(j);
    }
    if (j.getString("rule") != null) {
      return new Outcome.Refused(new Refusal.Exception(Refusal.valueOf(j.getString("rule")), j.getString("message"),
          j.getString("field"), j.getValue("value"), j.getString("expected")));
    }
    throw new IllegalStateException("HTTP " + status + " with no outcome: " + body);
  }

  void close() {
    client.close();
  }
}
