package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigLoader;
import io.meridian.config.MeridianConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * No Docker engine runs here, so the Dockerfile's structure is checked instead: every Maven module's pom is copied
 * before dependencies are resolved (a module added without it breaks the image build), two stages, a non-root user,
 * the entrypoint is the same script users run, and the ports it exposes are the ones its bundled config listens on.
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
    assertTrue(Pattern.compile("(?m)^FROM eclipse-temurin:17-jre$").matcher(docker).find(), "a JRE runtime stage");
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
}
