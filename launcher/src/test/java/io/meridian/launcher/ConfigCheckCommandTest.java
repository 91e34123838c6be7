package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ConfigCheckCommandTest {
  @TempDir
  Path dir;

  private record Outcome(int exit, String out) {}

  private Outcome check(Path file) {
    PrintStream saved = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      int code = new CommandLine(new Main()).execute("config", "check", file.toString());
      return new Outcome(code, buf.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(saved);
    }
  }

  @Test
  void runWithAMissingConfigSaysWhichFileToCopy() {
    PrintStream saved = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = new CommandLine(new Main()).execute("run", "--config", dir.resolve("meridian.yaml").toString());
    } finally {
      System.setErr(saved);
    }
    String err = buf.toString(StandardCharsets.UTF_8);
    assertEquals(1, code);
    assertTrue(err.contains("no such file") && err.contains("cp config/meridian.example.yaml"), err);
  }

  @Test
  void brokenFileNamesEveryProblemWithItsLineAndExitsOne() throws Exception {
    Path f = dir.resolve("meridian.yaml");
    Files.writeString(f, """
        regions:
          - id: us-east
            latitude: 39
            longitude: -77
            capacity_rps: 100
            upstreams: [http://127.0.0.1:1]
            health_check: {url: http://127.0.0.1:1/}
          - id: eu-west
            latitude: 53
            longitude: -6
            capacity_rps: -5
            upstreams: [http://127.0.0.1:2]
            health_check: {url: http://127.0.0.1:2/}
        proxy:
          connect_timeout: soon
        """);
    Outcome o = check(f);
    assertEquals(1, o.exit());
    assertTrue(o.out().contains("meridian.yaml:11 regions[1].capacity_rps: must be > 0, got -5"), o.out());
    assertTrue(o.out().contains("meridian.yaml:15 proxy.connect_timeout: must be a duration like 500ms, 30s, 5m or 1h,"
        + " got 'soon'"), o.out());
    assertTrue(o.out().contains("2 problem(s)"), o.out());
  }

  @Test
  void validFileGetsASummaryAndExitsZero() throws Exception {
    Path f = Demo.writeConfig(dir, Demo.Ports.standard(0));
    Outcome o = check(f);
    assertEquals(0, o.exit(), o.out());
    assertTrue(o.out().contains("meridian-demo.yaml: OK"), o.out());
    assertTrue(o.out().contains("regions: 4 (us-east, eu-west, eu-north, ap-south)"), o.out());
  }

  @Test
  void rolesListIsValidated() {
    assertEquals(2, MeridianNode.RoleName.parseList("dns, proxy").size());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MeridianNode.RoleName.parseList("dns,resolver"));
    assertEquals("--roles: unknown role 'resolver' (expected: a comma-separated subset of dns,proxy,checker,controller)",
        e.getMessage());
  }
}
