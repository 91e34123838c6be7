package io.meridian.etcd.impl;

import io.meridian.core.HealthReport;
import io.meridian.core.PlanCodec;
import io.meridian.core.ReportJson;
import io.meridian.core.RoutingPlan;
import io.meridian.core.Topology;
import io.meridian.core.TrafficReport;
import io.meridian.etcd.EtcdClient;
import io.meridian.etcd.EtcdClient.Cmp;
import io.meridian.etcd.EtcdClient.Op;
import io.meridian.etcd.EtcdControlBus;
import io.meridian.etcd.KeyValue;
import io.meridian.etcd.WriteFence;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** See {@link EtcdControlBus}. */
public final class EtcdBus implements EtcdControlBus {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdBus.class);
  /**
   * Plan chunk size. etcd refuses requests above {@code --max-request-bytes} (1.5 MiB by default); chunks of
   * 512 KiB written one per request stay far below it whatever the plan's size.
   */
  static final int CHUNK_BYTES = 512 * 1024;
  /** The current plan's description (small JSON): every data plane watches this key and the next. */
  static final String META = "plan/current";
  /** The current plan's bytes when inline: written in the same transaction as {@link #META}. */
  static final String BYTES = "plan/current.bytes";
  /** Plans up to this size go inline in {@link #BYTES}, one write well within etcd's 1.5 MiB request limit. */
  static final int INLINE_BYTES = 1024 * 1024;

  private final Vertx vertx;
  private final EtcdClient etcd;
  private final String prefix;
  private final long leaseTtlSeconds;
  private final AtomicReference<RoutingPlan> plan;
  private final List<Consumer<RoutingPlan>> planListeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<HealthReport>> healthListeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<TrafficReport>> trafficListeners = new CopyOnWriteArrayList<>();
  private final List<EtcdClient.Subscription> watches = new CopyOnWriteArrayList<>();
  private volatile Supplier<List<Cmp>> guards = List::of;
  /** The guards when they are a leader's fence, to tell "not the leader" from a stale plan when a write fails. */
  private volatile WriteFence fence;
  /** mod revision of the plan meta as last seen (0 = absent): plan writes are guarded on it, so none goes backwards. */
  private volatile long metaModRevision;
  private volatile boolean planWatchUp;
  private volatile String lastError = "";
  private volatile long lastPlanBytes;
  private boolean healthWatched;
  private boolean trafficWatched;
  /** Plan reads are serial: one in flight; a newer meta seen meanwhile is read after it. */
  private boolean fetching;
  private boolean fetchAgain;
  private Future<Long> lease;
  private long leaseId;
  private EtcdClient.Subscription leaseKeeper;
  private volatile boolean closed;

  private final int inlineBytes;

  private EtcdBus(Vertx vertx, EtcdClient etcd, String prefix, Duration leaseTtl, RoutingPlan fallback,
      int inlineBytes) {
    this.inlineBytes = inlineBytes;
    this.vertx = vertx;
    this.etcd = etcd;
    this.prefix = prefix.endsWith("/") ? prefix : prefix + "/";
    this.leaseTtlSeconds = Math.max(2, (leaseTtl.toMillis() + 999) / 1000);
    this.plan = new AtomicReference<>(fallback);
  }

  public static Future<EtcdControlBus> open(Vertx vertx, EtcdClient etcd, String prefix, Duration leaseTtl,
      RoutingPlan fallback) {
    return open(vertx, etcd, prefix, leaseTtl, fallback, INLINE_BYTES);
  }

  /** With another inline threshold (tests of the chunked path). */
  public static Future<EtcdControlBus> open(Vertx vertx, EtcdClient etcd, String prefix, Duration leaseTtl,
      RoutingPlan fallback, int inlineBytes) {
    EtcdBus bus = new EtcdBus(vertx, etcd, prefix, leaseTtl, fallback, inlineBytes);
    return bus.readPlan().recover(e -> {
      bus.lastError = e.getMessage();
      LOG.warn("etcd {} not reachable at start ({}); serving plan v{} ({}) until it is", etcd.currentEndpoint(),
          e.getMessage(), fallback.version(), fallback.reason());
      return Future.succeededFuture();
    }).map(v -> {
      bus.watchPlan();
      return bus;
    });
  }

  String key(String rest) {
    return prefix + rest;
  }

  static String segment(String name) {
    return URLEncoder.encode(name, StandardCharsets.UTF_8);
  }

  @Override
  public EtcdClient etcd() {
    return etcd;
  }

  @Override
  public String prefix() {
    return prefix;
  }

  @Override
  public long lastPlanBytes() {
    return lastPlanBytes;
  }

  @Override
  public void guardPlanWrites(Supplier<List<Cmp>> g) {
    this.guards = g;
    this.fence = null;
  }

  @Override
  public void guardPlanWrites(WriteFence f) {
    this.guards = f;
    this.fence = f;
  }

  @Override
  public Source source() {
    if (planWatchUp) {
      return new Source("etcd", true, "watching " + prefix + META + " at " + etcd.currentEndpoint());
    }
    // before the watch's first answer there is no error to report yet: say so rather than "unreachable ()"
    return new Source("etcd", false, lastError == null || lastError.isEmpty()
        ? "connecting to etcd at " + etcd.currentEndpoint() + ": serving the last known plan meanwhile"
        : "etcd unreachable (" + lastError + "): serving the last known plan");
  }

  // ---- plans ----------------------------------------------------------------------------------------------

  @Override
  public RoutingPlan currentPlan() {
    return plan.get();
  }

  /** Reads the plan meta and, when it names a newer version than ours, that plan. */
  private Future<Void> readPlan() {
    return etcd.get(key(META)).compose(r -> {
      KeyValue kv = r.first();
      metaModRevision = kv == null ? 0 : Math.max(metaModRevision, kv.modRevision());
      return kv == null ? Future.succeededFuture() : fetch(kv, null);
    });
  }

  /**
   * Reads, checks and applies the plan {@code metaKv} describes. {@code bytesKv}, when the watch delivered it with
   * the meta (one transaction, one revision), is used as it is; otherwise the bytes are read.
   */
  private Future<Void> fetch(KeyValue metaKv, KeyValue bytesKv) {
    JsonObject meta = new JsonObject(metaKv.valueUtf8());
    long version = meta.getLong("version");
    RoutingPlan have = plan.get();
    if (have != null && version <= have.version()) {
      return Future.succeededFuture();
    }
    long t0 = System.nanoTime();
    int chunks = meta.getInteger("chunks", 0);
    Future<byte[]> bytes;
    if (chunks == 0 && bytesKv != null && bytesKv.modRevision() == metaKv.modRevision()) {
      bytes = Future.succeededFuture(bytesKv.value());
    } else if (chunks == 0) {
      bytes = etcd.get(key(BYTES)).compose(r -> r.first() != null && r.first().modRevision() == metaKv.modRevision()
          ? Future.succeededFuture(r.first().value())
          // replaced since the meta was written: a newer meta is on its way
          : Future.failedFuture(new IllegalStateException("plan v" + version + ": bytes superseded")));
    } else {
      bytes = etcd.getPrefix(key("plan/v/" + version + "/")).compose(r -> r.kvs().size() == chunks
          ? Future.succeededFuture(join(r.kvs()))
          // superseded and cleaned up between the meta and the chunks: a newer meta is on its way
          : Future.failedFuture(new IllegalStateException("plan v" + version + ": " + r.kvs().size() + " of "
              + chunks + " chunks present")));
    }
    return bytes.compose(all -> {
      if (all.length != meta.getInteger("bytes", -1) || checksum(all) != meta.getLong("crc32c", -1L)) {
        return Future.failedFuture(new IllegalStateException("plan v" + version + ": size or checksum mismatch"));
      }
      Topology previous = have == null ? null : have.topology();
      return vertx.<RoutingPlan>executeBlocking(() -> PlanCodec.decode(all, previous), false).map(p -> {
        lastPlanBytes = all.length;
        if (apply(p)) {
          LOG.info("applied plan v{} from etcd ({} bytes {}, read and decoded in {} ms): {}", p.version(),
              all.length, chunks == 0 ? "inline" : "in " + chunks + " chunk(s)", (System.nanoTime() - t0) / 1_000_000,
              p.reason());
        }
        return null;
      });
    });
  }

  /** CRC32C: tells a complete plan from a torn or mixed one (not a defence against forgery: etcd's auth is). */
  static long checksum(byte[] b) {
    java.util.zip.CRC32C c = new java.util.zip.CRC32C();
    c.update(b, 0, b.length);
    return c.getValue();
  }

  private static byte[] join(List<KeyValue> chunks) {
    int n = 0;
    for (KeyValue kv : chunks) {
      n += kv.value().length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (KeyValue kv : chunks) { // keys sort by their zero-padded index
      System.arraycopy(kv.value(), 0, out, at, kv.value().length);
      at += kv.value().length;
    }
    return out;
  }

  /** Swaps in {@code p} when it is newer and tells the listeners, in version order. */
  private synchronized boolean apply(RoutingPlan p) {
    RoutingPlan prev = plan.get();
    if (prev != null && p.version() <= prev.version()) {
      return false;
    }
    plan.set(p);
    for (Consumer<RoutingPlan> l : planListeners) {
      try {
        l.accept(p);
      } catch (RuntimeException e) {
        LOG.error("plan listener failed on v{}", p.version(), e);
      }
    }
    return true;
  }

  private void watchPlan() {
    // the prefix covers the meta key and the inline bytes key beside it, never the chunks
    watches.add(etcd.watch(key(META), 0, new EtcdClient.WatchListener() {
      @Override
      public void onEvents(List<EtcdClient.Event> events, long revision) {
        KeyValue meta = null;
        KeyValue bytes = null;
        for (EtcdClient.Event e : events) {
          if (e.delete()) {
            continue;
          }
          if (e.kv().key().equals(key(META))) {
            metaModRevision = Math.max(metaModRevision, e.kv().modRevision());
            meta = e.kv();
          } else if (e.kv().key().equals(key(BYTES))) {
            bytes = e.kv();
          }
        }
        if (meta != null) {
          scheduleFetch(meta, bytes);
        }
      }

      @Override
      public Future<Long> resync() {
        return etcd.get(key(META)).map(r -> {
          scheduleFetch();
          return r.revision();
        });
      }

      @Override
      public void onConnection(boolean up) {
        planWatchUp = up;
        if (up) {
          scheduleFetch(); // catch up on whatever was published while we were cut off
        } else {
          lastError = "watch lost";
        }
      }
    }));
  }

  private void scheduleFetch() {
    scheduleFetch(null, null);
  }

  /** Reads the plan {@code meta} names (or the meta key first, when null); serial, coalescing what arrives meanwhile. */
  private void scheduleFetch(KeyValue meta, KeyValue bytes) {
    synchronized (this) {
      if (fetching) {
        fetchAgain = true;
        return;
      }
      fetching = true;
    }
    (meta != null ? fetch(meta, bytes) : readPlan()).onComplete(ar -> {
      if (ar.failed()) {
        LOG.debug("plan read failed: {}", ar.cause().getMessage());
      }
      boolean again;
      synchronized (this) {
        again = fetchAgain || ar.failed() && planWatchUp && !closed;
        fetchAgain = false;
        fetching = false;
      }
      if (again && !closed) {
        vertx.setTimer(ar.failed() ? 200 : 1, id -> scheduleFetch());
      }
    });
  }

  @Override
  public Future<Void> publishPlan(RoutingPlan next) {
    RoutingPlan prev = plan.get();
    if (prev != null && next.version() <= prev.version()) {
      return Future.failedFuture("plan version " + next.version() + " is not newer than " + prev.version());
    }
    return vertx.executeBlocking(() -> PlanCodec.encode(next), false).compose(bytes -> {
      // A plan that fits (most do: 10,000 split zones × 50 regions is about 150 KiB) is written with its meta in
      // one transaction: one watch response carries the whole plan to every data plane, no read follows.
      boolean inline = bytes.length <= inlineBytes;
      int chunks = inline ? 0 : (bytes.length + CHUNK_BYTES - 1) / CHUNK_BYTES;
      String dir = "plan/v/" + next.version() + "/";
      // Chunk writes take the guards too: a deposed leader must not overwrite the chunks of a version the new
      // leader published under the same number (readers would refuse them on CRC32C and stall on that version).
      Future<Void> chain = inline ? Future.succeededFuture()
          : guarded(Op.deletePrefix(key(dir))); // leftovers of an earlier failed attempt
      for (int i = 0; i < chunks; i++) {
        byte[] part = Arrays.copyOfRange(bytes, i * CHUNK_BYTES, Math.min(bytes.length, (i + 1) * CHUNK_BYTES));
        String k = key(dir + String.format("%05d", i));
        chain = chain.compose(v -> guarded(Op.put(k, part, 0)));
      }
      JsonObject meta = new JsonObject().put("version", next.version()).put("chunks", chunks)
          .put("bytes", bytes.length).put("crc32c", checksum(bytes)).put("encoding", "meridian-plan-1+deflate")
          .put("created_at", next.createdAt().toString());
      return chain.compose(v -> {
        List<Cmp> cmps = new ArrayList<>(guards.get());
        long seen = metaModRevision;
        cmps.add(Cmp.modRevision(key(META), Cmp.Result.EQUAL, seen));
        List<Op> ops = new ArrayList<>();
        if (inline) {
          ops.add(Op.put(key(BYTES), bytes, 0));
        }
        ops.add(Op.put(key(META), meta.encode().getBytes(StandardCharsets.UTF_8), 0));
        return etcd.txn(cmps, ops, List.of());
      }).compose(t -> {
        if (!t.succeeded()) {
          if (!inline) {
            guarded(Op.deletePrefix(key(dir))); // guarded: a deposed leader must not delete the new leader's chunks
          }
          scheduleFetch();
          long seen = metaModRevision;
          WriteFence f = fence;
          Future<Void> explained = f == null ? Future.succeededFuture() : f.verify();
          return explained.compose(v -> Future.failedFuture(new IllegalStateException("plan v" + next.version()
              + " not published: " + key(META) + " changed since revision " + seen
              + " (another controller wrote a plan)" + (f == null ? " or this controller's write guard no longer holds"
              : ""))));
        }
        metaModRevision = t.revision();
        lastPlanBytes = bytes.length;
        apply(next);
        if (prev != null) {
          // keep the previous plan's chunks for readers that saw its meta just before this write
          deleteOlderThan(prev.version());
        }
        return Future.succeededFuture();
      });
    });
  }

  /** One write under the guards alone; fails with the fence's {@link io.meridian.etcd.NotLeaderException} if refused. */
  private Future<Void> guarded(Op op) {
    return etcd.txn(guards.get(), List.of(op), List.of()).compose(t -> {
      if (t.succeeded()) {
        return Future.succeededFuture();
      }
      WriteFence f = fence;
      return (f == null ? Future.<Void>succeededFuture() : f.verify()).compose(v -> Future.failedFuture(
          new IllegalStateException("etcd write of " + op.key() + " refused: this controller's write guard no "
              + "longer holds")));
    });
  }

  /** Removes chunk sets of versions below {@code keep} (best effort; a failure leaves garbage, not errors). */
  private void deleteOlderThan(long keep) {
    etcd.getPrefix(key("plan/v/")).onSuccess(r -> {
      java.util.Set<String> dirs = new java.util.TreeSet<>();
      for (KeyValue kv : r.kvs()) {
        String rest = kv.key().substring(key("plan/v/").length());
        int slash = rest.indexOf('/');
        if (slash > 0) {
          try {
            if (Long.parseLong(rest.substring(0, slash)) < keep) {
              dirs.add(rest.substring(0, slash));
            }
          } catch (NumberFormatException ignored) {
            // not ours
          }
        }
      }
      for (String d : dirs) {
        etcd.deletePrefix(key("plan/v/" + d + "/"));
      }
    });
  }

  @Override
  public Subscription onPlan(Consumer<RoutingPlan> listener) {
    synchronized (this) {
      planListeners.add(listener);
      RoutingPlan p = plan.get();
      if (p != null) {
        listener.accept(p);
      }
    }
    return () -> planListeners.remove(listener);
  }

  // ---- reports --------------------------------------------------------------------------------------------

  /** This process's lease for its reports, granted on first use and again after it was lost. */
  private synchronized Future<Long> lease() {
    if (lease == null || lease.failed()) {
      Promise<Long> p = Promise.promise();
      lease = p.future();
      etcd.grantLease(leaseTtlSeconds).onComplete(ar -> {
        if (ar.succeeded()) {
          synchronized (this) {
            leaseId = ar.result();
            leaseKeeper = etcd.keepAlive(ar.result(), leaseTtlSeconds, this::leaseLost);
          }
        }
        p.handle(ar);
      });
    }
    return lease;
  }

  private synchronized void leaseLost() {
    lease = null;
  }

  @Override
  public Future<Void> publishHealth(HealthReport report) {
    byte[] v = ReportJson.toJson(report).encode().getBytes(StandardCharsets.UTF_8);
    return lease().compose(l -> etcd.put(key("health/" + segment(report.vantagePoint())), v, l)).mapEmpty();
  }

  @Override
  public Future<Void> publishTraffic(TrafficReport report) {
    byte[] v = ReportJson.toJson(report).encode().getBytes(StandardCharsets.UTF_8);
    return lease().compose(l -> etcd.put(key("traffic/" + segment(report.source())), v, l)).mapEmpty();
  }

  @Override
  public Subscription onHealth(Consumer<HealthReport> listener) {
    healthListeners.add(listener);
    synchronized (this) {
      if (!healthWatched) {
        healthWatched = true;
        watchReports("health/", kv -> ReportJson.healthFromJson(new JsonObject(kv.valueUtf8())),
            name -> HealthReport.gone(name, Instant.now()), healthListeners);
      }
    }
    return () -> healthListeners.remove(listener);
  }

  @Override
  public java.util.Optional<Subscription> onSharedSecret(String name, int length, Duration rotation,
      Consumer<SharedSecret> listener) {
    if (!name.matches("[A-Za-z0-9-]+")) {
      throw new IllegalArgumentException("shared secret name " + name + " (expected: letters, digits, '-')");
    }
    EtcdSharedSecret s = EtcdSharedSecret.start(vertx, etcd, key("secrets/" + name), name, length, rotation, listener);
    return java.util.Optional.of(s);
  }

  @Override
  public Subscription onTraffic(Consumer<TrafficReport> listener) {
    trafficListeners.add(listener);
    synchronized (this) {
      if (!trafficWatched) {
        trafficWatched = true;
        watchReports("traffic/", kv -> ReportJson.trafficFromJson(new JsonObject(kv.valueUtf8())),
            name -> new TrafficReport(name, Instant.now(), java.util.Map.of(), java.util.Map.of(), java.util.Map.of(),
                java.util.Map.of()), trafficListeners);
      }
    }
    return () -> trafficListeners.remove(listener);
  }

  /**
   * Delivers every report under {@code dir}: all present ones first, then changes. A deleted key (its
   * reporter's lease expired, or it stopped cleanly) is delivered as {@code gone}: an empty report that is
   * already stale, so that reporter stops counting at once.
   */
  private <T> void watchReports(String dir, Function<KeyValue, T> decode, Function<String, T> gone,
      List<Consumer<T>> listeners) {
    Consumer<T> deliver = t -> listeners.forEach(l -> {
      try {
        l.accept(t);
      } catch (RuntimeException e) {
        LOG.error("{} listener failed", dir, e);
      }
    });
    // reporters seen, so that a full re-read (after a watch was lost, or behind compaction) also reports the ones
    // whose keys were deleted meanwhile: their delete events were never delivered
    java.util.Set<String> known = java.util.concurrent.ConcurrentHashMap.newKeySet();
    Function<EtcdClient.Range, Long> readAll = r -> {
      java.util.Set<String> present = new java.util.HashSet<>();
      for (KeyValue kv : r.kvs()) {
        present.add(reporterName(dir, kv));
        decodeQuietly(dir, kv, decode).ifPresent(deliver);
      }
      for (String name : List.copyOf(known)) {
        if (!present.contains(name)) {
          known.remove(name);
          LOG.info("{}{} is gone (its key was deleted while the watch was down): it no longer counts", dir, name);
          deliver.accept(gone.apply(name));
        }
      }
      known.addAll(present);
      return r.revision();
    };
    EtcdClient.WatchListener wl = new EtcdClient.WatchListener() {
      @Override
      public void onEvents(List<EtcdClient.Event> events, long revision) {
        for (EtcdClient.Event e : events) {
          if (e.delete()) {
            String name = reporterName(dir, e.kv());
            known.remove(name);
            LOG.info("{}{} is gone (its reporter's lease expired or it stopped): it no longer counts", dir, name);
            deliver.accept(gone.apply(name));
          } else {
            known.add(reporterName(dir, e.kv()));
            decodeQuietly(dir, e.kv(), decode).ifPresent(deliver);
          }
        }
      }

      @Override
      public Future<Long> resync() {
        return etcd.getPrefix(key(dir)).map(readAll);
      }
    };
    etcd.getPrefix(key(dir)).map(readAll).onComplete(ar ->
        watches.add(etcd.watch(key(dir), ar.succeeded() ? ar.result() + 1 : 0, wl)));
  }

  private String reporterName(String dir, KeyValue kv) {
    return URLDecoder.decode(kv.key().substring(key(dir).length()), StandardCharsets.UTF_8);
  }

  private static <T> java.util.Optional<T> decodeQuietly(String dir, KeyValue kv, Function<KeyValue, T> decode) {
    try {
      return java.util.Optional.of(decode.apply(kv));
    } catch (RuntimeException e) {
      LOG.warn("ignoring unreadable {} entry {}: {}", dir, kv.key(), e.toString());
      return java.util.Optional.empty();
    }
  }

  @Override
  public void close() {
    shutdown();
  }

  @Override
  public Future<Void> shutdown() {
    closed = true;
    watches.forEach(EtcdClient.Subscription::cancel);
    watches.clear();
    long l;
    synchronized (this) {
      if (leaseKeeper != null) {
        leaseKeeper.cancel();
      }
      l = leaseId;
    }
    planListeners.clear();
    healthListeners.clear();
    trafficListeners.clear();
    if (l == 0) {
      return Future.succeededFuture();
    }
    // a cleanly stopped reporter stops counting now, not a lease TTL later
    return etcd.revokeLease(l).otherwiseEmpty();
  }
}
