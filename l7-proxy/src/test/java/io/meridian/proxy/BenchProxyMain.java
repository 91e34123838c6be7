package io.meridian.proxy;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import io.meridian.core.ControlBus;
import io.meridian.core.RoleContext;
import io.meridian.core.RoutingPlan;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.ops.OpsEndpoints;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Runs only the proxy role from a config file, for bench/proxy/run.sh (which pins it to one core). The
 * launcher's {@code meridian run --roles proxy} does the same plus the other wiring; this keeps the benchmark
 * independent of the launcher build. Native transport (epoll) as the launcher's {@code Main} sets it, so the
 * benchmark measures what production runs. Usage: {@code BenchProxyMain meridian.yaml [event-loops]}.
 */
public final class BenchProxyMain {
  private BenchProxyMain() {}

  public static void main(String[] args) throws Exception {
    MeridianConfig cfg = ConfigLoader.load(Path.of(args[0]));
    int loops = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    System.setProperty("meridian.proxy.eventLoops", Integer.toString(loops));
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(loops).setWorkerPoolSize(2));
    ControlBus bus = ControlBus.inProcess(RoutingPlan.initial(cfg));
    ProxyRole role = ProxyRole.create(new RoleContext(vertx, cfg, bus, GeoLocator.open(vertx, cfg.geo()),
        OpsEndpoints.create(vertx, "proxy")));
    role.start().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    System.out.println("READY " + role.port() + " native=" + vertx.isNativeTransportEnabled());
    Thread.currentThread().join();
  }
}
