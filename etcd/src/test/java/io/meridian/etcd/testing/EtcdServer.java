package io.meridian.etcd.testing;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real etcd (Debian's {@code etcd-server}) for tests: its own free loopback ports and data directory, started
 * and stopped by the test. Outside CI a missing binary skips the test with how to enable it; under
 * {@code CI=true} a missing binary fails it, because .ci/run installs etcd.
 *
 * <pre>{@code
 * try (EtcdServer etcd = EtcdServer.start(tempDir)) {
 *   EtcdClient c = EtcdClient.connect(vertx, EtcdOptions.of(List.of(etcd.endpoint())));
 * }
 * }</pre>
 */
public final class EtcdServer implements AutoCloseable {
  private final Path binary;
  /** The address etcd listens on (clients and peers): 127.0.0.1 unless {@link #startOn} names another. */
  private final String host;
  private final Path dataDir;
  private final int clientPort;
  private final int peerPort;
  private final List<String> extraArgs;
  private Process process;
  /** With TLS: the PEM files the test's curl uses for the health check (CA, client cert, client key). */
  private List<String> tlsCurl = List.of();
  private String scheme = "http";

  private EtcdServer(Path binary, String host, Path dataDir, int clientPort, int peerPort, List<String> extraArgs) {
    this.binary = binary;
    this.host = host;
    this.dataDir = dataDir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.extraArgs = List.copyOf(extraArgs);
  }

  /** The etcd binary: {@code $ETCD_BIN}, {@code /usr/bin/etcd}, or on the PATH. */
  public static Optional<Path> binary() {
    String env = System.getenv("ETCD_BIN");
    if (env != null && Files.isExecutable(Path.of(env))) {
      return Optional.of(Path.of(env));
    }
    for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/bin").split(":")) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, "etcd");
      if (Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** Skips the calling test when etcd is missing outside CI; fails it under CI=true. */
  public static Path requireBinary() {
    Optional<Path> b = binary();
    if (b.isEmpty()) {
      String how = "etcd not found: install Debian's etcd-server (apt-get install etcd-server) or set ETCD_BIN";
      if ("true".equals(System.getenv("CI"))) {
        throw new AssertionError(how + " (CI=true: .ci/run installs it, so this must not be skipped)");
      }
      Assumptions.abort(how + " to run this test");
    }
    return b.get();
  }

  public static EtcdServer start(Path dataDir, String... extraArgs) throws IOException, InterruptedException {
    EtcdServer s = new EtcdServer(requireBinary(), "127.0.0.1", dataDir, freePort(), freePort(), List.of(extraArgs));
    s.launch();
    return s;
  }

  /**
   * etcd on another local address than 127.0.0.1, e.g. one added to {@code lo} that processes in network
   * namespaces reach through a veth (the failover drill's netns mode); its ports are free on that address.
   */
  public static EtcdServer startOn(String host, Path dataDir) throws IOException, InterruptedException {
    EtcdServer s = new EtcdServer(requireBinary(), host, dataDir, freePort(host), freePort(host), List.of());
    s.launch();
    return s;
  }

  /**
   * etcd serving clients over TLS with {@code cert}/{@code key}, requiring client certificates signed by {@code ca}
   * ({@code --client-cert-auth}); {@code clientCert}/{@code clientKey} are used for the health check.
   */
  public static EtcdServer startTls(Path dataDir, Path ca, Path cert, Path key, Path clientCert, Path clientKey)
      throws IOException, InterruptedException {
    EtcdServer s = new EtcdServer(requireBinary(), "127.0.0.1", dataDir, freePort(), freePort(), List.of("--cert-file",
        cert.toString(), "--key-file", key.toString(), "--trusted-ca-file", ca.toString(), "--client-cert-auth"));
    s.scheme = "https";
    s.tlsCurl = List.of("--cacert", ca.toString(), "--cert", clientCert.toString(), "--key", clientKey.toString());
    s.launch();
    return s;
  }

  public static int freePort() {
    return io.meridian.core.LoopbackPorts.tcp();
  }

  private static int freePort(String host) {
    return io.meridian.core.LoopbackPorts.tcp(host);
  }

  public String endpoint() {
    return scheme + "://" + host + ":" + clientPort;
  }

  public int clientPort() {
    return clientPort;
  }

  public long pid() {
    return process.pid();
  }

  private void launch() throws IOException, InterruptedException {
    Files.createDirectories(dataDir);
    String peer = "http://" + host + ":" + peerPort;
    List<String> cmd = new java.util.ArrayList<>(List.of(binary.toString(), "--name", "t",
        "--data-dir", dataDir.resolve("data").toString(),
        "--listen-client-urls", endpoint(), "--advertise-client-urls", endpoint(),
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", "t=" + peer, "--initial-cluster-state", "new",
        "--logger", "zap", "--log-outputs", "stderr"));
    cmd.addAll(extraArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dataDir.resolve("etcd.log").toFile()));
    pb.environment().put("ETCD_UNSUPPORTED_ARCH", System.getProperty("os.arch").contains("64") ? "" : "arm");
    process = pb.start();
    awaitHealthy();
  }

  private void awaitHealthy() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("etcd exited with " + process.exitValue() + ": " + log());
      }
      if (!tlsCurl.isEmpty()) {
        List<String> curl = new java.util.ArrayList<>(List.of("curl", "-sf", "--max-time", "1"));
        curl.addAll(tlsCurl);
        curl.add(endpoint() + "/health");
        Process c = new ProcessBuilder(curl).redirectErrorStream(true).start();
        String out = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (c.waitFor() == 0 && out.contains("true")) {
          return;
        }
        Thread.sleep(50);
        continue;
      }
      try {
        HttpURLConnection c = (HttpURLConnection) URI.create(endpoint() + "/health").toURL().openConnection();
        c.setConnectTimeout(500);
        c.setReadTimeout(1000);
        if (c.getResponseCode() == 200
            && new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8).contains("true")) {
          return;
        }
      } catch (IOException notYet) {
        // starting
      }
      Thread.sleep(50);
    }
    throw new IOException("etcd not healthy within 30 s: " + log());
  }

  public String log() {
    try {
      String s = Files.readString(dataDir.resolve("etcd.log"));
      return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** Stops etcd (SIGKILL when {@code hard}), keeping its data for {@link #restart()}. */
  public void stop(boolean hard) throws InterruptedException {
    if (process != null && process.isAlive()) {
      if (hard) {
        process.destroyForcibly();
      } else {
        process.destroy();
      }
      process.waitFor(20, TimeUnit.SECONDS);
    }
  }

  public void restart() throws IOException, InterruptedException {
    stop(false);
    launch();
  }

  /** SIGSTOP: etcd keeps its sockets open but answers nothing (a paused VM, a partition). */
  public void pause() throws IOException, InterruptedException {
    signal("STOP");
  }

  public void resume() throws IOException, InterruptedException {
    signal("CONT");
  }

  private void signal(String sig) throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).inheritIO().start().waitFor();
  }

  @Override
  public void close() throws InterruptedException {
    stop(true);
  }
}
