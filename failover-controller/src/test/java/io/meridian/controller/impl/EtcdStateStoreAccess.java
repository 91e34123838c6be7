package io.meridian.controller.impl;

import io.meridian.etcd.EtcdClient;
import java.io.IOException;
import java.time.Duration;

/** Test access to the store with a small snapshot interval. */
public final class EtcdStateStoreAccess {
  private EtcdStateStoreAccess() {}

  public static EtcdStateStore open(EtcdClient etcd, String prefix, Duration timeout, int snapshotEvery)
      throws IOException {
    return EtcdStateStore.open(etcd, prefix, timeout, snapshotEvery);
  }
}
