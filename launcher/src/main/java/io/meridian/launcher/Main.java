package io.meridian.launcher;

import io.meridian.config.ConfigException;
import io.meridian.config.ConfigLoader;
import io.meridian.config.ConfigProblem;
import io.meridian.config.MeridianConfig;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code meridian} command line. */
@Command(name = "meridian", mixinStandardHelpOptions = true, version = "meridian 0.1.0",
    description = "Global traffic router and failover control plane: GeoDNS, L7 proxy, health checking and a "
        + "failover controller in one system.",
    subcommands = {Main.Run.class, Main.DemoCmd.class, Main.ConfigCmd.class, Main.DnssecCmd.class,
        Main.Completion.class, CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {

  public static void main(String[] args) {
    configureLogging();
    if (args.length > 0 && args[0].equals("ctl")) {
      // ctl lives beside the admin API it talks to, in failover-controller, with its own exit codes
      System.exit(io.meridian.controller.cli.Ctl.run(java.util.Arrays.copyOfRange(args, 1, args.length),
          System.out, System.err));
    }
    int code = commandLine(new Main()).execute(args);
    // run and demo return only once the JVM is already shutting down (their shutdown hook has run): calling
    // System.exit from there would block forever, so only the other commands exit here.
    if (code != 0 || !"run".equals(args.length > 0 ? args[0] : "") && !"demo".equals(args.length > 0 ? args[0] : "")) {
      System.exit(code);
    }
  }

  /**
   * Plain help text: picocli colours its usage when it sees a terminal, which leaves escape codes in copied text,
   * in logs captured through a pseudo-terminal and on terminals that do not render them.
   */
  static CommandLine commandLine(Object command) {
    CommandLine cl = new CommandLine(command);
    if (command instanceof Main) {
      // ctl's own command line (main() hands 'ctl ...' straight to it): here for 'help ctl' and completion
      cl.addSubcommand("ctl", io.meridian.controller.cli.Ctl.commandLine(System.out, System.err));
    }
    return cl.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
  }

  static void configureLogging() {
    setDefault("org.slf4j.simpleLogger.showDateTime", "true");
    setDefault("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
    setDefault("org.slf4j.simpleLogger.showShortLogName", "true");
    setDefault("org.slf4j.simpleLogger.levelInBrackets", "true");
    setDefault("org.slf4j.simpleLogger.log.io.netty", "warn");
    setDefault("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
  }

  private static void setDefault(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }

  @Override
  public Integer call() {
    commandLine(this).usage(System.out);
    return 0;
  }

  /**
   * Vert.x workers run Meridian's blocking work: config, zone and GeoIP file reads and parsing, cache writes, DNSSEC
   * signing, key parsing — brief tasks, none waiting on the network. Vert.x's default pool of 20 grows by one thread
   * per task until it is full (the config watcher's check every few seconds fills it within a minute), and each
   * idle thread keeps its stack and a glibc arena. Four hold every concurrent blocking task Meridian submits.
   */
  static final int WORKER_POOL_SIZE = 4;

  static Vertx newVertx() {
    return Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setWorkerPoolSize(WORKER_POOL_SIZE));
  }

  /** Blocks until the JVM is asked to stop, then runs {@code onStop} (bounded) before exiting. */
  static void awaitShutdown(Runnable onStop) {
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      onStop.run();
      done.countDown();
    }, "meridian-shutdown"));
    try {
      done.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static void stopAll(MeridianNode node, Demo demo, Vertx vertx) {
    CountDownLatch stopped = new CountDownLatch(1);
    var f = demo != null ? demo.stop() : node != null ? node.stop() : io.vertx.core.Future.<Void>succeededFuture();
    f.eventually(vertx::close).onComplete(x -> stopped.countDown());
    try {
      if (!stopped.await(10, TimeUnit.SECONDS)) {
        System.err.println("meridian: shutdown took longer than 10s; exiting anyway");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static MeridianConfig loadOrExplain(Path file, PrintStream err) {
    try {
      return ConfigLoader.load(file);
    } catch (ConfigException e) {
      for (ConfigProblem p : e.problems()) {
        err.println(p);
      }
      err.println(e.problems().size() + " problem(s) in " + file);
      return null;
    } catch (java.nio.file.NoSuchFileException e) {
      err.println(file + ": no such file. To start, copy the commented example and edit it:\n"
          + "  cp config/meridian.example.yaml " + file + "\n"
          + "(config/meridian.multi-process.yaml for several processes sharing etcd), or try ./meridian demo");
      return null;
    } catch (IOException e) {
      err.println(file + ": cannot read: " + e.getMessage());
      return null;
    }
  }

  @Command(name = "run", mixinStandardHelpOptions = true,
      description = "Run Meridian roles from a config file (all four by default).")
  static final class Run implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "YAML configuration file")
    Path config;

    @Option(names = "--roles", paramLabel = "LIST", defaultValue = "dns,proxy,checker,controller",
        description = "comma-separated subset of dns,proxy,checker,controller (default: ${DEFAULT-VALUE})")
    String roles;

    @Option(names = "--static-plan", description = "for dns/proxy without a controller in this process and"
        + " without etcd: serve the configuration's plan (or the last-known-good one in state_store.path)"
        + " unchanged. Without it such a process refuses to start, because it could never receive a plan change.")
    boolean staticPlan;

    @Override
    public Integer call() {
      Set<MeridianNode.RoleName> which;
      try {
        which = MeridianNode.RoleName.parseList(roles);
      } catch (IllegalArgumentException e) {
        System.err.println(e.getMessage());
        return 2;
      }
      MeridianConfig cfg = loadOrExplain(config, System.err);
      if (cfg == null) {
        return 1;
      }
      Vertx vertx = newVertx();
      MeridianNode node;
      try {
        node = MeridianNode.start(vertx, config.toAbsolutePath(), cfg, which,
            new MeridianNode.Options(staticPlan)).await(60, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("meridian: failed to start: " + e.getMessage());
        vertx.close();
        return 1;
      }
      System.out.println("meridian: running roles " + which + " from " + config);
      awaitShutdown(() -> stopAll(node, null, vertx));
      return 0;
    }
  }

  @Command(name = "demo", mixinStandardHelpOptions = true,
      description = "Start four simulated regions on loopback plus every Meridian role, and print commands to"
          + " try: lookups, a paced drain, a drain refused for capacity, a home promotion, a failover.")
  static final class DemoCmd implements Callable<Integer> {
    @Option(names = "--port-offset", defaultValue = "0", paramLabel = "N",
        description = "add N to every demo port (default ports: DNS 8053, proxy 8080, admin 9090, apps 18081-18088)")
    int portOffset;

    @Option(names = "--dir", defaultValue = "meridian-demo", paramLabel = "DIR",
        description = "where the demo writes its config and state (default: ${DEFAULT-VALUE})")
    Path dir;

    @Override
    public Integer call() {
      Vertx vertx = newVertx();
      Demo demo;
      try {
        demo = Demo.start(vertx, dir.toAbsolutePath(), Demo.Ports.standard(portOffset)).await(60, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("meridian demo: failed to start: " + e.getMessage()
            + (String.valueOf(e.getMessage()).contains("in use") ? " (try --port-offset 100)" : ""));
        vertx.close();
        return 1;
      }
      System.out.println(demo.instructions());
      awaitShutdown(() -> {
        System.out.println("meridian demo: stopping");
        stopAll(null, demo, vertx);
      });
      return 0;
    }
  }

  @Command(name = "config", mixinStandardHelpOptions = true, description = "Configuration tools.",
      subcommands = {ConfigCheck.class})
  static final class ConfigCmd implements Callable<Integer> {
    @Override
    public Integer call() {
      commandLine(this).usage(System.out);
      return 0;
    }
  }

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Validate a config file: print every problem with its line and exit 1, or a summary and exit 0.")
  static final class ConfigCheck implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "YAML configuration file")
    Path file;

    @Override
    public Integer call() {
      if (!Files.isRegularFile(file)) {
        System.err.println(file + ": no such file");
        return 1;
      }
      MeridianConfig cfg = loadOrExplain(file, System.out);
      if (cfg == null) {
        return 1;
      }
      System.out.println(cfg.summary());
      return 0;
    }
  }

  @Command(name = "dnssec", mixinStandardHelpOptions = true, description = "DNSSEC key tools.",
      subcommands = {DnssecKeygen.class})
  static final class DnssecCmd implements Callable<Integer> {
    @Override
    public Integer call() {
      commandLine(this).usage(System.out);
      return 0;
    }
  }

  @Command(name = "keygen", mixinStandardHelpOptions = true,
      description = "Generate a DNSSEC key pair for a zone, as BIND's dnssec-keygen writes it "
          + "(K<zone>+<alg>+<tag>.key and .private); prints the path for dns.zones[].dnssec.keys and the DS "
          + "record for the parent zone.")
  static final class DnssecKeygen implements Callable<Integer> {
    @Parameters(paramLabel = "ZONE", description = "the zone's origin, e.g. example.com.")
    String zone;

    @Option(names = {"-a", "--algorithm"}, defaultValue = "ecdsap256sha256",
        description = "ecdsap256sha256 (13, default) or ed25519 (15)")
    String algorithm;

    @Option(names = "--zsk", description = "a zone-signing key (flags 256) for a KSK+ZSK set; by default the key "
        + "has the SEP flag (257): a CSK when it is the zone's only key, else a KSK")
    boolean zsk;

    @Option(names = "--ttl", defaultValue = "3600", description = "DNSKEY TTL in seconds (default: 3600)")
    long ttl;

    @Option(names = {"-K", "--dir"}, defaultValue = ".", description = "directory to write the key files in")
    Path dir;

    @Override
    public Integer call() {
      int alg = switch (algorithm.toLowerCase(java.util.Locale.ROOT)) {
        case "ecdsap256sha256", "13" -> io.meridian.geodns.DnssecKeyFile.ECDSAP256SHA256;
        case "ed25519", "15" -> io.meridian.geodns.DnssecKeyFile.ED25519;
        default -> -1;
      };
      if (alg < 0) {
        System.err.println("meridian dnssec keygen: --algorithm " + algorithm
            + " (expected: ecdsap256sha256 or ed25519)");
        return 2;
      }
      if (ttl < 0 || ttl > 0x7FFFFFFFL) {
        System.err.println("meridian dnssec keygen: --ttl " + ttl + " (expected: 0 to 2147483647 seconds)");
        return 2;
      }
      try {
        if (!Files.isDirectory(dir)) {
          System.err.println("meridian dnssec keygen: " + dir + ": no such directory");
          return 1;
        }
        io.meridian.geodns.DnssecKeyFile k = io.meridian.geodns.DnssecKeyFile.generate(zone, alg, !zsk, ttl);
        Path base = k.write(dir);
        System.out.println(base);
        System.out.println("; " + (zsk ? "ZSK" : "KSK/CSK") + " " + k.tag() + ": add the path above to"
            + " dns.zones[].dnssec.keys");
        System.out.println(k.dnskey());
        if (!zsk) {
          System.out.println("; the DS record for the parent zone:");
          System.out.println(k.ds());
        }
        return 0;
      } catch (IllegalArgumentException | IOException e) {
        System.err.println("meridian dnssec keygen: " + e.getMessage());
        return 1;
      }
    }
  }

  @Command(name = "completion", mixinStandardHelpOptions = true,
      description = "Print a shell completion script for meridian and all its commands (ctl's included): "
          + "source <(meridian completion bash), or in zsh source <(meridian completion zsh).")
  static final class Completion implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SHELL", description = "bash or zsh")
    String shell;

    @Override
    public Integer call() {
      return print(shell, System.out, System.err);
    }

    static int print(String shell, PrintStream out, PrintStream err) {
      if (!shell.equals("bash") && !shell.equals("zsh")) {
        err.println("meridian completion: SHELL is bash or zsh, not '" + shell + "'");
        return 2;
      }
      // one script for both: picocli's bash script loads zsh's bashcompinit when it runs in zsh
      out.print(picocli.AutoComplete.bash("meridian", commandLine(new Main())));
      out.flush();
      return 0;
    }
  }
}
