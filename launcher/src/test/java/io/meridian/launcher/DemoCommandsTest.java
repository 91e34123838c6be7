package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every command {@code meridian demo} prints works as printed: the test reads the printed text, splits each
 * command line as a shell would, and runs it — {@code dig} and {@code curl} as real processes, {@code ./meridian
 * ctl} through the same {@code Ctl.run} the script reaches — in the printed order, checking what the comment after
 * it promises. Among them: a drain refused for capacity with its rule and numbers, a drain that goes in steps, and
 * a home promotion naming the users whose home moves.
 */
class DemoCommandsTest {
  static Vertx vertx;
  static Demo demo;

  @BeforeAll
  static void startDemo() throws Exception {
    vertx = Vertx.vertx();
    demo = Demo.start(vertx, Files.createTempDirectory("meridian-demo-commands"), Demo.Ports.ephemeral())
        .await(60, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stopDemo() throws Exception {
    if (demo != null) {
      demo.stop().await(20, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().await(20, TimeUnit.SECONDS);
    }
  }

  /** One printed command: its words as a shell would split them, and the comment after it. */
  record Printed(List<String> words, String comment, String line) {
    boolean isCtl(String verb, String target) {
      int i = words.indexOf("ctl");
      List<String> rest = words.subList(i + 1, words.size());
      int v = rest.indexOf(verb);
      return words.get(0).equals("./meridian") && v >= 0 && (target == null || rest.get(v + 1).equals(target));
    }
  }

  @Test
  void everyPrintedCommandDoesWhatItsCommentSays() throws Exception {
    List<Printed> commands = parse(demo.instructions());
    assertTrue(commands.size() >= 15, "printed commands: " + commands);
    awaitAllActive(commands);
    Set<String> checked = new LinkedHashSet<>();
    for (int i = 0; i < commands.size(); i++) {
      Printed c = commands.get(i);
      switch (c.words().get(0)) {
        case "dig" -> {
          String expected = c.comment().replaceFirst("^-> (\\S+).*", "$1");
          awaitOutput(c, expected);
          checked.add("dig");
        }
        case "curl" -> {
          if (c.line().contains("/v1/plan")) {
            Cli.Result r = Cli.run(c.words());
            assertEquals(0, r.exit(), c.line());
            assertTrue(r.out().startsWith("{") && r.out().contains("\"version\""), r.out());
          } else {
            awaitOutput(c, c.comment());
          }
          checked.add("curl");
        }
        case "./meridian" -> {
          Ctl r = ctl(c);
          if (c.isCtl("status", null)) {
            assertEquals(0, r.exit(), r.toString());
            assertTrue(r.out().contains("eu-north") && r.out().contains("CAPACITY"), r.out());
            if (i > 0 && commands.get(i - 1).isCtl("drain", "eu-north")) {
              watchPacedDrain(c);
              checked.add("paced drain");
            }
          } else if (c.isCtl("drain", "eu-west")) {
            assertEquals(1, r.exit(), r.toString());
            // the rule, and the numbers: 6,000 rps of demand, 4,800 rps of room without eu-west
            assertTrue(r.err().startsWith("REFUSED (409 CAPACITY_EXCEEDED): 1200.0 rps would find no region"
                + " within headroom (shortfall 0.0 -> 1200.0 rps; headroom 80%)"), r.err());
            for (String full : List.of("us-east at 1600 of 1600 rps", "eu-north at 1600 of 1600 rps",
                "ap-south at 1600 of 1600 rps")) {
              assertTrue(r.err().contains(full), full + " in " + r.err());
            }
            assertTrue(c.comment().startsWith("REFUSED (409 CAPACITY_EXCEEDED)"), c.comment());
            checked.add("capacity refusal");
          } else if (c.isCtl("drain", "eu-north")) {
            assertEquals(0, r.exit(), r.toString());
            assertTrue(r.out().startsWith("APPLIED: drain eu-north"), r.out());
            assertTrue(r.out().contains("eu-north drains in steps"), r.out());
          } else if (c.isCtl("promote", "eu-west")) {
            assertEquals(0, r.exit(), r.toString());
            assertTrue(r.out().contains("users homed in eu-west move from eu-west to eu-north; data-loss risk: none"),
                r.out());
            checked.add("promotion");
          } else {
            assertEquals(0, r.exit(), r.toString());
            assertTrue(r.out().startsWith(c.comment()), "'" + c.comment() + "' expected from " + c.line() + ": " + r);
          }
        }
        default -> throw new AssertionError("not a command: " + c.line());
      }
    }
    assertEquals(Set.of("dig", "curl", "capacity refusal", "paced drain", "promotion"), checked);
  }

  /**
   * Waits until every region is ACTIVE at share 1.00, as a reader of the instructions would find it. On a busy
   * machine the checkers' first probes of a cold JVM can time out, and the regions then come back through the
   * hold-down and ramp first; a drain started during the ramp starts from the ramp's share.
   */
  static void awaitAllActive(List<Printed> commands) throws InterruptedException {
    Printed status = commands.stream().filter(p -> p.isCtl("status", null)).findFirst().orElseThrow();
    Pattern active = Pattern.compile("(?m)^[a-z-]+\\s+\\S+\\s+\\S+\\s+ACTIVE\\s+1\\.00\\s");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      Ctl r = ctl(status);
      Matcher m = active.matcher(r.out());
      int n = 0;
      while (m.find()) {
        n++;
      }
      if (n == Demo.REGIONS.size()) {
        return;
      }
      assertTrue(System.nanoTime() < deadline, "regions not all ACTIVE within 60 s: " + r);
      Thread.sleep(200);
    }
  }

  /**
   * Runs the printed status command until eu-north is drained: on the way it must be DRAINING at a share strictly
   * between 0 and 1, more than one share if the polls catch them (steps are 2 s apart, polls 200 ms).
   */
  static void watchPacedDrain(Printed status) throws Exception {
    Pattern row = Pattern.compile("(?m)^eu-north\\s+\\S+\\s+\\S+\\s+(\\S+)\\s+(\\S+)");
    Set<String> steps = new LinkedHashSet<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      Ctl r = ctl(status);
      Matcher m = row.matcher(r.out());
      assertTrue(m.find(), r.out());
      if (m.group(1).equals("DRAINING")) {
        double share = Double.parseDouble(m.group(2));
        assertTrue(share > 0 && share < 1, r.out());
        steps.add(m.group(2));
      } else if (m.group(1).equals("DRAINED")) {
        break;
      }
      assertTrue(System.nanoTime() < deadline, "eu-north not drained within 30 s: " + r.out());
      Thread.sleep(200);
    }
    assertTrue(steps.size() >= 2, "a drain in steps shows several shares while DRAINING, saw " + steps);
  }

  /** A dig or curl whose answer may take a moment (a region was just broken): retried for up to 15 s. */
  static void awaitOutput(Printed c, String expected) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    Cli.Result r;
    while (!(r = Cli.run(c.words())).out().equals(expected)) {
      assertTrue(System.nanoTime() < deadline, "'" + expected + "' expected from " + c.line() + ", got " + r);
      Thread.sleep(100);
    }
  }

