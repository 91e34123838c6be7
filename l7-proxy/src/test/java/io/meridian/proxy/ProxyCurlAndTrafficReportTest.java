package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.TrafficReport;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** curl (a real, independent client) through the proxy, and the demand report the controller plans from. */
class ProxyCurlAndTrafficReportTest {
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed(null, null);
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  private String curl(String... args) throws Exception {
    String[] cmd = new String[args.length + 3];
    cmd[0] = "curl";
    cmd[1] = "-sS";
    cmd[2] = "-i";
    System.arraycopy(args, 0, cmd, 3, args.length);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertTrue(p.waitFor(20, TimeUnit.SECONDS), "curl timed out");
    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void curlGetsTheNearestRegionWithForwardingHeaders() throws Exception {
    String out = curl("http://127.0.0.1:" + bed.proxy.port() + "/hello");
    assertTrue(out.startsWith("HTTP/1.1 200"), out);
    assertTrue(out.toLowerCase().contains("x-meridian-region: eu-west"), out);
    assertTrue(out.endsWith("hello from eu-west"), out);
    String post = curl("-X", "POST", "--data-binary", "x".repeat(70_000), "-H", "Expect: 100-continue",
        "http://127.0.0.1:" + bed.proxy.port() + "/upload");
    assertTrue(post.contains("HTTP/1.1 200"), post);
  }

  @Test
  void demandPerZoneAndRegionIsPublished() throws Exception {
    CompletableFuture<TrafficReport> report = new CompletableFuture<>();
    bed.bus.onTraffic(r -> {
      if (!r.zoneRps().isEmpty()) {
        report.complete(r);
      }
    });
    for (int i = 0; i < 10; i++) {
      assertEquals(200, bed.get("/x").statusCode());
    }
    TrafficReport r = report.get(15, TimeUnit.SECONDS); // reports every 5 s
    assertTrue(r.zoneRps().getOrDefault("50N8E", 0.0) > 0, r.toString()); // Frankfurt's 1° zone (nets override)
    assertTrue(r.regionRps().getOrDefault("eu-west", 0.0) > 0, r.toString());
    assertEquals(0.0, r.regionErrors().get("eu-west"));
  }
}
