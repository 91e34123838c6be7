package io.meridian.etcd;

import io.meridian.etcd.EtcdClient.Op;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * A candidate in its own JVM, for {@link LeaderElectionProcessTest}: campaigns, prints its events on stdout, and
 * once elected writes {@code {prefix}data} every 100 ms with its fence for as long as it lives, whether it still
 * leads or not: the worst case of a leader whose code never learns it was deposed. Each write prints
 * {@code WRITE n ok} or {@code WRITE n refused <exception class>}.
 *
 * <p>Arguments: etcd endpoint, key prefix, candidate id, lease TTL in seconds.
 */
public final class ElectionChild {
  public static void main(String[] args) {
    Vertx vertx = Vertx.vertx();
    EtcdClient etcd = EtcdClient.connect(vertx, EtcdOptions.of(List.of(args[0])));
    String prefix = args[1];
    LeaderElection election = LeaderElection.create(vertx, etcd, prefix, args[2],
        Duration.ofSeconds(Long.parseLong(args[3])), null);
    election.listen(new LeaderElection.Listener() {
      private boolean writing;
      private long n;

      @Override
      public void elected(long term) {
        System.out.println("ELECTED " + term);
        if (!writing) {
          writing = true;
          vertx.setPeriodic(100, t -> write());
        }
      }

      @Override
      public void deposed(String reason) {
        System.out.println("DEPOSED " + reason);
      }

      private void write() {
        long i = ++n;
        byte[] v = (args[2] + "-" + i).getBytes(StandardCharsets.UTF_8);
        etcd.txn(election.fence().get(), List.of(Op.put(prefix + "data", v, 0)), List.of())
            .compose(t -> t.succeeded() ? io.vertx.core.Future.succeededFuture()
                : election.fence().verify().compose(x -> io.vertx.core.Future.failedFuture(new IllegalStateException(
                    "conflict"))))
            .onComplete(ar -> System.out.println("WRITE " + i + (ar.succeeded() ? " ok"
                : " refused " + ar.cause().getClass().getSimpleName())));
      }
    });
    election.start();
  }
}
