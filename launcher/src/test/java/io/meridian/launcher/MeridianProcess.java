package io.meridian.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code meridian run} in its own JVM, started from the test's class path; output goes to a log file.
 * {@link #command} starts any other command the same way (the drill's region apps, {@code ./meridian run} as users
 * start it, a command inside a network namespace), with the same kill, pause and restart.
 */
final class MeridianProcess implements AutoCloseable {
  private final List<String> command;
  private final Map<String, String> environment;
  private final Path log;
  private Process process;

  private MeridianProcess(List<String> command, Map<String, String> environment, Path log) {
    this.command = command;
    this.environment = environment;
    this.log = log;
  }

  static MeridianProcess start(Path config, Path log, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        Main.class.getName(), "run", "--config", config.toString()));
    cmd.addAll(List.of(args));
    return command(cmd, Map.of(), log);
  }

  /** Starts {@code command} with {@code environment} added to this JVM's; stdout and stderr go to {@code log}. */
  static MeridianProcess command(List<String> command, Map<String, String> environment, Path log)
      throws IOException {
    MeridianProcess p = new MeridianProcess(List.copyOf(command), Map.copyOf(environment), log);
    p.launch();
    return p;
  }

  private void launch() throws IOException {
    ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    b.environment().putAll(environment);
    process = b.start();
  }

  long pid() {
    return process.pid();
  }

  /** SIGKILL: no shutdown hook, nothing flushed. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(20, TimeUnit.SECONDS);
  }

  /** SIGSTOP: the JVM freezes mid-step, as in a long GC pause or a VM migration; nothing runs until {@link #resume}. */
  void pause() throws IOException, InterruptedException {
    signal("STOP");
  }

  /** SIGCONT after {@link #pause}; harmless on a process that runs. */
  void resume() throws IOException, InterruptedException {
    if (process != null && process.isAlive()) {
      signal("CONT");
    }
  }

  private void signal(String name) throws IOException, InterruptedException {
    Process k = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
    if (k.waitFor(10, TimeUnit.SECONDS) && k.exitValue() != 0) {
      throw new IOException("kill -" + name + " " + process.pid() + " exited with " + k.exitValue());
    }
  }

  /** SIGTERM without waiting, so that several processes stop at once; {@link #close} then waits for each. */
  void terminate() {
    if (process != null && process.isAlive()) {
      process.destroy();
    }
  }

  void restart() throws IOException, InterruptedException {
    kill();
    launch();
  }

  boolean alive() {
    return process.isAlive();
  }

  /** Waits for the process to exit by itself; returns its exit code. */
  int awaitExit() throws InterruptedException {
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      throw new AssertionError("still running: " + command);
    }
    return process.exitValue();
  }

  String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        kill();
      }
    }
  }
}