  record Ctl(int exit, String out, String err) {}

  /** The printed {@code ./meridian ctl ...} through the CLI the script runs, with exactly the printed arguments. */
  static Ctl ctl(Printed c) {
    int at = c.words().indexOf("ctl");
    assertEquals(1, at, "./meridian ctl ...: " + c.line());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = io.meridian.controller.cli.Ctl.run(c.words().subList(2, c.words().size()).toArray(String[]::new),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    Ctl r = new Ctl(exit, out.toString(StandardCharsets.UTF_8).trim(), err.toString(StandardCharsets.UTF_8).trim());
    System.out.println("$ " + c.line() + "\n" + r.out() + (r.err().isEmpty() ? "" : "\n" + r.err()));
    return r;
  }

  /** Indented lines that start with a command, split as a POSIX shell splits words with single quotes. */
  static List<Printed> parse(String text) {
    List<Printed> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      String t = line.strip();
      if (!line.startsWith("  ") || !(t.startsWith("dig ") || t.startsWith("curl ") || t.startsWith("./meridian "))) {
        continue;
      }
      List<String> words = new ArrayList<>();
      StringBuilder w = null;
      String comment = "";
      for (int i = 0; i < t.length(); i++) {
        char ch = t.charAt(i);
        if (ch == '\'') {
          int end = t.indexOf('\'', i + 1);
          assertTrue(end > i, "unclosed quote in " + line);
          w = w == null ? new StringBuilder() : w;
          w.append(t, i + 1, end);
          i = end;
        } else if (ch == '#' && w == null) {
          comment = t.substring(i + 1).strip();
          break;
        } else if (Character.isWhitespace(ch)) {
          if (w != null) {
            words.add(w.toString());
            w = null;
          }
        } else {
          assertTrue("\"$`\\|;&<>*?".indexOf(ch) < 0, "a character the test does not interpret like a shell: "
              + ch + " in " + line);
          w = w == null ? new StringBuilder() : w;
          w.append(ch);
        }
      }
      if (w != null) {
        words.add(w.toString());
      }
      out.add(new Printed(words, comment, t));
    }
    return out;
  }
}
