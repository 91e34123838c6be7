package io.meridian.etcd.impl;

import io.meridian.core.ControlBus.SharedSecret;
import io.meridian.core.ControlBus.Subscription;
import io.meridian.etcd.EtcdClient;
import io.meridian.etcd.EtcdClient.Cmp;
import io.meridian.etcd.EtcdClient.Op;
import io.meridian.etcd.KeyValue;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One secret held alike by every process on the bus, in one etcd key: {@code {"current": hex, "previous": hex,
 * "rotated_at_ms": n}}.
 *
 * <ul>
 *   <li>Made by the first process that finds the key absent, in a transaction that succeeds only while it is still
 *       absent: two processes starting together end up with the one that won.</li>
 *   <li>Rotated by whichever process notices first that {@code rotated_at + rotation} has passed, in a transaction
 *       guarded on the key's mod revision: a second process that noticed too fails its write and reads the winner's
 *       secret instead of replacing it again (which would push out the {@code previous} the cookies handed out a
 *       moment ago were made with).</li>
 *   <li>Delivered from a watch of the key, and re-read every {@link #checkMillis(Duration)}, which is also when a
 *       due rotation is noticed. While etcd is unreachable the last pair stays in use and rotation waits.</li>
 * </ul>
 */
final class EtcdSharedSecret implements Subscription {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdSharedSecret.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Vertx vertx;
  private final EtcdClient etcd;
  private final String key;
  private final String name;
  private final int length;
  private final Duration rotation;
  private final Consumer<SharedSecret> listener;
  private final long timer;
  private volatile EtcdClient.Subscription watch;
  /** mod revision of the value last delivered (0: none yet). */
  private long deliveredRevision;
  private boolean unreachableLogged;
  private volatile boolean cancelled;

  private EtcdSharedSecret(Vertx vertx, EtcdClient etcd, String key, String name, int length, Duration rotation,
      Consumer<SharedSecret> listener) {
    this.vertx = vertx;
    this.etcd = etcd;
    this.key = key;
    this.name = name;
    this.length = length;
    this.rotation = rotation;
    this.listener = listener;
    this.timer = vertx.setPeriodic(checkMillis(rotation), id -> refresh());
  }

  static EtcdSharedSecret start(Vertx vertx, EtcdClient etcd, String key, String name, int length,
      Duration rotation, Consumer<SharedSecret> listener) {
    EtcdSharedSecret s = new EtcdSharedSecret(vertx, etcd, key, name, length, rotation, listener);
    s.refresh().onComplete(ar -> {
      long from = ar.succeeded() ? ar.result() + 1 : 0;
      s.watch = etcd.watch(key, from, EtcdClient.listener(events -> {
        for (EtcdClient.Event e : events) {
          if (!e.delete()) {
            s.deliver(e.kv());
          }
        }
      }, s::refresh));
      if (s.cancelled) {
        s.watch.cancel();
      }
    });
    return s;
  }

  /**
   * How often the key is re-read: a twelfth of the rotation (so a rotation is at most 8 % late), between 10 s and
   * 5 minutes.
   */
  static long checkMillis(Duration rotation) {
    return Math.max(10_000, Math.min(300_000, rotation.toMillis() / 12));
  }

  /** Reads the key; makes it when absent, rotates it when due. Completes with the store revision read. */
  private Future<Long> refresh() {
    // Concurrent refreshes (the timer and a watch's resync) are harmless: every write is a guarded transaction.
    return etcd.get(key).compose(range -> {
      if (range.kvs().isEmpty()) {
        return write(List.of(Cmp.absent(key)), null, "made").map(range.revision());
      }
      KeyValue kv = range.kvs().get(0);
      deliver(kv);
      JsonObject v = new JsonObject(kv.valueUtf8());
      Instant rotatedAt = Instant.ofEpochMilli(v.getLong("rotated_at_ms", 0L));
      if (!rotatedAt.plus(rotation).isAfter(Instant.now())) {
        return write(List.of(Cmp.modRevision(key, Cmp.Result.EQUAL, kv.modRevision())), v.getString("current"),
            "rotated (the previous one is still accepted)").map(range.revision());
      }
      return Future.succeededFuture(range.revision());
    }).andThen(ar -> {
      synchronized (this) {
        if (ar.failed() && !unreachableLogged) {
          unreachableLogged = true;
          LOG.warn("shared secret {}: etcd not reachable ({}); the secret in use stays until it is", name,
              ar.cause().getMessage());
        } else if (ar.succeeded()) {
          unreachableLogged = false;
        }
      }
    });
  }

  /** Writes a fresh secret (previous: {@code previousHex}) if {@code guard} holds; the watch delivers it. */
  private Future<Void> write(List<Cmp> guard, String previousHex, String what) {
    byte[] fresh = new byte[length];
    RANDOM.nextBytes(fresh);
    JsonObject value = new JsonObject().put("current", HexFormat.of().formatHex(fresh))
        .put("rotated_at_ms", System.currentTimeMillis());
    if (previousHex != null) {
      value.put("previous", previousHex);
    }
    byte[] bytes = value.encode().getBytes(StandardCharsets.UTF_8);
    return etcd.txn(guard, List.of(Op.put(key, bytes, 0)), List.of()).compose(r -> {
      if (r.succeeded()) {
        LOG.info("shared secret {} {} in etcd ({}); every process on the bus takes it up", name, what, key);
      }
      // lost the race: another process made or rotated it; read that one
      return etcd.get(key).map(range -> {
        range.kvs().stream().findFirst().ifPresent(this::deliver);
        return null;
      });
    });
  }

  private synchronized void deliver(KeyValue kv) {
    if (cancelled || !kv.key().equals(key) || kv.modRevision() <= deliveredRevision) {
      return;
    }
    try {
      JsonObject v = new JsonObject(kv.valueUtf8());
      byte[] current = HexFormat.of().parseHex(v.getString("current"));
      String prev = v.getString("previous");
      byte[] previous = prev == null ? null : HexFormat.of().parseHex(prev);
      if (current.length != length || (previous != null && previous.length != length)) {
        throw new IllegalArgumentException(current.length + " bytes (expected: " + length + ")");
      }
      deliveredRevision = kv.modRevision();
      listener.accept(new SharedSecret(current, previous, Instant.ofEpochMilli(v.getLong("rotated_at_ms", 0L))));
    } catch (RuntimeException e) {
      // someone wrote the key by hand: keep what is in use, and say so (the next rotation replaces it)
      LOG.error("shared secret {}: {} holds no usable secret ({}); keeping the one in use", name, key,
          e.getMessage());
    }
  }

  @Override
  public void cancel() {
    cancelled = true;
    vertx.cancelTimer(timer);
    EtcdClient.Subscription w = watch;
    if (w != null) {
      w.cancel();
    }
  }
}
