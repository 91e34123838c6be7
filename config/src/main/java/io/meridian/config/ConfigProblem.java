package io.meridian.config;

/**
 * One thing wrong with a configuration file, located precisely enough to fix without searching:
 * {@code meridian.yaml:14 regions[2].capacity_rps: must be > 0, got -5}.
 *
 * @param file     file name as given to the loader
 * @param line     1-based line of the offending value (or of its parent when the key is missing)
 * @param path     the key path, e.g. {@code regions[2].capacity_rps}
 * @param message  expectation and, when there was one, the value found
 */
public record ConfigProblem(String file, int line, String path, String message) {
  @Override
  public String toString() {
    return file + ":" + line + " " + path + ": " + message;
  }
}
