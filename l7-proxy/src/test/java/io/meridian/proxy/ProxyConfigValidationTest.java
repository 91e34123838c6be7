package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.meridian.config.ConfigException;
import io.meridian.config.ConfigLoader;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Bad proxy sections are reported with file, line, path and what was expected. Table-driven. */
class ProxyConfigValidationTest {
  private static final String REGIONS = """
      regions:
        - id: eu-west
          latitude: 53
          longitude: -6
          capacity_rps: 100
          upstreams: [http://127.0.0.1:1]
          health_check: {url: 'http://127.0.0.1:1/'}
      proxy:
      """;

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("  routes:\n    - {name: a, policy: home}\n",
            "p.yaml:10 proxy.routes[0].policy: route 'a' needs to know the user (policy home, session/strong"
                + " consistency or enforced residency): set proxy.users.source"),
        Arguments.of("  users: {source: header, name: X-User}\n  routes:\n    - {name: a, consistency: session}\n",
            "p.yaml:11 proxy.routes[0].consistency: route 'a' is session-consistent: set"
                + " proxy.read_your_writes.secret"),
        Arguments.of("  users: {source: jwt, jwt: {algorithm: HS256, secret: short}}\n",
            "p.yaml:9 proxy.users.jwt.secret: is required for HS256 and must be at least 32 characters (RFC 7518"
                + " §3.2: a key as long as the hash), got 5 characters"),
        Arguments.of("  users: {source: cookie}\n",
            "p.yaml:9 proxy.users.name: is required when source is cookie (the header or cookie holding the user id)"),
        Arguments.of("  routes:\n    - {name: a, residency: strict}\n",
            "p.yaml:10 proxy.routes[0].residency: must be one of [none, enforced], got 'strict'"),
        Arguments.of("  retries: {max_attempts: 0}\n",
            "p.yaml:9 proxy.retries.max_attempts: must be between 1 and 10, got 0"),
        Arguments.of("  limits: {header_read_timeout: 5}\n",
            "p.yaml:9 proxy.limits.header_read_timeout: must be a duration like 500ms, 30s, 5m or 1h, got '5'"),
        Arguments.of("  upstream_tls: {client_cert_file: c.pem}\n",
            "p.yaml:9 proxy.upstream_tls.client_key_file: client_cert_file and client_key_file go together"),
        Arguments.of("  upstream_pool: {max_connections: 0}\n",
            "p.yaml:9 proxy.upstream_pool.max_connections: must be between 1 and 100000, got 0"),
        Arguments.of("  upstream_pool: {queue_size: 10}\n",
            "p.yaml:9 proxy.upstream_pool.queue_size: unknown key; expected one of [max_connecting, max_connections,"
                + " max_queued, queue_timeout]"),
        Arguments.of("  outlier_detection: {max_ejection_percent: 101}\n",
            "p.yaml:9 proxy.outlier_detection.max_ejection_percent: must be between 0 and 100, got 101"),
        Arguments.of("  limits: {body_idle_timeout: 10ms}\n",
            "p.yaml:9 proxy.limits.body_idle_timeout: must be at least 100ms, got 10ms"));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void reported(String proxyYaml, String expected) {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.parse("p.yaml", REGIONS + proxyYaml, Path.of("."), Path.of("p.yaml")));
    assertEquals(expected, e.problems().get(0).toString());
  }
}
