package io.meridian.controller.impl;

import io.meridian.controller.AdminState;
import io.meridian.controller.StateStore;
import io.meridian.etcd.EtcdClient;
import io.meridian.etcd.EtcdClient.Cmp;
import io.meridian.etcd.EtcdClient.Op;
import io.meridian.etcd.KeyValue;
import io.meridian.etcd.NotLeaderException;
import io.meridian.etcd.WriteFence;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Operators' state and the audit journal in etcd: the same {@link JournalEntry entries} and
 * {@link JournalSnapshot snapshots} as the embedded store, one key per entry, under {@code {prefix}state/}:
 *
 * <pre>
 *   state/snapshot                 gzip'd JournalSnapshot: state after entry S and the last 1,000 audit entries
 *   state/journal/{seq, 20 digits} entries S+1, S+2, ... (JournalEntry JSON)
 * </pre>
 *
 * An append is one transaction that creates the next entry's key only if it does not exist yet (plus any write
 * guards, e.g. the leader's), so two controllers can never both write entry N; it is acknowledged when etcd has
 * committed it (a quorum of members has it on disk), so there is no torn write to repair. Every
 * {@link #SNAPSHOT_EVERY} entries the snapshot is replaced and the entries it covers are deleted, in one
 * transaction. Calls block: the controller makes them from its worker lane. While etcd cannot be reached, an append
 * throws {@link IOException} (the admin API answers 503) and nothing is acknowledged.
 */
public final class EtcdStateStore implements StateStore {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdStateStore.class);
  /** Entries between snapshots: bounds start-up reads (one range) and etcd's key count for this store. */
  static final int SNAPSHOT_EVERY = 1000;

  private final EtcdClient etcd;
  private final String dir;
  private final Duration timeout;
  private final int snapshotEvery;
  private final AuditWindow recent = new AuditWindow();
  private volatile Supplier<List<Cmp>> guards = List::of;
  private volatile WriteFence fence;
  private AdminState state = AdminState.EMPTY;
  private long seq;
  private long snapshotSeq;

  private EtcdStateStore(EtcdClient etcd, String prefix, Duration timeout, int snapshotEvery) {
    this.etcd = etcd;
    this.dir = (prefix.endsWith("/") ? prefix : prefix + "/") + "state/";
    this.timeout = timeout;
    this.snapshotEvery = snapshotEvery;
  }

  /**
   * Reads the snapshot and the entries after it. Blocks.
   *
   * @throws IOException when etcd cannot be reached (retry later), or when its entries have a gap (acknowledged
   *                     data missing: refuse to act on a state that is not the one operators were told)
   */
  public static EtcdStateStore open(EtcdClient etcd, String prefix, Duration timeout) throws IOException {
    return open(etcd, prefix, timeout, SNAPSHOT_EVERY);
  }

  static EtcdStateStore open(EtcdClient etcd, String prefix, Duration timeout, int snapshotEvery)
      throws IOException {
    EtcdStateStore s = new EtcdStateStore(etcd, prefix, timeout, snapshotEvery);
    s.load0();
    return s;
  }

  /** etcd answered, but what it holds is not the acknowledged state: retrying will not help. */
  public static final class Damaged extends IOException {
    private static final long serialVersionUID = 1L;

    Damaged(String message) {
      super(message);
    }
  }

  /** Guards every write must also pass (the controller's leadership, once there are several). */
  public void guardWrites(Supplier<List<Cmp>> g) {
    this.guards = g;
  }

  /**
   * Guards every write with a leader's fence: a write the fence refuses throws {@link NotLeaderException} (the
   * controller forwards the command to the leader) instead of the {@link IOException} a conflict or an unreachable
   * etcd gets (answered 503).
   */
  public void guardWrites(WriteFence f) {
    this.guards = f;
    this.fence = f;
  }

  /** After a refused transaction: throws {@link NotLeaderException} when the fence is what refused it. */
  private void explainRefusal(String what) throws IOException {
    WriteFence f = fence;
    if (f == null) {
      return;
    }
    try {
      f.verify().toCompletionStage().toCompletableFuture().get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof NotLeaderException nl) {
        throw nl;
      }
      throw new IOException("etcd: " + what + " refused, and why could not be read: " + e.getCause().getMessage(),
          e.getCause());
    } catch (TimeoutException e) {
      throw new IOException("etcd: " + what + " refused, and why could not be read within " + timeout.toMillis()
          + " ms", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while reading why etcd refused " + what, e);
    }
  }

  String entryKey(long n) {
    return dir + "journal/" + String.format("%020d", n);
  }

  private <T> T await(Future<T> f, String what) throws IOException {
    try {
      return f.toCompletionStage().toCompletableFuture().get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IOException("etcd: " + what + " failed: " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IOException("etcd: " + what + " got no answer within " + timeout.toMillis() + " ms", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for etcd: " + what, e);
    }
  }

  private void load0() throws IOException {
    long t0 = System.nanoTime();
    KeyValue snap = await(etcd.get(dir + "snapshot"), "read " + dir + "snapshot").first();
    AdminState base = AdminState.EMPTY;
    if (snap != null) {
      JournalSnapshot js = JournalSnapshot.decode(gunzip(snap.value()));
      base = js.state();
      snapshotSeq = js.seq();
      js.audit().forEach(recent::add);
    }
    seq = snapshotSeq;
    List<KeyValue> entries = await(etcd.getPrefix(dir + "journal/"), "read " + dir + "journal/").kvs();
    StateDelta.Replay replay = new StateDelta.Replay(base);
    for (KeyValue kv : entries) {
      JournalEntry e;
      try {
        e = JournalEntry.decode(kv.value());
      } catch (IllegalArgumentException ex) {
        throw new Damaged("etcd " + kv.key() + ": unreadable entry (" + ex.getMessage() + "); refusing to start"
            + " on a state that is not the acknowledged one. Way out: restore the keys under " + dir
            + " from an etcd snapshot (etcdctl snapshot restore)");
      }
      if (e.seq() <= snapshotSeq) {
        continue; // covered by the snapshot (a compaction that deleted them is still to come)
      }
      if (e.seq() != seq + 1) {
        throw new Damaged("etcd " + dir + "journal/: entry " + (seq + 1) + " is missing (next present: "
            + e.seq() + "): acknowledged commands are gone; refusing to start. Way out: restore the keys under " + dir
            + " from an etcd snapshot, or delete them all to start with no operator overrides");
      }
      replay.apply(e.delta());
      recent.add(e.audit());
      seq = e.seq();
    }
    state = replay.state();
    LOG.info("controller state loaded from etcd {}: snapshot at entry {}, {} entries after it, revision {} ({} ms)",
        dir, snapshotSeq, seq - snapshotSeq, state.revision(), (System.nanoTime() - t0) / 1_000_000);
  }

  @Override
  public synchronized AdminState load() {
    return state;
  }

  @Override
  public synchronized void append(JsonObject auditEntry, AdminState after) throws IOException {
    long n = seq + 1;
    JournalEntry entry = new JournalEntry(n, auditEntry, StateDelta.between(state, after));
    byte[] bytes = entry.encodeVerified(state, after); // IllegalArgumentException: refused, nothing written
    List<Cmp> cmps = new ArrayList<>(guards.get());
    cmps.add(Cmp.absent(entryKey(n)));
    EtcdClient.TxnResult r = await(etcd.txn(cmps, List.of(Op.put(entryKey(n), bytes, 0)), List.of()),
        "append entry " + n);
    if (!r.succeeded()) {
      explainRefusal("entry " + n);
      throw new IOException("etcd: entry " + n + " was not written: another controller wrote it, or this one no"
          + " longer holds the leadership its writes are guarded by");
    }
    state = after;
    seq = n;
    recent.add(auditEntry);
    if (seq - snapshotSeq >= snapshotEvery) {
      try {
        snapshot();
      } catch (IOException | RuntimeException e) {
        // the entry is durable; the snapshot is retried after the next append
        LOG.warn("etcd snapshot of the controller state at entry {} failed: {}", seq, e.getMessage());
      }
    }
  }

  /** Replaces the snapshot and deletes the entries it covers, atomically. */
  private void snapshot() throws IOException {
    byte[] snap = gzip(new JournalSnapshot(seq, state, recent.all()).encodeVerified());
    List<Cmp> cmps = new ArrayList<>(guards.get());
    cmps.add(Cmp.modRevision(entryKey(seq), Cmp.Result.GREATER, 0)); // our last entry is still there
    EtcdClient.TxnResult r = await(etcd.txn(cmps, List.of(Op.put(dir + "snapshot", snap, 0),
        Op.deleteRange(dir + "journal/", entryKey(seq + 1))), List.of()), "snapshot at entry " + seq);
    if (!r.succeeded()) {
      explainRefusal("the snapshot at entry " + seq);
    } else {
      LOG.info("controller state snapshot at entry {} in etcd ({} bytes); entries up to it deleted", seq, snap.length);
      snapshotSeq = seq;
    }
  }

  @Override
  public synchronized List<JsonObject> audit(int limit) {
    return recent.last(limit);
  }

  @Override
  public void close() {
    // the etcd client belongs to the bus
  }

  private static byte[] gzip(byte[] b) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(b.length / 4 + 64);
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(b);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static byte[] gunzip(byte[] b) throws IOException {
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(b))) {
      return in.readAllBytes();
    }
  }
}
