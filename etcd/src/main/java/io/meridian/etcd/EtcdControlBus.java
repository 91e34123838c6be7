package io.meridian.etcd;

import io.meridian.etcd.impl.EtcdBus;
import io.meridian.core.ControlBus;
import io.meridian.core.RoutingPlan;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/**
 * The {@link ControlBus} of a deployment whose control-plane state lives in etcd. Under one key prefix:
 *
 * <pre>
 *   {prefix}plan/current           version, size, chunk count and CRC32C of the current plan (JSON, written last)
 *   {prefix}plan/current.bytes     the plan ({@code PlanCodec}: deflated binary) when at most 1 MiB, written in the
 *                                  same transaction as plan/current
 *   {prefix}plan/v/{version}/{i}   a larger plan in chunks of at most 512 KiB, written before plan/current
 *   {prefix}health/{vantage point} the latest report of each checker, under that process's lease
 *   {prefix}traffic/{proxy}        the latest report of each proxy, under that process's lease
 * </pre>
 *
 * Data planes watch {@code plan/current}; each new version arrives with its bytes (or they read its chunks), they
 * check size and CRC32C and apply it
 * atomically, in version order, never older than what they have. A watch that loses its stream resumes; one that
 * falls behind compaction re-reads; every reconnection re-reads the meta key, so a data plane cut off from etcd
 * catches up as soon as it is back. Reports live under a lease of {@code leaseTtl}: a reporter that dies stops
 * counting when its lease expires.
 */
public interface EtcdControlBus extends ControlBus {

  /**
   * Connects and reads the current plan. When etcd cannot be reached the bus starts anyway with
   * {@code fallback} (the last-known-good plan or the configuration's) and catches up once etcd answers: a data
   * plane must never stop answering because its control plane is away.
   */
  static Future<EtcdControlBus> open(Vertx vertx, EtcdClient etcd, String prefix, Duration leaseTtl,
      RoutingPlan fallback) {
    return EtcdBus.open(vertx, etcd, prefix, leaseTtl, fallback);
  }

  /**
   * Extra guards every plan write must pass, evaluated per write (e.g. "the leader key still has my revision"):
   * a controller that is no longer the leader cannot publish, even while it believes it leads.
   */
  void guardPlanWrites(Supplier<List<EtcdClient.Cmp>> guards);

  /**
   * Guards every plan write with a leader's fence ({@code bus.guardPlanWrites(election.fence())}); a plan write the
   * fence refuses fails with {@link NotLeaderException}, not with the conflict a stale plan gets.
   */
  void guardPlanWrites(WriteFence fence);

  /** The etcd client under this bus (for the controller's state store in the same etcd). */
  EtcdClient etcd();

  /**
   * Stops watches and revokes this process's lease, so its reports disappear now rather than a lease TTL later
   * (a cleanly stopped checker stops counting at once). Completes when etcd answered or gave up.
   */
  Future<Void> shutdown();

  /** The key prefix, ending with '/'. */
  String prefix();

  /** Encoded size in bytes and chunk count of the last plan written or read (for metrics and the benchmark). */
  long lastPlanBytes();
}
