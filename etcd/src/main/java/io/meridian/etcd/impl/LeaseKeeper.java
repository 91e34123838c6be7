package io.meridian.etcd.impl;

import io.meridian.etcd.EtcdClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refreshes a lease every third of its TTL, so two refreshes may fail (an endpoint switch, a slow etcd) before
 * the lease runs out. When etcd answers that the lease is gone it expired while we could not reach etcd: the
 * owner is told once and grants a new one (its keys went with the old lease, which is the point of a lease).
 */
final class LeaseKeeper implements EtcdClient.Subscription {
  private static final Logger LOG = LoggerFactory.getLogger(LeaseKeeper.class);

  private final GrpcEtcdClient client;
  private final long lease;
  private final Runnable onLost;
  private final long periodMs;
  private volatile boolean cancelled;
  private long timer = -1;

  private LeaseKeeper(GrpcEtcdClient client, long lease, long ttlSeconds, Runnable onLost) {
    this.client = client;
    this.lease = lease;
    this.onLost = onLost;
    this.periodMs = Math.max(200, ttlSeconds * 1000 / 3);
  }

  static LeaseKeeper start(GrpcEtcdClient client, long lease, long ttlSeconds, Runnable onLost) {
    LeaseKeeper k = new LeaseKeeper(client, lease, ttlSeconds, onLost);
    k.schedule();
    return k;
  }

  private synchronized void schedule() {
    if (!cancelled && !client.isClosed()) {
      timer = client.vertx().setTimer(periodMs, id -> refresh());
    }
  }

  private void refresh() {
    if (cancelled || client.isClosed()) {
      return;
    }
    client.keepAliveOnce(lease).onComplete(ar -> {
      if (cancelled) {
        return;
      }
      if (ar.succeeded() && ar.result() <= 0) {
        LOG.warn("etcd lease {} expired (etcd was unreachable for longer than its TTL); its keys are gone",
            Long.toHexString(lease));
        cancelled = true;
        onLost.run();
        return;
      }
      if (ar.failed()) {
        LOG.debug("etcd lease {} refresh failed: {}", Long.toHexString(lease), ar.cause().getMessage());
      }
      schedule();
    });
  }

  @Override
  public synchronized void cancel() {
    cancelled = true;
    if (timer >= 0) {
      client.vertx().cancelTimer(timer);
    }
  }
}
