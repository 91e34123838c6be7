package io.meridian.etcd.impl;

import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchProgressRequest;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.meridian.etcd.EtcdClient;
import io.vertx.grpc.client.GrpcClientRequest;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A watch of one key prefix that never silently stops. It resumes after the last revision it delivered
 * whenever its stream ends (etcd restarted, endpoint lost, leader change); it asks etcd for a progress
 * notification every {@link #LIVENESS_MS} and reopens the stream when none arrives in time, because a paused or
 * partitioned etcd leaves a TCP connection open without telling anyone; and when etcd has compacted the
 * revisions it would resume from, it has the owner re-read the prefix instead of skipping the gap.
 */
final class PrefixWatch implements EtcdClient.Subscription {
  private static final Logger LOG = LoggerFactory.getLogger(PrefixWatch.class);
  /** A stream with no answer to a progress request for this long is treated as dead. */
  static final long LIVENESS_MS = 2000;
  private static final long MAX_BACKOFF_MS = 2000;

  private final GrpcEtcdClient client;
  private final String prefix;
  private final EtcdClient.WatchListener listener;
  /** The next revision to receive: every revision below it has been delivered. */
  private volatile long nextRevision;
  private volatile boolean cancelled;
  private GrpcClientRequest<WatchRequest, WatchResponse> stream;
  private long generation;
  private long lastHeard;
  private long livenessTimer = -1;
  private long backoffMs = 50;
  private boolean up;

  private PrefixWatch(GrpcEtcdClient client, String prefix, long fromRevision, EtcdClient.WatchListener listener) {
    this.client = client;
    this.prefix = prefix;
    this.listener = listener;
    this.nextRevision = fromRevision;
  }

  static PrefixWatch start(GrpcEtcdClient client, String prefix, long fromRevision,
      EtcdClient.WatchListener listener) {
    PrefixWatch w = new PrefixWatch(client, prefix, fromRevision, listener);
    client.vertx().runOnContext(v -> w.open());
    return w;
  }

  private synchronized void open() {
    if (cancelled || client.isClosed()) {
      return;
    }
    long gen = ++generation;
    client.openWatchStream().onComplete(ar -> {
      if (ar.failed()) {
        lost(gen, ar.cause());
        return;
      }
      GrpcClientRequest<WatchRequest, WatchResponse> req = ar.result();
      synchronized (this) {
        if (gen != generation || cancelled) {
          req.cancel();
          return;
        }
        stream = req;
        lastHeard = System.nanoTime();
      }
      req.exceptionHandler(e -> lost(gen, e));
      WatchCreateRequest.Builder create = WatchCreateRequest.newBuilder()
          .setKey(GrpcEtcdClient.bytes(prefix)).setRangeEnd(GrpcEtcdClient.prefixEnd(prefix))
          .setProgressNotify(true);
      if (nextRevision > 0) {
        create.setStartRevision(nextRevision);
      }
      req.write(WatchRequest.newBuilder().setCreateRequest(create).build());
      req.response().onComplete(rar -> {
        if (rar.failed()) {
          lost(gen, rar.cause());
          return;
        }
        var resp = rar.result();
        resp.handler(r -> onResponse(gen, r));
        resp.exceptionHandler(e -> lost(gen, e));
        resp.endHandler(v -> lost(gen, new IllegalStateException("watch stream ended: " + resp.status() + " "
            + resp.statusMessage())));
      });
      scheduleLiveness(gen);
    });
  }

  private void scheduleLiveness(long gen) {
    livenessTimer = client.vertx().setTimer(LIVENESS_MS, id -> {
      GrpcClientRequest<WatchRequest, WatchResponse> s;
      synchronized (this) {
        if (gen != generation || cancelled) {
          return;
        }
        if (System.nanoTime() - lastHeard > 2 * LIVENESS_MS * 1_000_000) {
          lost(gen, new IllegalStateException("no answer from etcd for " + 2 * LIVENESS_MS + " ms"));
          return;
        }
        s = stream;
      }
      s.write(WatchRequest.newBuilder().setProgressRequest(WatchProgressRequest.getDefaultInstance()).build());
      scheduleLiveness(gen);
    });
  }

  private void onResponse(long gen, WatchResponse r) {
    synchronized (this) {
      if (gen != generation || cancelled) {
        return;
      }
      lastHeard = System.nanoTime();
    }
    if (r.getCompactRevision() > 0) {
      // The revisions we would resume from are compacted away: re-read, then watch from the read revision.
      LOG.warn("etcd watch of {} fell behind compaction (revision {} compacted at {}); re-reading", prefix,
          nextRevision, r.getCompactRevision());
      closeStream(gen);
      listener.resync().onComplete(ar -> {
        if (ar.succeeded()) {
          nextRevision = ar.result() + 1;
          open();
        } else {
          lost(gen + 1, ar.cause());
        }
      });
      return;
    }
    if (r.getCanceled()) {
      lost(gen, new IllegalStateException("etcd cancelled the watch: " + r.getCancelReason()));
      return;
    }
    if (r.getCreated()) {
      backoffMs = 50;
      if (nextRevision == 0) {
        // a watch "from now": pin "now", so a reconnect resumes here instead of skipping what happened between
        nextRevision = r.getHeader().getRevision() + 1;
      }
      if (!up) {
        up = true;
        listener.onConnection(true);
      }
    }
    if (r.getEventsCount() > 0) {
      List<EtcdClient.Event> events = new ArrayList<>(r.getEventsCount());
      long last = 0;
      for (Event e : r.getEventsList()) {
        events.add(new EtcdClient.Event(e.getType() == Event.EventType.DELETE, GrpcEtcdClient.kv(e.getKv())));
        last = Math.max(last, e.getKv().getModRevision());
      }
      nextRevision = Math.max(nextRevision, last + 1);
      try {
        listener.onEvents(events, last);
      } catch (RuntimeException ex) {
        LOG.error("etcd watch listener of {} failed", prefix, ex);
      }
    } else if (r.getHeader().getRevision() > 0 && !r.getCreated()) {
      // a progress notification: every change up to this revision has been sent
      nextRevision = Math.max(nextRevision, r.getHeader().getRevision() + 1);
    }
  }

  private void lost(long gen, Throwable why) {
    synchronized (this) {
      if (gen != generation || cancelled) {
        return;
      }
      generation++; // ignore whatever the old stream still says
      if (stream != null) {
        stream.cancel();
        stream = null;
      }
    }
    if (up) {
      up = false;
      LOG.warn("etcd watch of {} lost ({}); resuming from revision {}", prefix, why.getMessage(), nextRevision);
      listener.onConnection(false);
    } else {
      LOG.debug("etcd watch of {}: {}", prefix, why.toString());
    }
    if (why instanceof io.meridian.etcd.EtcdException ee && ee.status() == 16) {
      client.invalidateToken();
    }
    client.rotate();
    long delay = backoffMs;
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    if (!cancelled && !client.isClosed()) {
      client.vertx().setTimer(delay, id -> open());
    }
  }

  private synchronized void closeStream(long gen) {
    if (gen == generation) {
      generation++;
      if (stream != null) {
        stream.cancel();
        stream = null;
      }
    }
  }

  @Override
  public synchronized void cancel() {
    cancelled = true;
    generation++;
    if (livenessTimer >= 0) {
      client.vertx().cancelTimer(livenessTimer);
    }
    if (stream != null) {
      stream.cancel();
      stream = null;
    }
  }
}
