package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The stage order is declared once, in {@code AnswerPipeline}, and the README's table documents it (as CoreDNS's
 * plugin.cfg and its docs): the two must list the same stages in the same order.
 */
class AnswerPipelineStagesTest {
  @Test
  void theReadmeTableListsTheDeclaredStagesInOrder() throws Exception {
    List<String> declared;
    try (io.meridian.geodns.DnsFixture dns = io.meridian.geodns.DnsFixture.start()) {
      declared = ((GeoDnsServer) dns.role).pipeline().stageNames();
    }
    // surefire runs in the module directory, where the README lives
    String readme = Files.readString(Path.of("README.md"));
    Matcher m = Pattern.compile("(?m)^\\| (\\d+) \\| ([a-z-]+) \\|").matcher(readme);
    List<String> documented = new ArrayList<>();
    while (m.find()) {
      assertEquals(documented.size() + 1, Integer.parseInt(m.group(1)), "numbered in order: " + m.group(2));
      documented.add(m.group(2));
    }
    assertEquals(declared, documented);
  }
}
