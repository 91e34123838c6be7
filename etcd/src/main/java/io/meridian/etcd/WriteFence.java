package io.meridian.etcd;

import io.vertx.core.Future;
import java.util.List;
import java.util.function.Supplier;

/**
 * The guard a leader adds to every write transaction: the leader key still has the create revision this candidate
 * won it with. etcd evaluates it atomically with the write, so a deposed leader's write fails even while that
 * leader still believes it leads (a paused JVM, a partition), and a write that was in flight when leadership
 * changed is refused. A candidate that never won gets a guard that never holds.
 *
 * <p>It is a {@code Supplier<List<Cmp>>}, the shape {@link EtcdControlBus#guardPlanWrites} and the controller's
 * state store take, evaluated on each write:
 *
 * <pre>{@code
 * bus.guardPlanWrites(election.fence());   // a refused plan write fails with NotLeaderException
 * store.guardWrites(election.fence());
 * }</pre>
 */
public interface WriteFence extends Supplier<List<EtcdClient.Cmp>> {

  /** The compares to add to a write transaction, for the leadership held now (or last held). */
  @Override
  List<EtcdClient.Cmp> get();

  /**
   * Explains a guarded transaction that did not succeed: fails with {@link NotLeaderException} when the leader
   * key no longer has the fenced revision (so the fence is what refused it), succeeds when the fence still holds
   * (the refusal came from the writer's own compares: a conflict). A fenced revision never comes back once its key
   * is gone, so a fence that failed in the transaction is always reported as such.
   */
  Future<Void> verify();
}
