package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.controller.cli.Ctl;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code meridian ctl} against a running controller's admin API. */
@ExtendWith(VertxExtension.class)
class CtlTest {
  @Test
  void statusDrainDryRunRefusalAndEvents(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "demand_estimates: {39N78W: 400}\n",
        TestDeployment.tokensYaml())) {
      d.evaluate();
      String admin = d.baseUrl();
      Out status = ctl("--admin", admin, "--token", "viewer-token", "status");
      assertEquals(0, status.code, status.err);
      assertTrue(status.out.contains("REGION") && status.out.contains("us-east"), status.out);
      assertTrue(status.out.matches("(?s).*us-east\\s+us\\s+UNKNOWN\\s+ACTIVE\\s+1\\.00\\s+400\\.0.*"), status.out);

      Out dry = ctl("--admin", admin, "--token", "operator-token", "drain", "us-east", "--reason", "patch",
          "--dry-run");
      assertEquals(0, dry.code, dry.err);
      assertTrue(dry.out.startsWith("DRY RUN: drain us-east"), dry.out);
      assertTrue(dry.out.matches("(?s).*us-central\\s+ACTIVE\\s+400\\.0\\s+800\\.0.*"), dry.out);

      Out weak = ctl("--admin", admin, "--token", "viewer-token", "fail", "us-west", "--reason", "x");
      assertEquals(Ctl.AUTH, weak.code);
      assertTrue(weak.err.startsWith("REFUSED (403 FORBIDDEN)"), weak.err);

      Out usage = ctl("--admin", admin, "drain", "us-east");
      assertEquals(2, usage.code);
      assertTrue(usage.err.contains("--reason is required"));

      CompletableFuture<Out> events = CompletableFuture.supplyAsync(() ->
          ctl("--admin", admin, "--token", "viewer-token", "events", "--count", "1"));
      Thread.sleep(300); // let the stream subscribe before the event happens
      Out drain = ctl("--admin", admin, "--token", "operator-token", "drain", "us-east", "--reason", "patch");
      assertEquals(0, drain.code, drain.err);
      assertTrue(drain.out.startsWith("APPLIED: drain us-east"), drain.out);
      Out ev = events.get(20, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(ev.out.contains("admin_drain") && ev.out.contains("olga: drain us-east: patch"), ev.out);
    }
  }

  record Out(int code, String out, String err) {}

  static Out ctl(String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int code = Ctl.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true,
        StandardCharsets.UTF_8));
    return new Out(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
  }
}
