package io.meridian.etcd.impl;

import io.meridian.etcd.EtcdClient;
import io.meridian.etcd.EtcdClient.Cmp;
import io.meridian.etcd.EtcdClient.Op;
import io.meridian.etcd.EtcdException;
import io.meridian.etcd.KeyValue;
import io.meridian.etcd.LeaderElection;
import io.meridian.etcd.LeaderInfo;
import io.meridian.etcd.NotLeaderException;
import io.meridian.etcd.WriteFence;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link LeaderElection} on an etcd lease and one key. Every state change runs on the context the election was
 * created on, so the campaign, the watch, the keep-alive and the deadline never race each other; the few fields
 * other threads read ({@link #isLeader()}, {@link #leader()}, the fence) are volatile.
 */
public final class EtcdLeaderElection implements LeaderElection {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdLeaderElection.class);
  /** Pause before asking etcd again after a failed call, so an unreachable etcd is not hammered. */
  private static final long RETRY_MS = 500;
  /** etcd's smallest lease TTL with its default timings (1.5 × election timeout, rounded up). */
  private static final long MIN_TTL_SECONDS = 2;

  private final Vertx vertx;
  private final Context ctx;
  private final EtcdClient etcd;
  private final String key;
  private final String candidateId;
  private final String url;
  private final long ttlSeconds;
  private final byte[] value;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final Promise<Void> started = Promise.promise();
  private final WriteFence fence = new Fence();

  private volatile boolean leading;
  /** System.nanoTime() until which the lease is known to live, less a third of the TTL (client-go's renew deadline). */
  private volatile long renewDeadline;
  /** Create revision of the leader key this candidate last won; -1 before its first win (never equals a revision). */
  private volatile long fencedRevision = -1;
  private volatile LeaderInfo leader;

  // confined to ctx
  private boolean running;
  private boolean closed;
  private long lease;
  /** Incremented with each new lease: callbacks of an older lease's keep-alive, grant or deadline are ignored. */
  private int generation;
  private EtcdClient.Subscription keeper;
  private EtcdClient.Subscription watch;
  private long deadlineTimer = -1;
  private boolean campaigning;
  private boolean campaignAgain;
  /** System.nanoTime() before which this candidate does not campaign (set when deposed); 0 = no hold-off. */
  private long campaignNotBefore;
  private boolean holdOffTimer;
  /** Store revision of the last observation of the key: older news (a watch event behind a campaign's answer) is
   *  dropped. */
  private long observedRevision;

  private EtcdLeaderElection(Vertx vertx, EtcdClient etcd, String prefix, String candidateId, long ttlSeconds,
      String url) {
    this.vertx = vertx;
    this.ctx = vertx.getOrCreateContext();
    this.etcd = etcd;
    this.key = prefix + "leader";
    this.candidateId = candidateId;
    this.url = url;
    this.ttlSeconds = ttlSeconds;
    JsonObject v = new JsonObject().put("id", candidateId);
    if (url != null) {
      v.put("url", url);
    }
    this.value = v.encode().getBytes(StandardCharsets.UTF_8);
  }

  public static EtcdLeaderElection create(Vertx vertx, EtcdClient etcd, String prefix, String candidateId,
      Duration leaseTtl, String advertisedAdminUrl) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(etcd, "etcd");
    if (prefix == null || !prefix.endsWith("/")) {
      throw new IllegalArgumentException("prefix: " + prefix + " (expected: a key prefix ending with '/')");
    }
    if (candidateId == null || candidateId.isBlank()) {
      throw new IllegalArgumentException("candidateId: '" + candidateId + "' (expected: a non-empty unique id)");
    }
    if (leaseTtl == null || leaseTtl.toMillis() % 1000 != 0 || leaseTtl.getSeconds() < MIN_TTL_SECONDS) {
      throw new IllegalArgumentException("leaseTtl: " + leaseTtl + " (expected: whole seconds, at least "
          + MIN_TTL_SECONDS + "s, etcd's minimum lease TTL)");
    }
    return new EtcdLeaderElection(vertx, etcd, prefix, candidateId, leaseTtl.getSeconds(), advertisedAdminUrl);
  }

  @Override
  public LeaderElection listen(Listener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
    return this;
  }

  @Override
  public Future<Void> start() {
    ctx.runOnContext(v -> {
      if (!running && !closed) {
        running = true;
        newLease();
      }
    });
    return started.future();
  }

  @Override
  public boolean isLeader() {
    return leading && System.nanoTime() - renewDeadline < 0;
  }

  @Override
  public Optional<LeaderInfo> leader() {
    return Optional.ofNullable(leader);
  }

  @Override
  public WriteFence fence() {
    return fence;
  }

  @Override
  public String candidateId() {
    return candidateId;
  }

  @Override
  public Future<Void> resign() {
    Promise<Void> done = Promise.promise();
    ctx.runOnContext(v -> {
      if (closed) {
        done.complete();
        return;
      }
      closed = true;
      generation++;
      stopKeeper();
      if (watch != null) {
        watch.cancel();
      }
      if (leading) {
        leading = false;
        emit(l -> l.deposed("resigned"));
      }
      started.tryFail(new IllegalStateException(candidateId + " resigned before the election answered"));
      long l = lease;
      lease = 0;
      if (l == 0) {
        done.complete();
      } else {
        // Revoking deletes the leader key now: a follower campaigns at once instead of waiting out the TTL.
        etcd.revokeLease(l).onComplete(ar -> {
          if (ar.failed()) {
            LOG.warn("{}: could not revoke lease {} ({}); the leader key expires with it", candidateId,
                Long.toHexString(l), ar.cause().getMessage());
          }
          done.complete();
        });
      }
    });
    return done.future();
  }

  // ---- lease ----------------------------------------------------------------------------------------------

  /** Drops the current lease (revoking it, best effort) and campaigns again under a new one. */
  private void newLease() {
    int gen = ++generation;
    stopKeeper();
    long old = lease;
    lease = 0;
    if (old != 0) {
      // If etcd answers, our key (if still there) goes now. If not (etcd down), retry once etcd grants us a new
      // lease: etcd restores leases with a fresh TTL when it comes back, so an unrevoked old lease would keep its
      // leader key — and block every election — for a whole TTL after the outage.
      on(etcd.revokeLease(old), ar -> {
        if (ar.failed()) {
          LOG.debug("{}: revoke of lease {} failed: {}; retrying when etcd answers", candidateId,
              Long.toHexString(old), ar.cause().getMessage());
          pendingRevokes.add(old);
        }
      });
    }
    grant(gen);
  }

  /** Leases dropped while etcd did not answer: revoked as soon as it does (see {@link #newLease}). */
  private final java.util.List<Long> pendingRevokes = new java.util.ArrayList<>();

  private void revokePending() {
    for (Long old : java.util.List.copyOf(pendingRevokes)) {
      pendingRevokes.remove(old);
      on(etcd.revokeLease(old), ar -> {
        if (ar.succeeded()) {
          LOG.info("{}: revoked lease {} left from before etcd was unreachable (the leader key it may hold goes"
              + " now instead of a TTL later)", candidateId, Long.toHexString(old));
        }
      });
    }
  }

  private void grant(int gen) {
    long sentAt = System.nanoTime();
    on(etcd.grantLease(ttlSeconds), ar -> {
      if (gen != generation || closed) {
        if (ar.succeeded()) {
          etcd.revokeLease(ar.result());
        }
        return;
      }
      if (ar.failed()) {
        LOG.warn("{}: cannot grant an etcd lease ({}); retrying", candidateId, ar.cause().getMessage());
        vertx.setTimer(RETRY_MS, t -> grant(gen));
        return;
      }
      lease = ar.result();
      revokePending();
      renewed(gen, sentAt, ttlSeconds);
      keeper = etcd.keepAlive(lease, ttlSeconds, new EtcdClient.LeaseListener() {
        @Override
        public void renewed(long at, long ttl) {
          ctx.runOnContext(v -> EtcdLeaderElection.this.renewed(gen, at, ttl));
        }

        @Override
        public void lost() {
          ctx.runOnContext(v -> {
            if (gen == generation && !closed) {
              leaseLost("etcd says its lease is gone (expired or revoked)");
            }
          });
        }
      });
      campaign();
    });
  }

  /**
   * etcd had the lease alive at some point after {@code sentAt}, for {@code ttl} seconds from then at least. This
   * candidate acts only until two thirds of that: the last third covers a refresh that fails and the clocks of
   * etcd and this process running at slightly different rates, so it stops before etcd can expire the lease.
   */
  private void renewed(int gen, long sentAt, long ttl) {
    if (gen != generation || closed) {
      return;
    }
    renewDeadline = sentAt + TimeUnit.SECONDS.toNanos(ttl) * 2 / 3;
    if (deadlineTimer >= 0) {
      vertx.cancelTimer(deadlineTimer);
    }
    long delayMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(renewDeadline - System.nanoTime()) + 1);
    deadlineTimer = vertx.setTimer(delayMs, t -> {
      deadlineTimer = -1;
      if (gen == generation && !closed && System.nanoTime() - renewDeadline >= 0) {
        leaseLost("no keep-alive acknowledged within " + ttl * 2000 / 3 + " ms (two thirds of the "
            + ttl + "s lease TTL): the lease may be gone");
      }
    });
  }

  private void leaseLost(String reason) {
    if (leading) {
      depose(reason);
    } else {
      LOG.info("{}: {}; campaigning under a new lease", candidateId, reason);
      newLease();
    }
  }

  private void stopKeeper() {
    if (keeper != null) {
      keeper.cancel();
      keeper = null;
    }
    if (deadlineTimer >= 0) {
      vertx.cancelTimer(deadlineTimer);
      deadlineTimer = -1;
    }
  }

  // ---- campaign and observation ---------------------------------------------------------------------------

  private void campaign() {
    if (closed || lease == 0 || leading) {
      return;
    }
    long wait = campaignNotBefore - System.nanoTime();
    if (campaignNotBefore != 0 && wait > 0) {
      if (!holdOffTimer) {
        holdOffTimer = true;
        vertx.setTimer(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait) + 1), t -> {
          holdOffTimer = false;
          if (leader == null) {
            campaign(); // nobody took over while we held off: we are the only candidate left, or the others are down
          }
        });
      }
      return;
    }
    if (campaigning) {
      campaignAgain = true;
      return;
    }
    campaigning = true;
    int gen = generation;
    on(etcd.txn(List.of(Cmp.absent(key)), List.of(Op.put(key, value, lease)), List.of()), ar -> {
      campaigning = false;
      if (closed) {
        return;
      }
      if (ar.failed()) {
        if (ar.cause() instanceof EtcdException e && e.status() == 5 && gen == generation) {
          newLease(); // NOT_FOUND: "requested lease not found", it was revoked or expired before we campaigned
        } else {
          LOG.warn("{}: campaign failed ({}); retrying", candidateId, ar.cause().getMessage());
          vertx.setTimer(RETRY_MS, t -> campaign());
        }
        return;
      }
      long won = ar.result().revision();
      if (ar.result().succeeded() && gen == generation) {
        if (won < observedRevision && (leader == null || leader.term() != won)) {
          // The watch already showed the key we created gone again (our lease revoked in between): not a win.
          newLease();
        } else {
          becomeLeader(won);
        }
      } else if (!ar.result().succeeded()) {
        readKey();
      } // else: won under a lease already dropped and revoked, which takes the key with it; the watch shows it
      if (campaignAgain) {
        campaignAgain = false;
        campaign();
      }
    });
  }

  /** The campaign's put is the only write of its transaction, so the key's create revision is the txn's revision. */
  private void becomeLeader(long revision) {
    if (leading && fencedRevision == revision) {
      return; // seen on the watch first, then in the campaign's answer
    }
    fencedRevision = revision;
    leading = true;
    observedRevision = Math.max(observedRevision, revision);
    LOG.info("{} leads (term {})", candidateId, revision);
    emit(l -> l.elected(revision));
    setLeader(new LeaderInfo(candidateId, url, revision));
    ensureWatch(revision);
    started.tryComplete();
  }

  private void readKey() {
    on(etcd.get(key), ar -> {
      if (closed) {
        return;
      }
      if (ar.failed()) {
        vertx.setTimer(RETRY_MS, t -> readKey());
        return;
      }
      observe(ar.result().first(), ar.result().revision());
      ensureWatch(ar.result().revision());
      started.tryComplete();
    });
  }

  private void ensureWatch(long fromRevision) {
    if (watch != null || closed) {
      return;
    }
    watch = etcd.watch(key, fromRevision + 1, new EtcdClient.WatchListener() {
      @Override
      public void onEvents(List<EtcdClient.Event> events, long revision) {
        ctx.runOnContext(v -> {
          for (EtcdClient.Event e : events) {
            if (!closed && e.kv().key().equals(key)) { // the watch is on a prefix: {prefix}leaderX is not ours
              observe(e.delete() ? null : e.kv(), e.kv().modRevision());
            }
          }
        });
      }

      @Override
      public Future<Long> resync() {
        Promise<Long> p = Promise.promise();
        on(etcd.get(key), ar -> {
          if (ar.succeeded() && !closed) {
            observe(ar.result().first(), ar.result().revision());
          }
          p.handle(ar.map(EtcdClient.Range::revision));
        });
        return p.future();
      }
    });
  }

  /**
   * The one place that reconciles this candidate with the leader key as etcd had it at {@code revision}
   * ({@code kv} null: nobody holds it).
   */
  private void observe(KeyValue kv, long revision) {
    if (revision < observedRevision) {
      return;
    }
    observedRevision = revision;
    LeaderInfo next = kv == null ? null : parse(kv);
    if (!leading && kv != null && lease != 0 && kv.lease() == lease) {
      becomeLeader(kv.createRevision()); // our campaign's put, on the watch before the campaign's answer
    }
    if (leading && (kv == null || kv.createRevision() != fencedRevision)) {
      depose(kv == null ? "the leader key was deleted (its lease was revoked or expired)"
          : "the leader key is now held by " + next.id() + " (term " + next.term() + ")");
    }
    setLeader(next);
    if (kv == null) {
      campaign(); // the moment the key goes: this is what bounds a takeover by the TTL, not by a polling period
    }
  }

  /**
   * Steps down and campaigns again under a new lease, but only after one TTL: a leader that lost its lease is the
   * likely sick one (paused, partitioned), so the healthy followers, which campaign the moment the key goes, get
   * the leadership first; it campaigns again only if nobody took it by then.
   */
  private void depose(String reason) {
    leading = false;
    campaignNotBefore = System.nanoTime() + TimeUnit.SECONDS.toNanos(ttlSeconds);
    LOG.warn("{} no longer leads (term {}): {}", candidateId, fencedRevision, reason);
    emit(l -> l.deposed(reason));
    newLease();
  }

  private void setLeader(LeaderInfo next) {
    if (!Objects.equals(leader, next)) {
      leader = next;
      emit(l -> l.leaderChanged(Optional.ofNullable(next)));
    }
  }

  private static LeaderInfo parse(KeyValue kv) {
    try {
      JsonObject o = new JsonObject(kv.valueUtf8());
      return new LeaderInfo(o.getString("id", "?"), o.getString("url"), kv.createRevision());
    } catch (DecodeException | ClassCastException e) {
      return new LeaderInfo(kv.valueUtf8(), null, kv.createRevision()); // not written by a Meridian candidate
    }
  }

  private void emit(Consumer<Listener> event) {
    for (Listener l : listeners) {
      try {
        event.accept(l);
      } catch (RuntimeException e) {
        LOG.error("{}: election listener failed", candidateId, e);
      }
    }
  }

  private <T> void on(Future<T> f, Handler<AsyncResult<T>> h) {
    f.onComplete(ar -> ctx.runOnContext(v -> h.handle(ar)));
  }

  /** The leader key's create revision as this candidate won it. */
  private final class Fence implements WriteFence {
    @Override
    public List<Cmp> get() {
      return List.of(Cmp.createRevision(key, Cmp.Result.EQUAL, fencedRevision));
    }

    @Override
    public Future<Void> verify() {
      long rev = fencedRevision;
      return etcd.get(key).compose(r -> {
        KeyValue kv = r.first();
        if (kv != null && kv.createRevision() == rev) {
          return Future.succeededFuture();
        }
        LeaderInfo now = kv == null ? null : parse(kv);
        String why = rev < 0 ? candidateId + " has never led"
            : candidateId + " no longer holds the leadership its writes are fenced on (term " + rev + ")";
        return Future.failedFuture(new NotLeaderException(why + "; "
            + (now == null ? "nobody leads now" : now.id() + " leads (term " + now.term() + ")"), now));
      });
    }
  }
}
