package io.meridian.launcher;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Fixed-rate HTTP load through the drill's proxies: idempotent GETs from clients on three continents, spread evenly
 * over the proxies and over 256 client /24s per continent. Each request names its client in X-Forwarded-For, which
 * the proxies trust one hop deep (they stand behind a load balancer of ours, as it were).
 *
 * <p>Open loop: requests go out on schedule whatever the answers' latency, so a stalled proxy or region shows as
 * latency and failures, not as a lower rate. Every request is recorded: when it was sent, through which proxy, for
 * which continent, its status, the region whose app answered (the app's {@code X-App-Region} header) and its
 * latency. A failure is any answer other than 2xx, or a transport error (no answer within the timeout included).
 */
final class DrillLoad {
  /** The client continents; continent i's clients are 10.(i+1).0.0/16, as the drill config's geo.nets place them. */
  static final List<String> CONTINENTS = List.of("NA", "EU", "AS");
  static final int SUBNETS_PER_CONTINENT = 256;
  private static final int TIMER_MS = 2;
  private static final int CATCH_UP_MS = 20;

  /**
   * One request.
   *
   * @param region  the region whose app answered, or null (the proxy answered itself, or no answer)
   * @param failure null for a 2xx answer; else the status and the proxy's error, or the transport error
   */
  record Sample(long sentMicros, int proxy, int continent, int status, String region, int latencyMicros,
      String failure) {
    boolean failed() {
      return failure != null;
    }
  }

  private final Vertx vertx;
  private final HttpClientAgent client;
  private final List<Integer> proxyPorts;
  private final double rps;
  private final long timeoutMs;
  private final List<Sample> samples = new ArrayList<>();
  private final AtomicInteger outstanding = new AtomicInteger();
  private volatile long timer = -1;
  private long startNanos;
  private long sent;
  private volatile long skipped;
  /** {when, how many} of each stall's requests not sent. */
  private final List<long[]> skips = new ArrayList<>();

  DrillLoad(Vertx vertx, List<Integer> proxyPorts, double rps, long timeoutMs) {
    this.vertx = vertx;
    this.proxyPorts = List.copyOf(proxyPorts);
    this.rps = rps;
    this.timeoutMs = timeoutMs;
    // keep-alive connections as a load balancer keeps them; enough per proxy that none waits for a connection
    this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(64).setMaxWaitQueueSize(10_000));
  }

  static String clientAddress(int continent, long seq) {
    int subnet = (int) ((seq / 9) % SUBNETS_PER_CONTINENT);
    return "10." + (continent + 1) + "." + subnet + "." + (1 + seq % 200);
  }

  double rps() {
    return rps;
  }

  void start() {
    vertx.runOnContext(v -> {
      startNanos = System.nanoTime();
      timer = vertx.setPeriodic(TIMER_MS, id -> tick());
    });
  }

  /** Runs on one event loop: {@link #sent} needs no lock. */
  private void tick() {
    long due = (long) ((System.nanoTime() - startNanos) * rps / 1e9);
    long backlog = due - sent;
    // A stall of the drill's own JVM (a GC, the machine's other load) is not replayed as one burst, which would be
    // the driver's artefact, not the clients' (a constant rate is the load asked for). A timer that fires a few
    // milliseconds late is normal on a loaded machine: up to 20 ms of backlog is sent at once; beyond that the
    // backlog is dropped and counted, so the report can say the rate was not held.
    long maxBurst = Math.max(1, (long) Math.ceil(rps * CATCH_UP_MS / 1000.0));
    if (backlog > maxBurst) {
      skipped += backlog - maxBurst;
      synchronized (skips) {
        skips.add(new long[] {DrillClock.now(), backlog - maxBurst});
      }
      sent += backlog - maxBurst;
      backlog = maxBurst;
    }
    for (long i = 0; i < backlog; i++) {
      send(sent++);
    }
  }

  private void send(long seq) {
    int continent = (int) (seq % CONTINENTS.size());
    int proxy = (int) ((seq / CONTINENTS.size()) % proxyPorts.size());
    long sentMicros = DrillClock.now();
    long t0 = System.nanoTime();
    outstanding.incrementAndGet();
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1")
        .setPort(proxyPorts.get(proxy)).setURI("/drill/" + seq)
        .putHeader("X-Forwarded-For", clientAddress(continent, seq))
        .setConnectTimeout(timeoutMs).setIdleTimeout(timeoutMs);
    client.request(o)
        .compose(req -> req.send().compose(resp -> resp.body().map(body -> {
          int status = resp.statusCode();
          String failure = status >= 200 && status < 300 ? null : "HTTP " + status + " " + errorOf(body.toString());
          return new Sample(sentMicros, proxy, continent, status, resp.getHeader("X-App-Region"),
              (int) ((System.nanoTime() - t0) / 1000), failure);
        })))
        .onComplete(ar -> {
          Sample s = ar.succeeded() ? ar.result() : new Sample(sentMicros, proxy, continent, 0, null,
              (int) ((System.nanoTime() - t0) / 1000), ar.cause().getClass().getSimpleName() + ": "
              + ar.cause().getMessage());
          synchronized (samples) {
            samples.add(s);
          }
          outstanding.decrementAndGet();
        });
  }

  /** The proxy's JSON error ({@code over_capacity}, {@code no_region}, ...) or the start of another body. */
  private static String errorOf(String body) {
    try {
      JsonObject j = new JsonObject(body);
      return j.getString("error", body);
    } catch (RuntimeException notJson) {
      String b = body.strip();
      return b.length() > 80 ? b.substring(0, 80) : b;
    }
  }

  /** Stops sending and waits (bounded) for the answers still outstanding. */
  void stop() throws Exception {
    long t = timer;
    if (t >= 0) {
      vertx.cancelTimer(t);
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs + 5000);
    while (outstanding.get() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    client.close().await(10, TimeUnit.SECONDS);
  }

  /** Requests dropped from the schedule because the drill's own JVM stalled (see {@link #tick}). */
  long skipped() {
    return skipped;
  }

  /** Requests not sent on schedule between the two times (see {@link #tick}). */
  long skipped(long fromMicros, long toMicros) {
    synchronized (skips) {
      return skips.stream().filter(x -> x[0] >= fromMicros && x[0] < toMicros).mapToLong(x -> x[1]).sum();
    }
  }

  List<Sample> samples() {
    synchronized (samples) {
      return new ArrayList<>(samples);
    }
  }

  /** Answered requests sent since {@code sinceMicros} that match {@code p} (for the drill's waits). */
  long count(long sinceMicros, Predicate<Sample> p) {
    long n = 0;
    synchronized (samples) {
      // answers arrive roughly in send order: walk back until well before the window (the timeout bounds it)
      long stopAt = sinceMicros - (timeoutMs + 1000) * 1000;
      for (int i = samples.size() - 1; i >= 0; i--) {
        Sample s = samples.get(i);
        if (s.sentMicros() < stopAt) {
          break;
        }
        if (s.sentMicros() >= sinceMicros && p.test(s)) {
          n++;
        }
      }
    }
    return n;
  }
}
