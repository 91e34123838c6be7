package io.meridian.etcd.impl;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.AuthenticateResponse;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrantResponse;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.LeaseRevokeResponse;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.meridian.etcd.EtcdClient;
import io.meridian.etcd.EtcdException;
import io.meridian.etcd.EtcdOptions;
import io.meridian.etcd.KeyValue;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link EtcdClient} over etcd's v3 gRPC API ({@code etcdserverpb}) with Vert.x's own gRPC client: HTTP/2 on
 * the process's event loops, no grpc-java, no second Netty. Requests go to the current endpoint; a transport
 * failure or {@code UNAVAILABLE} moves to the next endpoint and retries there once per endpoint.
 */
public final class GrpcEtcdClient implements EtcdClient {
  private static final Logger LOG = LoggerFactory.getLogger(GrpcEtcdClient.class);

  static final ServiceMethod<RangeResponse, RangeRequest> RANGE = method("KV", "Range", RangeResponse.newBuilder());
  static final ServiceMethod<PutResponse, PutRequest> PUT = method("KV", "Put", PutResponse.newBuilder());
  static final ServiceMethod<DeleteRangeResponse, DeleteRangeRequest> DELETE_RANGE =
      method("KV", "DeleteRange", DeleteRangeResponse.newBuilder());
  static final ServiceMethod<TxnResponse, TxnRequest> TXN = method("KV", "Txn", TxnResponse.newBuilder());
  static final ServiceMethod<WatchResponse, WatchRequest> WATCH = method("Watch", "Watch", WatchResponse.newBuilder());
  static final ServiceMethod<LeaseGrantResponse, LeaseGrantRequest> LEASE_GRANT =
      method("Lease", "LeaseGrant", LeaseGrantResponse.newBuilder());
  static final ServiceMethod<LeaseRevokeResponse, LeaseRevokeRequest> LEASE_REVOKE =
      method("Lease", "LeaseRevoke", LeaseRevokeResponse.newBuilder());
  static final ServiceMethod<LeaseKeepAliveResponse, LeaseKeepAliveRequest> LEASE_KEEPALIVE =
      method("Lease", "LeaseKeepAlive", LeaseKeepAliveResponse.newBuilder());
  static final ServiceMethod<AuthenticateResponse, AuthenticateRequest> AUTHENTICATE =
      method("Auth", "Authenticate", AuthenticateResponse.newBuilder());

  private final Vertx vertx;
  private final EtcdOptions options;
  private final GrpcClient grpc;
  private final List<SocketAddress> addresses = new ArrayList<>();
  private volatile int current;
  private volatile boolean closed;
  /** etcd's auth token (etcd auth enabled), or null; refreshed when etcd says it is invalid. */
  private final AtomicReference<Future<String>> token = new AtomicReference<>();

