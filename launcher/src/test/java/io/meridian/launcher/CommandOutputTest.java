package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.module.ModuleFinder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./meridian} script as a newcomer runs it: on a pipe and on a terminal (util-linux {@code script}
 * gives the command a pseudo-terminal), no command prints a JVM warning or an ANSI escape code, and a missing
 * config names the example to copy. The script runs from the test class path ({@code MERIDIAN_CLASSPATH}) instead
 * of the jar, with the same JVM flags.
 */
class CommandOutputTest {
  static final Path SCRIPT = Path.of("..", "meridian").toAbsolutePath().normalize();
  static final Path EXAMPLE = Path.of("..", "config", "meridian.example.yaml").toAbsolutePath().normalize();

  @TempDir
  Path dir;

  record Output(int exit, String text) {}

  /** Runs the script with {@code args} in {@code dir}; stdout and stderr together. */
  Output run(boolean terminal, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    if (terminal) {
      StringBuilder line = new StringBuilder(SCRIPT.toString());
      for (String a : args) {
        line.append(' ').append('\'').append(a).append('\'');
      }
      cmd.addAll(List.of("script", "-qec", line.toString(), "/dev/null"));
    } else {
      cmd.add(SCRIPT.toString());
      cmd.addAll(List.of(args));
    }
    Process p = script(new ProcessBuilder(cmd).redirectErrorStream(true)).start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "still running: " + cmd);
    return new Output(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  /** The script's environment: this test's class path and JVM, a terminal type that allows colours. */
  ProcessBuilder script(ProcessBuilder pb) {
    pb.directory(dir.toFile());
    pb.environment().put("MERIDIAN_CLASSPATH", System.getProperty("java.class.path"));
    pb.environment().put("MERIDIAN_JAVA_OPTS", "-XX:TieredStopAtLevel=1 -Xmx128m");
    pb.environment().put("PATH", Path.of(System.getProperty("java.home"), "bin") + ":"
        + System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
    pb.environment().put("TERM", "xterm-256color");
    return pb;
  }

  static void assertClean(Output o, String what) {
    assertFalse(o.text().contains("\u001b"), what + " printed an escape code: " + o.text());
    assertFalse(o.text().lines().anyMatch(l -> l.startsWith("WARNING")), what + " printed a warning: " + o.text());
  }

  @Test
  void helpAndChecksPrintPlainTextOnAPipeAndOnATerminal() throws Exception {
    for (boolean terminal : new boolean[] {false, true}) {
      String where = terminal ? " on a terminal" : " on a pipe";
      Output help = run(terminal, "--help");
      assertEquals(0, help.exit(), help.text());
      assertTrue(help.text().contains("Usage: meridian"), help.text());
      assertClean(help, "--help" + where);

      Output ctl = run(terminal, "ctl", "--help");
      assertEquals(0, ctl.exit(), ctl.text());
      assertTrue(ctl.text().contains("MERIDIAN_TOKEN") && ctl.text().contains("admin.tokens"), ctl.text());
      assertClean(ctl, "ctl --help" + where);

      Output check = run(terminal, "config", "check", EXAMPLE.toString());
      assertEquals(0, check.exit(), check.text());
      assertTrue(check.text().contains("OK"), check.text());
      assertClean(check, "config check" + where);

      Output runHelp = run(terminal, "run", "--help");
      assertEquals(0, runHelp.exit(), runHelp.text());
      assertClean(runHelp, "run --help" + where);
    }
  }

  @Test
  void runWithoutAConfigNamesTheExampleToCopy() throws Exception {
    Output o = run(false, "run", "--config", "meridian.yaml");
    assertEquals(1, o.exit(), o.text());
    assertTrue(o.text().contains("cp config/meridian.example.yaml meridian.yaml"), o.text());
    assertClean(o, "run without a config");
  }

  /**
   * A process with the dns role gets the JVM flags for native UDP: on Java 17 they make the JVM print its incubator
   * warning, which the script must drop; on Java 22+ without them the JVM would warn about restricted methods. The
   * process serves on the native UDP listener of the running JDK, then is stopped with SIGTERM.
   */
  @Test
  void runWithTheDnsRolePrintsNoJvmWarning() throws Exception {
    int port = Demo.freeUdpAndTcpPort();
    Path cfg = dir.resolve("dns.yaml");
    Files.writeString(cfg, """
        regions:
          - id: us-east
            latitude: 39.0
            longitude: -77.5
            capacity_rps: 1000
            residency_group: us
            dns: {a: [127.0.10.1]}
            upstreams: [http://127.0.0.1:1]
            health_check: {url: http://127.0.0.1:1/health}
        dns:
          listen: 127.0.0.1:%d
          ops_listen: 127.0.0.1:0
          zones:
            - origin: example.test.
              names:
                - name: www
        state_store:
          path: %s
        """.formatted(port, dir.resolve("state")));
    Path log = dir.resolve("run.log");
    Process p = script(new ProcessBuilder(SCRIPT.toString(), "run", "--config", cfg.toString(), "--roles", "dns",
        "--static-plan")).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      awaitRunning(p, log);
      assertEquals("127.0.10.1", Cli.digA(port, "www.example.test", "198.51.100.0/24"), read(log));
    } finally {
      p.destroy(); // SIGTERM: the shutdown hook runs
      p.waitFor(20, TimeUnit.SECONDS);
    }
    String text = read(log);
    assertClean(new Output(0, text), "run --roles dns");
    int feature = Runtime.version().feature();
    if (feature == 17 && ModuleFinder.ofSystem().find("jdk.incubator.foreign").isPresent()) {
      // the flags were on (so the JVM did print its warning, and the script dropped it)
      assertTrue(text.contains("recvmmsg/sendmmsg") && text.contains("through jdk.incubator.foreign"),
          "native UDP on the incubator linker expected on Java 17: " + text);
    } else if (feature >= 22) {
      assertTrue(text.contains("recvmmsg/sendmmsg") && text.contains("through java.lang.foreign"),
          "native UDP on java.lang.foreign expected on Java " + feature + ": " + text);
    } else {
      assertTrue(text.contains("Netty's epoll datagram channel"), "UDP on epoll expected on Java " + feature + text);
    }
  }

  /**
   * The memory flags the script chooses for the proxy role (docs/CONFIG.md#sizing-the-jvm) are flags this JVM
   * accepts and applies: the process starts with them, prints no warning, and the JVM reports them as its own
   * settings. The other tests replace them with MERIDIAN_JAVA_OPTS; this one runs without.
   */
  @Test
  void runWithTheProxyRoleAppliesTheScriptsMemoryFlags() throws Exception {
    Path cfg = dir.resolve("proxy.yaml");
    Files.writeString(cfg, """
        regions:
          - id: us-east
            latitude: 39.0
            longitude: -77.5
            capacity_rps: 1000
            upstreams: [http://127.0.0.1:1]
            health_check: {url: http://127.0.0.1:1/health}
        proxy:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          max_connections: 100000
        state_store:
          path: %s
        """.formatted(dir.resolve("state")));
    Path log = dir.resolve("proxy.log");
    ProcessBuilder pb = script(new ProcessBuilder(SCRIPT.toString(), "run", "--config", cfg.toString(), "--roles",
        "proxy", "--static-plan"));
    pb.environment().remove("MERIDIAN_JAVA_OPTS");
    Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      awaitRunning(p, log);
      // the script execs java: this pid is the JVM's
      Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
          Long.toString(p.pid()), "VM.flags").redirectErrorStream(true).start();
      String flags = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(jcmd.waitFor(30, TimeUnit.SECONDS), "jcmd did not finish");
      for (String f : List.of("-XX:+UseSerialGC", "-XX:MaxHeapSize=41943040", "-XX:InitialHeapSize=41943040",
          "-XX:NewSize=16777216", "-XX:SurvivorRatio=4", "-XX:TargetSurvivorRatio=90", "-XX:-TieredCompilation",
          "-XX:MaxDirectMemorySize=67108864")) {
        assertTrue(flags.contains(f), f + " expected among the JVM's flags: " + flags);
      }
      String cmdline = Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline")).replace('\0', ' ');
      assertTrue(cmdline.contains("-Dio.netty.allocator.maxOrder=7"), cmdline);
      if (System.getenv("MALLOC_ARENA_MAX") == null) {
        String environ = "\0" + Files.readString(Path.of("/proc", Long.toString(p.pid()), "environ"));
        assertTrue(environ.contains("\0MALLOC_ARENA_MAX=" + Runtime.getRuntime().availableProcessors() + "\0"),
            "one glibc arena per core expected: " + environ.replace('\0', ' '));
      }
      // 24 MB of old generation hold about 10,000 plaintext connections, not 100,000: the operator is told so
      String out = read(log);
      assertTrue(out.contains("idle plaintext client connections") && out.contains(
          "fewer than proxy.max_connections (100000)"), out);
    } finally {
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
    }
    assertClean(new Output(0, read(log)), "run --roles proxy");
  }

  /** Waits until the process started by the script logs that it serves; fails if it exits or takes over 60 s. */
  static void awaitRunning(Process p, Path log) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!read(log).contains("meridian: running roles")) {
      assertTrue(p.isAlive(), "exited: " + read(log));
      assertTrue(System.nanoTime() < deadline, "not serving within 60 s: " + read(log));
      Thread.sleep(100);
    }
  }

  static String read(Path f) throws IOException {
    return Files.exists(f) ? Files.readString(f) : "";
  }
}
