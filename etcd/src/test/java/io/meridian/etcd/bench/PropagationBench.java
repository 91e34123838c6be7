package io.meridian.etcd.bench;

import io.meridian.core.Health;
import io.meridian.core.HomeAssignments;
import io.meridian.core.Lifecycle;
import io.meridian.core.RegionState;
import io.meridian.core.RoutingPlan;
import io.meridian.core.Topology;
import io.meridian.core.ZoneRoute;
import io.meridian.core.ZoneRoutes;
import io.meridian.core.geo.Zones;
import io.meridian.etcd.EtcdClient;
import io.meridian.etcd.EtcdControlBus;
import io.meridian.etcd.EtcdOptions;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Plan propagation over etcd: one publisher (the controller's code path, {@link EtcdControlBus#publishPlan}) and
 * N watcher processes (the data planes' code path, {@link EtcdControlBus#onPlan}). For each version it reports
 * the time from the publish call (encode, chunk upload, guarded meta write) until the LAST watcher applied it.
 *
 * <pre>
 *   java -cp ... PropagationBench ENDPOINT WATCHERS ZONES REGIONS PLANS     # publisher; spawns the watchers
 *   java -cp ... PropagationBench --watch ENDPOINT PREFIX                   # one watcher
 * </pre>
 */
public final class PropagationBench {
  /** Versions published before measuring (-Dwarmup=N): each process decodes one plan per version. */
  static final int WARMUP_VERSIONS = Integer.getInteger("warmup", 100);

  private PropagationBench() {}

  static long epochMicros() {
    Instant i = Instant.now();
    return i.getEpochSecond() * 1_000_000 + i.getNano() / 1000;
  }

  public static void main(String[] args) throws Exception {
    if (args[0].equals("--watch")) {
      watch(args[1], args[2]);
      return;
    }
    String endpoint = args[0];
    int watchers = Integer.parseInt(args[1]);
    int zones = Integer.parseInt(args[2]);
    int regions = Integer.parseInt(args[3]);
    int plans = Integer.parseInt(args[4]);
    String prefix = "/bench-" + zones + "x" + regions + "-" + System.nanoTime() + "/";
    Vertx vertx = Vertx.vertx();
    EtcdClient etcd = EtcdClient.connect(vertx, EtcdOptions.of(List.of(endpoint)));
    RoutingPlan first = plan(1, zones, regions, new Random(1));
    EtcdControlBus bus = EtcdControlBus.open(vertx, etcd, prefix, Duration.ofSeconds(5), first)
        .await(30, TimeUnit.SECONDS);
    Map<Long, Long> applied = new ConcurrentHashMap<>(); // version -> watchers that applied it
    Map<Long, Long> lastApply = new ConcurrentHashMap<>(); // version -> latest apply time (µs)
    List<Process> procs = new ArrayList<>();
    List<Long> decodeMs = java.util.Collections.synchronizedList(new ArrayList<>());
    String javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
    java.util.concurrent.CountDownLatch ready = new java.util.concurrent.CountDownLatch(watchers);
    for (int i = 0; i < watchers; i++) {
      Process p = new ProcessBuilder(javaBin, "-Xmx512m", "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"),
          PropagationBench.class.getName(), "--watch", endpoint, prefix).redirectErrorStream(true).start();
      procs.add(p);
      Thread t = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = r.readLine()) != null) {
            if (line.equals("ready")) {
              ready.countDown();
            } else if (line.contains("read and decoded in ")) {
              String ms = line.substring(line.indexOf("read and decoded in ") + 20);
              decodeMs.add(Long.parseLong(ms.substring(0, ms.indexOf(' '))));
            } else if (line.startsWith("applied ")) {
              String[] f = line.split(" ");
              long v = Long.parseLong(f[1]);
              applied.merge(v, 1L, Long::sum);
              lastApply.merge(v, Long.parseLong(f[2]), Math::max);
            }
          }
        } catch (java.io.IOException ignored) {
          // process ended
        }
      });
      t.setDaemon(true);
      t.start();
    }
    if (!ready.await(120, TimeUnit.SECONDS)) {
      throw new IllegalStateException("watchers did not start");
    }
    Random rnd = new Random(2);
    // warm-up, not measured: each process decodes one plan per version, so its JIT needs a few dozen versions
    // before the decoding runs compiled (a data plane that has run for a while); the first plans after a start
    // take several times longer
    long version = 1;
    for (int i = 0; i < WARMUP_VERSIONS; i++) {
      version++;
      bus.publishPlan(plan(version, zones, regions, rnd)).await(30, TimeUnit.SECONDS);
      Thread.sleep(300);
    }
    long[] latencies = new long[plans];
    long[] afterAck = new long[plans];
    long bytes = 0;
    for (int i = 0; i < plans; i++) {
      version++;
      RoutingPlan p = plan(version, zones, regions, rnd);
      long t0 = epochMicros();
      bus.publishPlan(p).await(30, TimeUnit.SECONDS);
      long acked = epochMicros();
      bytes = bus.lastPlanBytes();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (applied.getOrDefault(version, 0L) < watchers && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      if (applied.getOrDefault(version, 0L) < watchers) {
        throw new IllegalStateException("v" + version + " reached " + applied.getOrDefault(version, 0L) + " of "
            + watchers + " watchers within 30 s");
      }
      latencies[i] = lastApply.get(version) - t0;
      afterAck[i] = Math.max(0, lastApply.get(version) - acked);
      Thread.sleep(200);
    }
    Arrays.sort(latencies);
    Arrays.sort(afterAck);
    System.out.printf("plan %d zones x %d regions: %d bytes encoded (deflated binary), %s; %d watcher processes;"
            + " %d plans%n", zones, regions, bytes, bytes <= 1024 * 1024 ? "inline (plan/current.bytes)"
            : (bytes + 512 * 1024 - 1) / (512 * 1024) + " chunks", watchers, plans);
    System.out.printf("publish-to-applied-in-every-watcher: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%n",
        pct(latencies, 0.50) / 1000.0, pct(latencies, 0.90) / 1000.0, pct(latencies, 0.99) / 1000.0,
        latencies[latencies.length - 1] / 1000.0);
    System.out.printf("etcd-commit-acknowledged-to-applied-in-every-watcher: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms,"
            + " max %.1f ms%n", pct(afterAck, 0.50) / 1000.0, pct(afterAck, 0.90) / 1000.0, pct(afterAck, 0.99) / 1000.0,
        afterAck[afterAck.length - 1] / 1000.0);
    List<Long> d = new ArrayList<>(decodeMs.subList(Math.max(0, decodeMs.size() - plans * watchers), decodeMs.size()));
    java.util.Collections.sort(d);
    if (!d.isEmpty()) {
      System.out.printf("in each watcher, from the watch event to the plan applied (read, checksum, decode): p50 %d ms,"
          + " p99 %d ms%n", d.get(d.size() / 2), d.get(Math.min(d.size() - 1, (int) (d.size() * 0.99))));
    }
    procs.forEach(Process::destroy);
    etcd.deletePrefix(prefix).await(30, TimeUnit.SECONDS);
    bus.close();
    etcd.close();
    vertx.close().await(10, TimeUnit.SECONDS);
    System.exit(0);
  }

  static long pct(long[] sorted, double q) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
  }

  static void watch(String endpoint, String prefix) throws Exception {
    Vertx vertx = Vertx.vertx();
    EtcdClient etcd = EtcdClient.connect(vertx, EtcdOptions.of(List.of(endpoint)));
    RoutingPlan none = plan(0, 1, 1, new Random(0));
    EtcdControlBus bus = EtcdControlBus.open(vertx, etcd, prefix, Duration.ofSeconds(5), none)
        .await(30, TimeUnit.SECONDS);
    bus.onPlan(p -> {
      if (p.version() > 0) {
        System.out.println("applied " + p.version() + " " + epochMicros());
      }
    });
    System.out.println("ready");
    Thread.sleep(Long.MAX_VALUE);
  }

  /** A plan of {@code regions} regions and {@code zones} split zones (every one with three weighted choices). */
  public static RoutingPlan plan(long version, int zones, int regions, Random rnd) {
    List<String> ids = new ArrayList<>();
    double[] lat = new double[regions];
    double[] lon = new double[regions];
    List<RegionState> states = new ArrayList<>();
    for (int i = 0; i < regions; i++) {
      ids.add("region-" + i);
      lat[i] = -60 + 120.0 * i / Math.max(1, regions);
      lon[i] = -180 + 360.0 * ((i * 37) % regions) / Math.max(1, regions);
      states.add(new RegionState(ids.get(i), lat[i], lon[i], "global", Health.HEALTHY, Lifecycle.ACTIVE, 10000,
          rnd.nextInt(9000), 1.0));
    }
    Map<String, ZoneRoute> routes = new LinkedHashMap<>();
    int step = Zones.COUNT / Math.max(1, zones);
    for (int z = 0; z < zones && regions > 0; z++) {
      String id = Zones.id(z * step);
      List<ZoneRoute.Choice> choices = new ArrayList<>();
      for (int c = 0; c < Math.min(3, regions); c++) {
        choices.add(new ZoneRoute.Choice(ids.get((z + c * 7) % regions), Math.round(rnd.nextDouble() * 1000) / 1000.0 + 0.001));
      }
      routes.put(id, new ZoneRoute(id, choices));
    }
    return new RoutingPlan(version, Instant.now(), "benchmark plan v" + version, Topology.of(ids, lat, lon), states,
        zones > 1 ? ZoneRoutes.of(routes) : ZoneRoutes.NONE, HomeAssignments.NONE, 0);
  }


}
