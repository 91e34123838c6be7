package io.meridian.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a real command-line client (dig, curl) with a bound on its run time. */
final class Cli {
  private Cli() {}

  record Result(int exit, String out) {}

  static Result run(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, "timed out: " + command);
      }
      return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + command.get(0) + " (is it installed? .ci/run installs it)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** {@code dig +short} for an A record with an ECS subnet. */
  static String digA(int port, String name, String subnet) {
    return run(List.of("dig", "@127.0.0.1", "-p", Integer.toString(port), name, "A", "+subnet=" + subnet, "+short",
        "+time=1", "+tries=1")).out();
  }

  /** GET through the proxy from a given loopback source address; returns the body. */
  static String curl(String sourceAddress, String url) {
    return run(List.of("curl", "-s", "--max-time", "3", "--interface", sourceAddress, url)).out();
  }
}