  private GrpcEtcdClient(Vertx vertx, EtcdOptions options) {
    this.vertx = vertx;
    this.options = options;
    boolean tls = false;
    for (String e : options.endpoints()) {
      URI u = URI.create(e);
      boolean https = "https".equals(u.getScheme());
      if (!https && !"http".equals(u.getScheme()) || u.getHost() == null || u.getPort() <= 0) {
        throw new IllegalArgumentException("endpoint: " + e + " (expected: http://host:port or https://host:port)");
      }
      tls |= https;
      addresses.add(SocketAddress.inetSocketAddress(u.getPort(), u.getHost()));
    }
    int timeoutMs = (int) Math.max(1, options.requestTimeout().toMillis());
    HttpClientOptions http = new HttpClientOptions()
        .setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false) // etcd speaks h2c with prior knowledge
        .setConnectTimeout(timeoutMs)
        .setHttp2MultiplexingLimit(1000);
    if (tls) {
      http.setSsl(true).setUseAlpn(true);
      if (options.caFile() != null) {
        http.setTrustOptions(new PemTrustOptions().addCertPath(options.caFile().toString()));
      }
      if (options.certFile() != null) {
        http.setKeyCertOptions(new PemKeyCertOptions().setCertPath(options.certFile().toString())
            .setKeyPath(options.keyFile().toString()));
      }
    }
    this.grpc = GrpcClient.client(vertx, new GrpcClientOptions().setScheduleDeadlineAutomatically(true)
        .setMaxMessageSize(64L * 1024 * 1024), http);
  }

  public static GrpcEtcdClient create(Vertx vertx, EtcdOptions options) {
    return new GrpcEtcdClient(vertx, options);
  }

  private static <Req extends com.google.protobuf.MessageLite, Resp> ServiceMethod<Resp, Req> method(String service,
      String name, com.google.protobuf.MessageOrBuilder responseType) {
    return ServiceMethod.client(ServiceName.create("etcdserverpb." + service), name, GrpcMessageEncoder.encoder(),
        GrpcMessageDecoder.decoder(responseType));
  }

  Vertx vertx() {
    return vertx;
  }

  @Override
  public String currentEndpoint() {
    return options.endpoints().get(current);
  }

  // ---- unary calls ----------------------------------------------------------------------------------------

  /** One request and one response, moving through the endpoints on transport failures. */
  <Req, Resp> Future<Resp> unary(ServiceMethod<Resp, Req> method, Req request) {
    return attempt(method, request, 0, false);
  }

  private <Req, Resp> Future<Resp> attempt(ServiceMethod<Resp, Req> method, Req request, int tried,
      boolean reauthenticated) {
    if (closed) {
      return Future.failedFuture(new EtcdException(-1, "etcd client closed"));
    }
    int index = current;
    return authToken(method).compose(tok -> grpc.request(addresses.get(index), method).compose(req -> {
      if (tok != null) {
        req.headers().set("token", tok);
      }
      req.timeout(options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
      return req.send(request).compose(GrpcEtcdClient::single);
    })).recover(err -> {
      EtcdException e = classify(err, index);
      if (e.status() == 16 && options.username() != null && !reauthenticated) {
        token.set(null); // the token expired (etcd's simple tokens live 5 minutes): log in again, once
        return attempt(method, request, tried, true);
      }
      if (e.retryable() && tried + 1 < addresses.size()) {
        rotateFrom(index, e);
        return attempt(method, request, tried + 1, reauthenticated);
      }
      if (e.retryable()) {
        rotateFrom(index, e);
      }
      return Future.failedFuture(e);
    });
  }

  /** Collects the single message of a unary response, failing with etcd's status and message. */
  static <Req, Resp> Future<Resp> single(GrpcClientResponse<Req, Resp> resp) {
    Promise<Resp> p = Promise.promise();
    AtomicReference<Resp> last = new AtomicReference<>();
    resp.handler(last::set);
    resp.exceptionHandler(p::tryFail);
    resp.endHandler(v -> {
      if (resp.status() == GrpcStatus.OK) {
        p.tryComplete(last.get());
      } else {
        p.tryFail(new EtcdException(resp.status().code, "etcd: " + resp.status() + ": " + resp.statusMessage()));
      }
    });
    return p.future();
  }

  EtcdException classify(Throwable err, int index) {
    if (err instanceof EtcdException e) {
      return e;
    }
    if (err instanceof io.vertx.grpc.client.InvalidStatusException s) {
      return new EtcdException(s.actualStatus().code, "etcd " + options.endpoints().get(index) + ": "
          + s.actualStatus());
    }
    if (err instanceof io.vertx.grpc.common.GrpcErrorException g) {
      return new EtcdException(g.status() == null ? -1 : g.status().code, "etcd " + options.endpoints().get(index)
          + ": " + g.getMessage());
    }
    return new EtcdException("etcd " + options.endpoints().get(index) + " unreachable: " + err, err);
  }

  void rotateFrom(int index, Throwable why) {
    if (addresses.size() > 1 && current == index) {
      current = (index + 1) % addresses.size();
      LOG.warn("etcd endpoint {} failed ({}); using {}", options.endpoints().get(index), why.getMessage(),
          options.endpoints().get(current));
    }
  }

  /** Moves to the next endpoint (a stream lost its connection). */
  void rotate() {
    if (addresses.size() > 1) {
      current = (current + 1) % addresses.size();
    }
  }

  SocketAddress address() {
    return addresses.get(current);
  }

  GrpcClient grpc() {
    return grpc;
  }

  /** The auth token to send, logging in first when etcd auth is configured; null without auth. */
  Future<String> authToken(ServiceMethod<?, ?> forMethod) {
    if (options.username() == null || forMethod == AUTHENTICATE) {
      return Future.succeededFuture(null);
    }
    Future<String> f = token.get();
    if (f == null || f.failed()) {
      Promise<String> p = Promise.promise();
      if (token.compareAndSet(f, p.future())) {
        attempt(AUTHENTICATE, AuthenticateRequest.newBuilder().setName(options.username())
            .setPassword(options.password() == null ? "" : options.password()).build(), 0, true)
            .map(AuthenticateResponse::getToken).onComplete(p);
      }
      return token.get();
    }
    return f;
  }

  // ---- KV -------------------------------------------------------------------------------------------------

  static ByteString bytes(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  /** The end of the range holding every key that starts with {@code prefix} (etcd's prefix convention). */
  static ByteString prefixEnd(String prefix) {
    byte[] b = prefix.getBytes(StandardCharsets.UTF_8);
    for (int i = b.length - 1; i >= 0; i--) {
      if (b[i] != (byte) 0xff) {
        byte[] end = java.util.Arrays.copyOf(b, i + 1);
        end[i]++;
        return ByteString.copyFrom(end);
      }
    }
    return ByteString.copyFrom(new byte[] {0}); // every key
  }

  static KeyValue kv(io.etcd.jetcd.api.KeyValue k) {
    return new KeyValue(k.getKey().toStringUtf8(), k.getValue().toByteArray(), k.getCreateRevision(),
        k.getModRevision(), k.getVersion(), k.getLease());
  }

  private static Range range(RangeResponse r) {
    List<KeyValue> out = new ArrayList<>(r.getKvsCount());
    for (io.etcd.jetcd.api.KeyValue k : r.getKvsList()) {
      out.add(kv(k));
    }
    return new Range(out, r.getHeader().getRevision());
  }

  @Override
  public Future<Range> get(String key) {
    return unary(RANGE, RangeRequest.newBuilder().setKey(bytes(key)).build()).map(GrpcEtcdClient::range);
  }

  @Override
  public Future<Range> getPrefix(String prefix) {
    return unary(RANGE, RangeRequest.newBuilder().setKey(bytes(prefix)).setRangeEnd(prefixEnd(prefix))
        .setSortOrder(RangeRequest.SortOrder.ASCEND).setSortTarget(RangeRequest.SortTarget.KEY).build())
        .map(GrpcEtcdClient::range);
  }

  @Override
  public Future<Long> put(String key, byte[] value, long lease) {
    return unary(PUT, PutRequest.newBuilder().setKey(bytes(key)).setValue(ByteString.copyFrom(value))
        .setLease(lease).build()).map(r -> r.getHeader().getRevision());
  }

  @Override
  public Future<Long> deletePrefix(String prefix) {
    return unary(DELETE_RANGE, DeleteRangeRequest.newBuilder().setKey(bytes(prefix)).setRangeEnd(prefixEnd(prefix))
        .build()).map(DeleteRangeResponse::getDeleted);
  }

  @Override
  public Future<TxnResult> txn(List<Cmp> compares, List<Op> success, List<Op> failure) {
    TxnRequest.Builder b = TxnRequest.newBuilder();
    for (Cmp c : compares) {
      Compare.Builder cb = Compare.newBuilder().setKey(bytes(c.key()))
          .setResult(switch (c.result()) {
            case EQUAL -> Compare.CompareResult.EQUAL;
            case GREATER -> Compare.CompareResult.GREATER;
            case LESS -> Compare.CompareResult.LESS;
            case NOT_EQUAL -> Compare.CompareResult.NOT_EQUAL;
          });
      switch (c.target()) {
        case VERSION -> cb.setTarget(Compare.CompareTarget.VERSION).setVersion(c.number());
        case CREATE_REVISION -> cb.setTarget(Compare.CompareTarget.CREATE).setCreateRevision(c.number());
        case MOD_REVISION -> cb.setTarget(Compare.CompareTarget.MOD).setModRevision(c.number());
        case VALUE -> cb.setTarget(Compare.CompareTarget.VALUE).setValue(ByteString.copyFrom(c.value()));
        default -> throw new IllegalArgumentException(c.target().name());
      }
      b.addCompare(cb);
    }
    success.forEach(o -> b.addSuccess(requestOp(o)));
    failure.forEach(o -> b.addFailure(requestOp(o)));
    return unary(TXN, b.build()).map(r -> new TxnResult(r.getSucceeded(), r.getHeader().getRevision()));
  }

  private static RequestOp requestOp(Op o) {
    if (o.delete()) {
      DeleteRangeRequest.Builder d = DeleteRangeRequest.newBuilder().setKey(bytes(o.key()));
      if (o.prefix()) {
        d.setRangeEnd(prefixEnd(o.key()));
      } else if (o.rangeEnd() != null) {
        d.setRangeEnd(bytes(o.rangeEnd()));
      }
      return RequestOp.newBuilder().setRequestDeleteRange(d).build();
    }
    return RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bytes(o.key()))
        .setValue(ByteString.copyFrom(o.value())).setLease(o.lease())).build();
  }

  static final ServiceMethod<io.etcd.jetcd.api.CompactionResponse, io.etcd.jetcd.api.CompactionRequest> COMPACT =
      method("KV", "Compact", io.etcd.jetcd.api.CompactionResponse.newBuilder());

  /** Compacts the store's history up to {@code revision} (tests and operators' tooling). */
  public Future<Void> compact(long revision) {
    return unary(COMPACT, io.etcd.jetcd.api.CompactionRequest.newBuilder().setRevision(revision).setPhysical(true)
        .build()).mapEmpty();
  }

  // ---- leases ---------------------------------------------------------------------------------------------

  @Override
  public Future<Long> grantLease(long ttlSeconds) {
    return unary(LEASE_GRANT, LeaseGrantRequest.newBuilder().setTTL(ttlSeconds).build()).compose(r ->
        r.getError().isEmpty() ? Future.succeededFuture(r.getID())
            : Future.failedFuture(new EtcdException(-1, "etcd lease grant: " + r.getError())));
  }

  @Override
  public Future<Void> revokeLease(long lease) {
    return unary(LEASE_REVOKE, LeaseRevokeRequest.newBuilder().setID(lease).build()).mapEmpty();
  }

  /** One keep-alive round trip: the lease's remaining TTL in seconds, or ≤ 0 when etcd no longer has it. */
  Future<Long> keepAliveOnce(long lease) {
    return unary(LEASE_KEEPALIVE, LeaseKeepAliveRequest.newBuilder().setID(lease).build())
        .map(r -> r == null ? 0L : r.getTTL());
  }

  @Override
  public Subscription keepAlive(long lease, long ttlSeconds, LeaseListener listener) {
    return LeaseKeeper.start(this, lease, ttlSeconds, listener);
  }

  // ---- watch ----------------------------------------------------------------------------------------------

  @Override
  public Subscription watch(String prefix, long fromRevision, WatchListener listener) {
    return PrefixWatch.start(this, prefix, fromRevision, listener);
  }

  /** Opens a watch stream on the current endpoint, with the auth token when needed. */
  Future<GrpcClientRequest<WatchRequest, WatchResponse>> openWatchStream() {
    int index = current;
    return authToken(WATCH).compose(tok -> grpc.request(addresses.get(index), WATCH).map(req -> {
      if (tok != null) {
        req.headers().set("token", tok);
      }
      return req;
    })).recover(err -> Future.failedFuture(classify(err, index)));
  }

  /** Forget the auth token (a stream was refused as unauthenticated). */
  void invalidateToken() {
    token.set(null);
  }

  boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    closed = true;
    grpc.close();
  }
}
