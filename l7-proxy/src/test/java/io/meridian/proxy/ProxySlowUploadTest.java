package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Uploads slower than the response timeout: the timeout runs from the end of the request body, not from its
 * head, so curl at a limited rate gets the upstream's 200 (on both transports), and a slow upload counts nothing
 * against the origin. A body that stalls is cut by the body idle timeout with 408, and the upstream never
 * receives it as a whole request.
 */
class ProxySlowUploadTest {
  /** 1 s response timeout, 600 KB at 200 KB/s: the upload alone takes 3 s. */
  private static final String YAML = """
      response_timeout: 1s
      limits: {body_idle_timeout: 500ms}
      outlier_detection: {consecutive_failures: 1}
      """;
  private static final int SIZE = 600 * 1024;

  private final AtomicInteger completeBodies = new AtomicInteger();

  private Testbed bed() throws Exception {
    return new Testbed(YAML, req -> req.body().onSuccess(b -> {
      completeBodies.incrementAndGet();
      req.response().end("got " + b.length() + " bytes");
    }));
  }

  private static String curl(String... args) throws Exception {
    String[] cmd = new String[args.length + 3];
    cmd[0] = "curl";
    cmd[1] = "-sS";
    cmd[2] = "-i";
    System.arraycopy(args, 0, cmd, 3, args.length);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "curl timed out");
    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }

  private void slowCurlUploadGets200(Testbed bed) throws Exception {
    Path file = Files.createTempFile("upload", ".bin");
    try {
      Files.write(file, new byte[SIZE]);
      String out = curl("--limit-rate", "200k", "-H", "Expect:", "--data-binary", "@" + file,
          "http://127.0.0.1:" + bed.proxy.port() + "/upload");
      assertTrue(out.startsWith("HTTP/1.1 200"), out);
      assertTrue(out.endsWith("got " + SIZE + " bytes"), out);
      assertEquals(0, bed.metric("meridian_proxy_upstream_ejections_total{region=\"eu-west\",upstream=\""
          + "http://127.0.0.1:" + bed.upstreamPorts.get("eu-west") + "\"}"));
    } finally {
      Files.delete(file);
    }
  }

  @Test
  void slowUploadOnTheHttp11PathGets200() throws Exception {
    try (Testbed bed = bed()) {
      slowCurlUploadGets200(bed);
    }
  }

  @Test
  void slowUploadOnTheVertxPathGets200() throws Exception {
    System.setProperty("meridian.proxy.engine", "vertx");
    try (Testbed bed = bed()) {
      System.clearProperty("meridian.proxy.engine");
      slowCurlUploadGets200(bed);
    } finally {
      System.clearProperty("meridian.proxy.engine");
    }
  }

  @Test
  void stalledBodyIsCutWith408AndNeverReachesTheUpstreamWhole() throws Exception {
    try (Testbed bed = bed()) {
      RawHttp.Result r = RawHttp.exchange(bed.proxy.port(), "POST /stall HTTP/1.1\r\nHost: x\r\n"
          + "Content-Length: 1000\r\n\r\n" + "a".repeat(100), 5000);
      assertTrue(r.statusLine().startsWith("HTTP/1.1 408"), r.text());
      assertTrue(r.text().contains("body_timeout"), r.text());
      assertTrue(r.closed(), "connection closed after the 408");
      assertEquals(0, completeBodies.get(), "the upstream got no complete body");
      assertEquals(1, bed.metric("meridian_proxy_refused_total{outcome=\"body_timeout\"}"));
      assertEquals(200, bed.get("/after").statusCode(), "the origin is not ejected for the client's stall");
    }
  }
}
