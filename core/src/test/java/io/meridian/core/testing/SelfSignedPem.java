package io.meridian.core.testing;

import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A self-signed certificate for {@code localhost} and {@code 127.0.0.1} (P-256 key) and its private key, as PEM
 * files that {@code openssl} writes at test time. Replaces Vert.x's {@code SelfSignedCertificate}, which Vert.x 5.1
 * deprecated for removal (it needs JDK-internal or Bouncy Castle classes that stock JDKs do not always have);
 * {@code openssl} is what the other TLS tests already use.
 */
public record SelfSignedPem(Path certificate, Path key) {
  /** Writes {@code cert.pem} and {@code key.pem} into {@code dir} (created if missing). */
  public static SelfSignedPem create(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    List<String> cmd = new ArrayList<>(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "2",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("openssl did not finish in 60 s: " + cmd);
    }
    if (p.exitValue() != 0 || !Files.isRegularFile(cert) || !Files.isRegularFile(key)) {
      throw new IOException("openssl exited " + p.exitValue() + ": " + cmd + "\n" + out);
    }
    return new SelfSignedPem(cert, key);
  }

  /** The pair as Vert.x server key/certificate options. */
  public PemKeyCertOptions keyCertOptions() {
    return new PemKeyCertOptions().setCertPath(certificate.toString()).setKeyPath(key.toString());
  }
}
