package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * No Docker engine runs here, so the Dockerfile's structure is checked instead: every Maven module's pom is copied
 * before dependencies are resolved (a module added without it breaks the image build), two stages, a non-root user,
 * the entrypoint is the same script users run, and the ports it exposes are the ones its bundled config listens on
 * and docs/CONFIG.md gives as defaults; base images pinned by version; a health check on /healthz.
 */
class DockerfileStructureTest {
  static final Path ROOT = Path.of("..");

  @Test
  void theDockerfileBuildsEveryModuleAndRunsAsUsersDo() throws Exception {
    String docker = Files.readString(ROOT.resolve("Dockerfile"));
    String pom = Files.readString(ROOT.resolve("pom.xml"));
    List<String> modules = new ArrayList<>();
    Matcher m = Pattern.compile("<module>([^<]+)</module>").matcher(pom);
    while (m.find()) {
      modules.add(m.group(1));
    }
    assertTrue(modules.size() >= 8, "modules: " + modules);
    int goOffline = docker.indexOf("dependency:go-offline");
    assertTrue(goOffline > 0, "dependencies resolved in their own layer");
    for (String module : modules) {
      int copy = docker.indexOf("COPY " + module + "/pom.xml " + module + "/");
      assertTrue(copy > 0 && copy < goOffline, "Dockerfile must COPY " + module + "/pom.xml before go-offline");
    }
    assertTrue(Pattern.compile("(?m)^FROM .* AS build$").matcher(docker).find(), "a build stage");
    assertTrue(Pattern.compile("(?m)^FROM eclipse-temurin:17[.0-9_]*-jre$").matcher(docker).find(),
        "a Java 17 JRE runtime stage");
    assertTrue(Pattern.compile("(?m)^USER meridian$").matcher(docker).find(), "runs as a non-root user");
    assertTrue(docker.contains("ENTRYPOINT [\"/opt/meridian/meridian\", \"run\"]"), "the ./meridian script, run");
    assertTrue(docker.contains("COPY meridian /opt/meridian/meridian"));
    assertTrue(docker.contains("/opt/meridian/launcher/target/meridian.jar"), "the jar where the script looks");
    Matcher config = Pattern.compile("COPY (config/\\S+\\.yaml) /etc/meridian/meridian.yaml").matcher(docker);
    assertTrue(config.find(), "a bundled config");
    MeridianConfig cfg = ConfigLoader.load(ROOT.resolve(config.group(1)));
    for (int port : List.of(cfg.dns().listen().port(), cfg.proxy().listen().port(), cfg.dns().opsListen().port(),
        cfg.proxy().opsListen().port(), cfg.healthCheck().opsListen().port(),
        cfg.controller().adminListen().port())) {
      assertTrue(docker.contains(" " + port + "/tcp"), "EXPOSE " + port + "/tcp (listened on by the bundled config)");
    }
    assertTrue(docker.contains(" " + cfg.dns().listen().port() + "/udp"), "DNS over UDP exposed");
  }

  /** A rebuild must get the same JDK: the script picks JVM flags by its version. */
  @Test
  void everyBaseImageIsPinnedToAVersion() throws Exception {
    Matcher from = Pattern.compile("(?m)^FROM (\\S+)").matcher(Files.readString(ROOT.resolve("Dockerfile")));
    int images = 0;
    while (from.find()) {
      images++;
      String image = from.group(1);
      int colon = image.lastIndexOf(':');
      assertTrue(colon > 0, image + ": no tag (expected: name:version)");
      String tag = image.substring(colon + 1);
      assertFalse(tag.contains("latest"), image + ": latest (expected: a version)");
      assertTrue(Pattern.compile("^\\d+\\.\\d+\\.\\d+").matcher(tag).find(),
          image + ": tag " + tag + " (expected: one starting with a full version, e.g. 17.0.15_6-jre)");
    }
    assertEquals(2, images, "build and runtime stages");
  }

  /** The process runs as the last USER; it must not be root, and must be set before the entrypoint. */
  @Test
  void theEntrypointRunsAsANonRootUser() throws Exception {
    String docker = Files.readString(ROOT.resolve("Dockerfile"));
    Matcher user = Pattern.compile("(?m)^USER (\\S+)$").matcher(docker);
    String last = null;
    int at = -1;
    while (user.find()) {
      last = user.group(1);
      at = user.start();
    }
    assertNotNull(last, "a USER instruction");
    assertFalse(last.equals("root") || last.startsWith("0"), "USER " + last + " (expected: not root)");
    int entrypoint = docker.indexOf("\nENTRYPOINT ");
    assertTrue(at >= 0 && entrypoint > at, "USER before ENTRYPOINT");
    assertFalse(docker.contains("MERIDIAN_JAVA_OPTS="), "the image keeps the script's JVM flags");
  }

  /** The image exposes exactly the ports docs/CONFIG.md gives as defaults, so the docs and `docker run -p` agree. */
  @Test
  void exposedPortsAreTheDocumentedDefaults() throws Exception {
    String docs = Files.readString(ROOT.resolve("docs/CONFIG.md"));
    Set<String> documented = new TreeSet<>();
    for (String key : List.of("dns.listen", "dns.ops_listen", "proxy.listen", "proxy.ops_listen",
        "health_check.ops_listen", "controller.admin_listen")) {
      Matcher row = Pattern.compile("(?m)^\\| `" + Pattern.quote(key) + "` \\| `[^`:]+:(\\d+)`").matcher(docs);
      assertTrue(row.find(), "docs/CONFIG.md documents the default of " + key);
      documented.add(row.group(1) + "/tcp");
      if (key.equals("dns.listen")) {
        documented.add(row.group(1) + "/udp");
      }
    }
    Matcher expose = Pattern.compile("(?m)^EXPOSE (.+)$").matcher(Files.readString(ROOT.resolve("Dockerfile")));
    Set<String> exposed = new TreeSet<>();
    while (expose.find()) {
      exposed.addAll(List.of(expose.group(1).trim().split("\\s+")));
    }
    assertEquals(documented, exposed, "EXPOSE vs docs/CONFIG.md defaults");
  }

  /** The health check asks the roles themselves ({@code /healthz}) on every ops port the image exposes. */
  @Test
  void theHealthCheckProbesHealthzOnEveryOpsPort() throws Exception {
    String docker = Files.readString(ROOT.resolve("Dockerfile"));
    Matcher check = Pattern.compile("(?ms)^HEALTHCHECK (.*?[^\\\\])$").matcher(docker);
    assertTrue(check.find(), "a HEALTHCHECK");
    String probe = check.group(1);
    assertTrue(probe.contains("CMD ") && probe.contains("/healthz"), "HEALTHCHECK probes /healthz: " + probe);
    for (String port : List.of("9153", "9180", "9190", "9090")) {
      assertTrue(probe.contains(port), "HEALTHCHECK covers ops port " + port + ": " + probe);
    }
  }
}
