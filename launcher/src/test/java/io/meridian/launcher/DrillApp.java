package io.meridian.launcher;

import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A region's application for the failover drill, in its own JVM so that "kill -9 the region's app" is real: the
 * demo's {@link DemoApp} (it answers every request with its region's name and header {@code X-App-Region}, and
 * {@code /healthz}) on HOST:PORT until the process is killed.
 *
 * <pre>java -cp TEST_CLASS_PATH io.meridian.launcher.DrillApp us-east 127.0.0.1 18081</pre>
 */
public final class DrillApp {
  private DrillApp() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: DrillApp REGION HOST PORT");
      System.exit(2);
    }
    Vertx vertx = Vertx.vertx();
    DemoApp.create(vertx, args[0], List.of()).listen(args[1], Integer.parseInt(args[2])).await(30, TimeUnit.SECONDS);
    System.out.println("drill app " + args[0] + " listening on " + args[1] + ":" + args[2]);
    // Vert.x's event loop threads keep the JVM running until it is killed
  }
}
