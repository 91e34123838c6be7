package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The native UDP listener's libc binding is the one the running JDK should have (the build runs tests with the
 * flags {@code ./meridian} passes): Java 17's incubator linker, Java 22+'s {@code java.lang.foreign}, none on 18-21.
 * A JVM started without those flags gets no binding, a reason that names the flag, and no warning on stderr.
 */
class LibcBindingTest {
  static final int FEATURE = Runtime.version().feature();

  @Test
  void theRunningJdkHasItsBinding() {
    if (FEATURE == 17) {
      assertNull(LibcBinding.unavailableReason());
      assertEquals("jdk.incubator.foreign (Java 17)", LibcBinding.get().api());
    } else if (FEATURE >= 22) {
      assertNull(LibcBinding.unavailableReason());
      assertEquals("java.lang.foreign (Java " + FEATURE + ")", LibcBinding.get().api());
    } else {
      assertTrue(LibcBinding.unavailableReason().contains("needs Java 17 or 22+"), LibcBinding.unavailableReason());
    }
  }

  @Test
  void withoutNativeAccessTheBindingRefusesSilently() throws Exception {
    assumeTrue(FEATURE == 17 || FEATURE >= 22, "Java " + FEATURE + " has no binding to refuse");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    if (FEATURE == 17) {
      cmd.addAll(List.of("--add-modules", "jdk.incubator.foreign")); // the module, but not native access
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Probe.class.getName()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe still running");
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("unavailable: the JVM was not started with --enable-native-access=ALL-UNNAMED"), out);
    // Java 17 prints its incubator line for --add-modules itself (./meridian drops it); nothing else may warn
    assertFalse(out.lines().anyMatch(l -> l.startsWith("WARNING") && !l.contains("Using incubator modules")), out);
  }

  /** Run in a JVM of its own: what {@link LibcBinding} decides there. */
  static final class Probe {
    public static void main(String[] args) {
      System.out.println("unavailable: " + LibcBinding.unavailableReason());
    }
  }
}
