package io.meridian.etcd.impl;

import io.meridian.etcd.EtcdClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refreshes a lease every third of its TTL, so two refreshes may fail (an endpoint switch, a slow etcd) before
 * the lease runs out; a failed refresh is retried after a third of that period rather than a whole one, because a
 * leader must renew within two thirds of the TTL or step down ({@code EtcdLeaderElection}). When etcd answers that
 * the lease is gone it expired while we could not reach etcd (or someone revoked it): the owner is told once and
 * grants a new one (its keys went with the old lease, which is the point of a lease).
 */
final class LeaseKeeper implements EtcdClient.Subscription {
  private static final Logger LOG = LoggerFactory.getLogger(LeaseKeeper.class);

  private final GrpcEtcdClient client;
  private final long lease;
  private final EtcdClient.LeaseListener listener;
  private final long periodMs;
  private volatile boolean cancelled;
  private long timer = -1;

  private LeaseKeeper(GrpcEtcdClient client, long lease, long ttlSeconds, EtcdClient.LeaseListener listener) {
    this.client = client;
    this.lease = lease;
    this.listener = listener;
    this.periodMs = Math.max(200, ttlSeconds * 1000 / 3);
  }

  static LeaseKeeper start(GrpcEtcdClient client, long lease, long ttlSeconds, EtcdClient.LeaseListener listener) {
    LeaseKeeper k = new LeaseKeeper(client, lease, ttlSeconds, listener);
    k.schedule(k.periodMs);
    return k;
  }

  private synchronized void schedule(long delayMs) {
    if (!cancelled && !client.isClosed()) {
      timer = client.vertx().setTimer(delayMs, id -> refresh());
    }
  }

  private void refresh() {
    if (cancelled || client.isClosed()) {
      return;
    }
    long sentAt = System.nanoTime();
    client.keepAliveOnce(lease).onComplete(ar -> {
      if (cancelled) {
        return;
      }
      if (ar.succeeded() && ar.result() <= 0) {
        LOG.warn("etcd lease {} is gone (expired while etcd was unreachable for longer than its TTL, or revoked); "
            + "its keys are gone",
            Long.toHexString(lease));
        cancelled = true;
        listener.lost();
        return;
      }
      if (ar.failed()) {
        LOG.debug("etcd lease {} refresh failed: {}", Long.toHexString(lease), ar.cause().getMessage());
        schedule(Math.max(200, periodMs / 3));
        return;
      }
      listener.renewed(sentAt, ar.result());
      schedule(periodMs);
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
