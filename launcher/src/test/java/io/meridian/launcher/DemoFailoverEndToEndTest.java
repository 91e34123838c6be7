package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.HealthCheckConfig;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The demo layout end to end, with real clients: dig asks GeoDNS as clients on three continents (EDNS Client
 * Subnet), curl goes through the proxy from loopback addresses the demo places in Europe and the US. Breaking
 * us-east must move both away within the configured detection time, and recovery must bring them back.
 */
class DemoFailoverEndToEndTest {
  static final String NAME = "www.demo.meridian.test";
  static final String US = "198.51.100.0/24";
  static final String EU = "203.0.113.0/24";
  static final String IN = "192.0.2.0/24";

  static Vertx vertx;
  static Demo demo;

  @BeforeAll
  static void startDemo() throws Exception {
    vertx = Vertx.vertx();
    Path dir = Files.createTempDirectory("meridian-e2e");
    demo = Demo.start(vertx, dir, Demo.Ports.ephemeral()).await(60, TimeUnit.SECONDS);
    // ready when DNS answers at all
    awaitValue(() -> Cli.digA(demo.ports().dns(), NAME, US), "127.0.10.1", Duration.ofSeconds(20));
  }

  @AfterAll
  static void stopDemo() throws Exception {
    if (demo != null) {
      demo.stop().await(20, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().await(20, TimeUnit.SECONDS);
    }
  }

  String proxyUrl() {
    return "http://127.0.0.1:" + demo.ports().proxy() + "/hello";
  }

  @Test
  void clientsGetTheirNearestRegionThenFailoverAndFailback() throws Exception {
    int dns = demo.ports().dns();
    assertEquals("127.0.10.1", Cli.digA(dns, NAME, US), "US client → us-east");
    assertEquals("127.0.20.1", Cli.digA(dns, NAME, EU), "European client → eu-west");
    assertEquals("127.0.30.1", Cli.digA(dns, NAME, IN), "Indian client → ap-south");
    assertEquals("hello from eu-west", Cli.curl("127.0.0.1", proxyUrl()), "127.0.0.1 is placed in Europe");
    assertEquals("hello from us-east", Cli.curl("127.0.0.2", proxyUrl()), "127.0.0.2 is placed in the US");

    HealthCheckConfig hc = demo.node().configWatcher().current().healthCheck();
    Duration detection = hc.interval().multipliedBy(hc.fall()).plus(hc.timeout()).plus(hc.reportInterval());
    // The bound is the configured detection time; one extra second absorbs scheduling noise on a
    // loaded 2-core CI machine (controller evaluation, the client's own round trip).
    Duration bound = detection.plusSeconds(1);

    long start = System.nanoTime();
    demo.app("us-east").setBroken(true);
    Duration dnsMoved = awaitChange(() -> Cli.digA(dns, NAME, US), "127.0.10.1", Duration.ofSeconds(15));
    Duration proxyMoved = awaitChange(() -> Cli.curl("127.0.0.2", proxyUrl()), "hello from us-east",
        Duration.ofSeconds(15));
    Duration proxyMovedSinceBreak = Duration.ofNanos(System.nanoTime() - start);
    System.out.printf("us-east broken: DNS moved after %d ms, proxy after %d ms (detection budget %d ms)%n",
        dnsMoved.toMillis(), proxyMovedSinceBreak.toMillis(), detection.toMillis());
    assertTrue(dnsMoved.compareTo(bound) <= 0, "DNS moved after " + dnsMoved.toMillis() + " ms > " + bound.toMillis());
    assertTrue(proxyMovedSinceBreak.compareTo(bound) <= 0,
        "proxy moved after " + proxyMovedSinceBreak.toMillis() + " ms > " + bound.toMillis());
    String usAnswer = Cli.digA(dns, NAME, US);
    assertTrue(usAnswer.equals("127.0.20.1") || usAnswer.equals("127.0.30.1"), "US client now: " + usAnswer);
    String body = Cli.curl("127.0.0.2", proxyUrl());
    assertTrue(body.equals("hello from eu-west") || body.equals("hello from ap-south"), "US client via proxy: " + body);
    assertEquals("127.0.20.1", Cli.digA(dns, NAME, EU), "Europe is unaffected");

    demo.app("us-east").setBroken(false);
    // back after rise × interval, the failback hold-down and the ramp
    awaitValue(() -> Cli.digA(dns, NAME, US), "127.0.10.1", Duration.ofSeconds(30));
    awaitValue(() -> Cli.curl("127.0.0.2", proxyUrl()), "hello from us-east", Duration.ofSeconds(30));
  }

  /** Polls until the value differs from {@code from}; returns how long that took. */
  static Duration awaitChange(Supplier<String> probe, String from, Duration max) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + max.toNanos();
    String v = probe.get();
    while (v.equals(from)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("still '" + from + "' after " + max);
      }
      Thread.sleep(50);
      v = probe.get();
    }
    return Duration.ofNanos(System.nanoTime() - start);
  }

  static void awaitValue(Supplier<String> probe, String expected, Duration max) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    String v = probe.get();
    while (!v.equals(expected)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("expected '" + expected + "' within " + max + ", last was '" + v + "'");
      }
      Thread.sleep(100);
      v = probe.get();
    }
  }
}
