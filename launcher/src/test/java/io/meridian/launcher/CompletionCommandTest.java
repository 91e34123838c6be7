package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code meridian completion bash|zsh}: a script bash sources, completing every command, ctl's included. */
class CompletionCommandTest {
  static String script(String shell) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int code = Main.Completion.print(shell, new PrintStream(o, true, StandardCharsets.UTF_8),
        new PrintStream(e, true, StandardCharsets.UTF_8));
    assertEquals(0, code, e.toString(StandardCharsets.UTF_8));
    return o.toString(StandardCharsets.UTF_8);
  }

  @Test
  void bashSourcesTheScriptAndCompletesCommandsAndTheirOptions(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("meridian.bash");
    Files.writeString(file, script("bash"));
    // what bash offers after 'meridian ', 'meridian ctl ', 'meridian ctl un' and 'meridian ctl undrain x --'
    String probe = "source " + file + " && complete -p meridian"
        + " && c() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _complete_meridian 2>/dev/null;"
        + " echo \"${COMPREPLY[*]}\"; }"
        + " && c meridian '' && c meridian ctl '' && c meridian ctl un && c meridian ctl undrain x --"
        + " && c meridian ctl drain x --";
    Cli.Result r = Cli.run(List.of("bash", "-c", probe));
    assertEquals(0, r.exit(), r.out());
    String[] lines = r.out().split("\n");
    assertEquals("complete -o default -F _complete_meridian meridian", lines[0].strip(), r.out());
    for (String cmd : List.of("run", "demo", "config", "ctl", "completion")) {
      assertTrue(List.of(lines[1].split(" ")).contains(cmd), "meridian <TAB>: " + lines[1]);
    }
    for (String cmd : List.of("status", "events", "audit", "whoami", "drain", "undrain", "fail", "restore",
        "promote", "unpromote", "pin", "unpin", "freeze", "unfreeze")) {
      assertTrue(List.of(lines[2].split(" ")).contains(cmd), "meridian ctl <TAB>: " + lines[2]);
    }
    assertEquals(List.of("undrain", "unpromote", "unpin", "unfreeze"), List.of(lines[3].split(" ")), lines[3]);
    // each command completes only the options it takes
    assertTrue(lines[4].contains("--reason") && lines[4].contains("--output") && !lines[4].contains("--expires"),
        "undrain: " + lines[4]);
    assertTrue(lines[5].contains("--expires") && lines[5].contains("--force"), "drain: " + lines[5]);
  }

  @Test
  void zshGetsTheSameScriptWhichLoadsBashcompinitAndAnUnknownShellIsAUsageError() {
    String zsh = script("zsh");
    assertEquals(script("bash"), zsh);
    assertTrue(zsh.contains("ZSH_VERSION") && zsh.contains("bashcompinit"), zsh);
    assertTrue(!zsh.contains("\u001b["));
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    assertEquals(2, Main.Completion.print("fish", new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(e, true, StandardCharsets.UTF_8)));
  }
}
