package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.geodns.DnssecKeyFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Name;
import picocli.CommandLine;

/**
 * {@code meridian dnssec keygen} writes a key pair that Meridian reads back and that BIND's and ldns's own tools
 * accept: dnssec-dsfromkey computes the same DS the command printed.
 */
class DnssecKeygenCommandTest {
  @TempDir
  Path dir;

  record Outcome(int exit, String out, String err) {}

  Outcome keygen(String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
    try {
      List<String> all = new java.util.ArrayList<>(List.of("dnssec", "keygen", "--dir", dir.toString()));
      all.addAll(List.of(args));
      int code = new CommandLine(new Main()).execute(all.toArray(String[]::new));
      return new Outcome(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
    return out;
  }

  @Test
  void bothAlgorithmsMakeKeysThatMeridianAndBindAgreeOn() throws Exception {
    for (String alg : List.of("ecdsap256sha256", "ed25519")) {
      Outcome o = keygen("-a", alg, "example.test");
      assertEquals(0, o.exit(), o.err());
      Path base = Path.of(o.out().lines().findFirst().orElseThrow());
      DnssecKeyFile k = DnssecKeyFile.read(base, Name.fromConstantString("example.test."));
      assertTrue(k.sep());
      assertTrue(o.out().contains(k.ds().toString()), o.out());
      // BIND computes the DS from the .key file alone: the same digest
      String ds = run("dnssec-dsfromkey", "-2", base + ".key");
      assertTrue(ds.contains(k.ds().rdataToString().toUpperCase().split(" ")[3]), ds + " vs " + k.ds());
    }
  }

  @Test
  void aZskHasNoSepFlagAndBadInputIsRefused() throws Exception {
    Outcome z = keygen("--zsk", "example.test.");
    assertEquals(0, z.exit(), z.err());
    assertTrue(z.out().matches("(?s).*DNSKEY\\s+256 3 13 .*"), z.out());
    assertTrue(!z.out().matches("(?s).*\\sDS\\s.*"), "no DS for a ZSK: " + z.out());
    Outcome bad = keygen("-a", "rsasha1", "example.test.");
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("--algorithm rsasha1 (expected: ecdsap256sha256 or ed25519)"), bad.err());
  }
}
