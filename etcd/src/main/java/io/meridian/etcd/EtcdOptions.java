package io.meridian.etcd;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How to reach etcd.
 *
 * <pre>{@code
 * EtcdOptions o = EtcdOptions.of(List.of("http://127.0.0.1:2379"));
 * EtcdClient etcd = EtcdClient.connect(vertx, o);
 * }</pre>
 *
 * @param endpoints       client URLs ({@code http://host:port} or {@code https://host:port}); calls go to one and
 *                        move to the next when it cannot be reached
 * @param caFile          PEM CA bundle that signed the servers' certificates (https), or null for the JVM's
 * @param certFile        PEM client certificate (etcd {@code --client-cert-auth}), or null
 * @param keyFile         PEM private key of {@code certFile}, or null
 * @param username        etcd user (etcd auth enabled), or null
 * @param password        that user's password, or null
 * @param requestTimeout  bound on one unary call (a put, a range, a transaction)
 */
public record EtcdOptions(List<String> endpoints, Path caFile, Path certFile, Path keyFile, String username,
    String password, Duration requestTimeout) {

  public EtcdOptions {
    endpoints = List.copyOf(endpoints);
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("endpoints: empty (expected: at least one URL like http://127.0.0.1:2379)");
    }
    if ((certFile == null) != (keyFile == null)) {
      throw new IllegalArgumentException("certFile/keyFile: both or neither (expected: a client certificate and its key)");
    }
  }

  public static EtcdOptions of(List<String> endpoints) {
    return new EtcdOptions(endpoints, null, null, null, null, null, Duration.ofSeconds(5));
  }

  /** From the validated {@code state_store.etcd} block. */
  public static EtcdOptions from(io.meridian.config.StateStoreConfig.Etcd c) {
    return new EtcdOptions(c.endpoints(), c.caFile(), c.certFile(), c.keyFile(), c.username(), c.password(),
        c.timeout());
  }

  public EtcdOptions withRequestTimeout(Duration d) {
    return new EtcdOptions(endpoints, caFile, certFile, keyFile, username, password, d);
  }
}
