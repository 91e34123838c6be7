package io.meridian.etcd;

import io.meridian.etcd.impl.GrpcEtcdClient;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.function.Consumer;

/**
 * The few etcd v3 calls Meridian needs, over etcd's gRPC API with Vert.x's gRPC client (HTTP/2, TLS, etcd
 * user auth). Every call returns a {@link Future} and never blocks the caller; calls that cannot reach the
 * current endpoint move on to the next one.
 *
 * <pre>{@code
 * EtcdClient etcd = EtcdClient.connect(vertx, EtcdOptions.of(List.of("http://127.0.0.1:2379")));
 * etcd.put("/meridian/x", bytes, 0).compose(rev -> etcd.get("/meridian/x"));
 * }</pre>
 */
public interface EtcdClient extends AutoCloseable {

  static EtcdClient connect(Vertx vertx, EtcdOptions options) {
    return GrpcEtcdClient.create(vertx, options);
  }

  /** Keys and the store revision they were read at. */
  record Range(List<KeyValue> kvs, long revision) {
    public KeyValue first() {
      return kvs.isEmpty() ? null : kvs.get(0);
    }
  }

  /**
   * One write of a transaction. {@code lease} 0 = none; a delete with {@code prefix} removes every key under it, one
   * with {@code rangeEnd} the keys in [key, rangeEnd).
   */
  record Op(boolean delete, String key, byte[] value, long lease, boolean prefix, String rangeEnd) {
    public static Op put(String key, byte[] value, long lease) {
      return new Op(false, key, value, lease, false, null);
    }

    public static Op deletePrefix(String prefix) {
      return new Op(true, prefix, null, 0, true, null);
    }

    public static Op delete(String key) {
      return new Op(true, key, null, 0, false, null);
    }

    public static Op deleteRange(String from, String toExclusive) {
      return new Op(true, from, null, 0, false, toExclusive);
    }
  }

  /**
   * A transaction guard. {@code CREATE_REVISION}/{@code MOD_REVISION}/{@code VERSION} compare numbers
   * ({@code 0} create revision = the key does not exist); {@code VALUE} compares bytes.
   */
  record Cmp(String key, Target target, Result result, long number, byte[] value) {
    public enum Target { VERSION, CREATE_REVISION, MOD_REVISION, VALUE }

    public enum Result { EQUAL, GREATER, LESS, NOT_EQUAL }

    public static Cmp absent(String key) {
      return new Cmp(key, Target.CREATE_REVISION, Result.EQUAL, 0, null);
    }

    public static Cmp modRevision(String key, Result r, long revision) {
      return new Cmp(key, Target.MOD_REVISION, r, revision, null);
    }

    public static Cmp createRevision(String key, Result r, long revision) {
      return new Cmp(key, Target.CREATE_REVISION, r, revision, null);
    }
  }

  /** Whether the guards held (then {@code success} ops ran, else {@code failure} ops) and the new revision. */
  record TxnResult(boolean succeeded, long revision) {}

  Future<Range> get(String key);

  Future<Range> getPrefix(String prefix);

  /** Returns the store revision of the write. */
  Future<Long> put(String key, byte[] value, long lease);

  Future<Long> deletePrefix(String prefix);

  Future<TxnResult> txn(List<Cmp> compares, List<Op> success, List<Op> failure);

  /** A new lease of {@code ttlSeconds}; returns its id. */
  Future<Long> grantLease(long ttlSeconds);

  Future<Void> revokeLease(long lease);

  /**
   * Keeps {@code lease} alive (a refresh every third of its TTL) until cancelled; {@code onLost} runs once when
   * etcd says the lease is gone (it expired while unreachable), after which the caller grants a new one.
   */
  default Subscription keepAlive(long lease, long ttlSeconds, Runnable onLost) {
    return keepAlive(lease, ttlSeconds, new LeaseListener() {
      @Override
      public void renewed(long sentAtNanos, long ttl) {}

      @Override
      public void lost() {
        onLost.run();
      }
    });
  }

  /**
   * Keeps {@code lease} alive like {@link #keepAlive(long, long, Runnable)} and tells {@code listener} of every
   * renewal, so an owner that must stop acting before its lease can expire (a leader) knows until when it is safe.
   */
  Subscription keepAlive(long lease, long ttlSeconds, LeaseListener listener);

  /** What a keep-alive reports. Not a functional interface on purpose: a lambda means the {@code Runnable} form. */
  interface LeaseListener {
    /**
     * etcd renewed the lease: it lives at least until {@code sentAtNanos} ({@link System#nanoTime()} when the
     * refresh was sent, before etcd could have processed it) plus {@code ttlSeconds}.
     */
    void renewed(long sentAtNanos, long ttlSeconds);

    /** etcd says the lease is gone (it expired or was revoked); called once, and the keep-alive stops. */
    void lost();
  }

  /**
   * Watches every key under {@code prefix} from {@code fromRevision} (0 = from now). The watch survives lost
   * connections and endpoint changes: it reconnects and resumes after the last revision it delivered. When etcd
   * has compacted past that revision the events in between are gone, so {@code listener.resync()} is called:
   * the caller re-reads the prefix and the watch continues from the revision it read at.
   */
  Subscription watch(String prefix, long fromRevision, WatchListener listener);

  /** What a watch delivers. */
  interface WatchListener {
    /** Changes in one store revision order; a delete has an empty value. */
    void onEvents(List<Event> events, long revision);

    /**
     * The watch could not resume where it was (the revisions were compacted); return the revision the caller
     * re-read the prefix at, and the watch continues after it.
     */
    Future<Long> resync();

    /** The watch is (re)connected ({@code true}) or lost and retrying ({@code false}). */
    default void onConnection(boolean up) {}
  }

  /** One change seen by a watch. */
  record Event(boolean delete, KeyValue kv) {}

  /** A running watch or keep-alive. */
  @FunctionalInterface
  interface Subscription {
    void cancel();
  }

  /** The endpoint calls go to now (for logs and status). */
  String currentEndpoint();

  @Override
  void close();

  /** Helper for callers that only have a consumer. */
  static WatchListener listener(Consumer<List<Event>> onEvents, java.util.function.Supplier<Future<Long>> resync) {
    return new WatchListener() {
      @Override
      public void onEvents(List<Event> events, long revision) {
        onEvents.accept(events);
      }

      @Override
      public Future<Long> resync() {
        return resync.get();
      }
    };
  }
}
