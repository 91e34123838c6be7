package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.meridian.core.testing.SelfSignedPem;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** With admin.tls the admin API speaks only HTTPS (checked with curl). */
@ExtendWith(VertxExtension.class)
class AdminTlsTest {
  @Test
  void adminApiServesHttpsWithTheConfiguredCertificate(Vertx vertx, @TempDir Path dir) throws Exception {
    SelfSignedPem cert = SelfSignedPem.create(dir.resolve("tls"));
    String tls = "admin:\n  tls:\n    cert: " + cert.certificate() + "\n    key: " + cert.key() + "\n";
    try (TestDeployment d = new TestDeployment(vertx, dir, "", tls)) {
      String https = "https://127.0.0.1:" + d.role.adminPort();
      assertEquals("200", curl("-k", "-sS", "-o", "/dev/null", "-w", "%{http_code}", https + "/v1/regions"));
      String plain = curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:" + d.role.adminPort()
          + "/v1/regions");
      assertTrue(!plain.equals("200"), "plain HTTP must not be served: " + plain);
    }
  }

  private static String curl(String... args) throws Exception {
    var cmd = new java.util.ArrayList<>(java.util.List.of("curl", "--max-time", "10"));
    cmd.addAll(java.util.List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(15, TimeUnit.SECONDS));
    return out.trim();
  }
}
