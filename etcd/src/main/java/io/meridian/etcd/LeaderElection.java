package io.meridian.etcd;

import io.meridian.etcd.impl.EtcdLeaderElection;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Optional;

/**
 * One leader among the candidates that share a key prefix, on etcd, the way etcd's own {@code concurrency} package
 * does it: each candidate holds a lease kept alive in the background; leadership is the key {@code {prefix}leader},
 * created only if absent, under the winner's lease, with its id and admin URL as value; every write of the leader
 * is guarded by that key's create revision ({@link #fence()}).
 *
 * <ul>
 *   <li><b>Campaign</b>: a transaction {@code create_revision(leader) == 0 → put(leader, {id, url}, lease)}. The
 *       losers watch the key and campaign again the moment it is deleted.
 *   <li><b>Step down</b>: the leader is deposed when its key is deleted or replaced, when etcd says its lease is
 *       gone, or when no keep-alive has been acknowledged for two thirds of the TTL (it cannot know whether its
 *       lease still lives, so it stops before etcd could have let it expire). It then revokes the old lease and
 *       campaigns again under a new one.
 *   <li><b>Takeover bound</b>: a leader that dies (or is paused) loses its key at most one TTL after its last
 *       acknowledged keep-alive; followers see the deletion on their watch and campaign at once. A leader that
 *       resigns revokes its lease, so the key goes at once.
 * </ul>
 *
 * Events are delivered on the Vert.x context the election was created on, in order; listeners must not block.
 *
 * <pre>{@code
 * LeaderElection e = LeaderElection.create(vertx, etcd, "/meridian/controller/", "ctl-a",
 *     Duration.ofSeconds(5), "http://10.0.0.1:9090");
 * e.listen(new LeaderElection.Listener() {
 *   public void elected(long term) { startPlanning(); }
 *   public void deposed(String reason) { stopWriting(); }
 * });
 * bus.guardPlanWrites(e.fence());
 * e.start();
 * }</pre>
 */
public interface LeaderElection {

  /**
   * A candidate, not yet campaigning: add listeners, then {@link #start()}.
   *
   * @param prefix              key prefix shared by the candidates, ending with '/'; the key is {@code {prefix}leader}
   * @param candidateId         this candidate's unique id (two live candidates must not share one)
   * @param leaseTtl            the lease TTL, whole seconds, at least 2 (etcd's minimum): bounds a takeover
   * @param advertisedAdminUrl  where the others reach this candidate's admin API when it leads, or null
   */
  static LeaderElection create(Vertx vertx, EtcdClient etcd, String prefix, String candidateId, Duration leaseTtl,
      String advertisedAdminUrl) {
    return EtcdLeaderElection.create(vertx, etcd, prefix, candidateId, leaseTtl, advertisedAdminUrl);
  }

  /** What an election reports, in order, on the election's context. */
  interface Listener {
    /** This candidate won; its writes are now fenced on {@code term}. */
    default void elected(long term) {}

    /**
     * This candidate no longer leads (its key or lease is gone, a keep-alive missed its deadline, or it resigned):
     * stop writing now. Writes already in flight are refused by the fence.
     */
    default void deposed(String reason) {}

    /** The leader changed, as the leader key says; {@code leader} is empty while nobody holds the key. */
    default void leaderChanged(Optional<LeaderInfo> leader) {}
  }

  /** Adds a listener; add them before {@link #start()} to see every event. */
  LeaderElection listen(Listener listener);

  /**
   * Grants a lease and campaigns; completes once the first round knows the leader (this candidate or another).
   * When etcd cannot be reached it keeps trying in the background and the future completes when it first answers.
   */
  Future<Void> start();

  /**
   * True while this candidate leads and its last acknowledged keep-alive is recent enough (within two thirds of the
   * TTL). Checked on each call, so a process resuming from a long pause answers false before any timer ran.
   */
  boolean isLeader();

  /** The leader as last observed, or empty when nobody holds the key (or before the first observation). */
  Optional<LeaderInfo> leader();

  /** The guard for this candidate's writes; the same object for the whole life of the election. */
  WriteFence fence();

  String candidateId();

  /**
   * Stops campaigning and revokes the lease, so the leader key (if ours) disappears now and a follower takes over at
   * once instead of a TTL later. A leader hears {@code deposed("resigned")} first. Completes when etcd answered or
   * gave up.
   */
  Future<Void> resign();
}
