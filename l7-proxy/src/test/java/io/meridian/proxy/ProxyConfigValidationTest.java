package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.config.ConfigException;
import io.meridian.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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
        Arguments.of("  max_connections: 0\n",
            "p.yaml:9 proxy.max_connections: must be between 1 and 10000000, got 0"),
        Arguments.of("  max_connections: many\n",
            "p.yaml:9 proxy.max_connections: must be an integer, got 'many'"),
        Arguments.of("  upstream_pool: {queue_size: 10}\n",
            "p.yaml:9 proxy.upstream_pool.queue_size: unknown key; expected one of [max_connecting, max_connections,"
                + " max_queued, queue_timeout]"),
        Arguments.of("  outlier_detection: {max_ejection_percent: 101}\n",
            "p.yaml:9 proxy.outlier_detection.max_ejection_percent: must be between 0 and 100, got 101"),
        Arguments.of("  users: {source: jwt, jwt: {algorithms: [RS256, none], jwks_url: 'https://idp.example/.well-known/jwks.json', issuer: i, audience: a}}\n",
            "p.yaml:9 proxy.users.jwt.algorithms: must not contain 'none': an unsigned token would be trusted (one of [HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA])"),
        Arguments.of("  users: {source: jwt, jwt: {algorithms: [RS257], jwks_url: 'https://idp.example/.well-known/jwks.json', issuer: i, audience: a}}\n",
            "p.yaml:9 proxy.users.jwt.algorithms: must be one of [HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA], got 'RS257'"),
        Arguments.of("  users: {source: jwt, jwt: {algorithm: RS256, algorithms: [RS256], jwks_url: 'https://idp.example/.well-known/jwks.json', issuer: i, audience: a}}\n",
            "p.yaml:9 proxy.users.jwt.algorithm: set algorithm or algorithms, not both (algorithm: X is the same as algorithms: [X])"),
        Arguments.of("  users: {source: jwt, jwt: {jwks_url: 'https://idp.example/.well-known/jwks.json', issuer: i, audience: a}}\n",
            "p.yaml:9 proxy.users.jwt.algorithms: is required with public_key_file, jwks_file or jwks_url: list the algorithms your identity provider signs with, e.g. [RS256] (one of [HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA])"),
        Arguments.of("  users: {source: jwt, jwt: {algorithms: [RS256], jwks_url: 'http://idp.example/jwks', issuer: i, audience: a}}\n",
            "p.yaml:9 proxy.users.jwt.jwks_url: must be an https:// URL with a host (keys fetched in clear text could be replaced on the way), got 'http://idp.example/jwks'"),
        Arguments.of("  users: {source: jwt, jwt: {algorithms: [RS256], jwks_url: 'https://idp.example/.well-known/jwks.json', audience: a}}\n",
            "p.yaml:9 proxy.users.jwt.issuer: is required with jwks_url: tokens of every issuer signing with these keys would be accepted (set the identity provider's issuer, e.g. https://tenant.example.com/)"),
        Arguments.of("  users: {source: jwt, jwt: {algorithms: [RS256], jwks_url: 'https://idp.example/.well-known/jwks.json', issuer: i}}\n",
            "p.yaml:9 proxy.users.jwt.audience: is required with jwks_url: tokens the identity provider issues for any other application would be accepted (set this API's audience / client id)"),
        Arguments.of("  users: {source: jwt, jwt: {algorithms: [RS256], secret: ssssssssssssssssssssssssssssssssssssssss, jwks_url: 'https://idp.example/.well-known/jwks.json', issuer: i, audience: a}}\n",
            "p.yaml:9 proxy.users.jwt.secret: is set, but algorithms [RS256] has no HS256/HS384/HS512: the secret would never be used"),
        Arguments.of("  users: {source: jwt, jwt: {algorithms: [HS256, HS512], secret: ssssssssssssssssssssssssssssssssssssssss}}\n",
            "p.yaml:9 proxy.users.jwt.secret: is required for HS512 and must be at least 64 characters (RFC 7518 §3.2: a key as long as the hash), got 40 characters"),
        Arguments.of("  users: {source: jwt, jwt: {secret: ssssssssssssssssssssssssssssssssssssssss, clock_skew: 1h}}\n",
            "p.yaml:9 proxy.users.jwt.clock_skew: must be at most 10m, got 1h"),
        Arguments.of("  users: {source: jwt, jwt: {secret: ssssssssssssssssssssssssssssssssssssssss, jwks_refresh_interval: 1m}}\n",
            "p.yaml:9 proxy.users.jwt.jwks_refresh_interval: only applies with jwks_url (a jwks_file is re-read when it changes), and jwks_url is not set"),
        Arguments.of("  users: {source: jwt, jwt: {algorithms: [RS256], jwks_url: 'https://idp.example/.well-known/jwks.json', issuer: i, audience: a, jwks_min_refresh_interval: 10m}}\n",
            "p.yaml:9 proxy.users.jwt.jwks_min_refresh_interval: must not exceed jwks_refresh_interval (5m), got 10m"),
        Arguments.of("  users: {source: jwt, jwt: {algorithms: [RS256], jwks_file: j.json, jwks_url: 'https://idp.example/j', issuer: i, audience: a}}\n",
            "p.yaml:9 proxy.users.jwt.jwks_url: set jwks_file or jwks_url, not both (got jwks_file 'j.json' too)"),
        Arguments.of("  users: {source: jwt}\n",
            "p.yaml:9 proxy.users.jwt: set secret, public_key_file, jwks_file or jwks_url (where the keys that sign user tokens come from)"),
        Arguments.of("  users: {source: jwt, jwt: {algorithms: [RS256], jwks_url: 'https://idp.example/.well-known/jwks.json', issuer: i, audience: a, audiences: [b]}}\n",
            "p.yaml:9 proxy.users.jwt.audiences: unknown key; expected one of [algorithm, algorithms, audience, clock_skew, issuer, jwks_ca_file, jwks_file, jwks_min_refresh_interval, jwks_refresh_interval, jwks_url, public_key_file, residency_claim, secret, user_claim]"),
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

  private static String pem(java.security.PublicKey key) {
    return "-----BEGIN PUBLIC KEY-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes())
        .encodeToString(key.getEncoded()) + "\n-----END PUBLIC KEY-----\n";
  }

  private static String problem(Path dir, String proxyYaml) {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.parse("p.yaml", REGIONS + proxyYaml, dir, dir.resolve("p.yaml")));
    return e.problems().get(0).toString();
  }

  /** Key files are read when the config is loaded: a key that cannot serve the algorithms is a config error. */
  @Test
  void keyFilesAreCheckedAgainstTheAlgorithms(@TempDir Path dir) throws Exception {
    java.security.KeyPairGenerator ec = java.security.KeyPairGenerator.getInstance("EC");
    ec.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
    Files.writeString(dir.resolve("ec.pem"), pem(ec.generateKeyPair().getPublic()));
    java.security.KeyPairGenerator rsa = java.security.KeyPairGenerator.getInstance("RSA");
    rsa.initialize(1024);
    Files.writeString(dir.resolve("rsa1024.pem"), pem(rsa.generateKeyPair().getPublic()));
    Files.writeString(dir.resolve("cert.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    Files.writeString(dir.resolve("list.json"), "[{\"kty\": \"RSA\"}]");
    Files.writeString(dir.resolve("nokty.json"), "{\"keys\": [{\"kid\": \"a\"}]}");
    Files.writeString(dir.resolve("broken.json"), "{\"keys\": [");

    assertEquals("p.yaml:9 proxy.users.jwt.public_key_file: '" + dir.resolve("ec.pem") + "' holds an EC key on"
        + " P-256, but algorithms [RS256] has no algorithm for it (ES256: P-256, ES384: P-384, ES512: P-521)",
        problem(dir, "  users: {source: jwt, jwt: {algorithm: RS256, public_key_file: ec.pem}}\n"));
    assertEquals("p.yaml:9 proxy.users.jwt.public_key_file: '" + dir.resolve("rsa1024.pem") + "' holds a 1024-bit"
        + " RSA key; at least 2048 bits are required (RFC 7518 §3.3)",
        problem(dir, "  users: {source: jwt, jwt: {algorithm: RS256, public_key_file: rsa1024.pem}}\n"));
    assertEquals("p.yaml:9 proxy.users.jwt.public_key_file: '" + dir.resolve("cert.pem") + "' is not a PEM public"
        + " key ('-----BEGIN PUBLIC KEY-----', X.509 SubjectPublicKeyInfo) of an RSA, EC (P-256, P-384, P-521) or"
        + " Ed25519/Ed448 key",
        problem(dir, "  users: {source: jwt, jwt: {algorithm: RS256, public_key_file: cert.pem}}\n"));
    assertEquals("p.yaml:9 proxy.users.jwt.public_key_file: cannot read '" + dir.resolve("missing.pem")
        + "' (expected a PEM public key ('-----BEGIN PUBLIC KEY-----', X.509 SubjectPublicKeyInfo) of an RSA, EC"
        + " (P-256, P-384, P-521) or Ed25519/Ed448 key): " + dir.resolve("missing.pem"),
        problem(dir, "  users: {source: jwt, jwt: {algorithm: RS256, public_key_file: missing.pem}}\n"));
    String jwksExpected = "a JWK set (RFC 7517 §5: a JSON object whose \"keys\" is an array of keys, each with a"
        + " \"kty\")";
    assertEquals("p.yaml:9 proxy.users.jwt.jwks_file: '" + dir.resolve("nokty.json") + "' is not " + jwksExpected
        + ": keys[0] has no \"kty\"",
        problem(dir, "  users: {source: jwt, jwt: {algorithms: [ES256], jwks_file: nokty.json}}\n"));
    assertEquals("p.yaml:9 proxy.users.jwt.jwks_file: '" + dir.resolve("list.json") + "' is not " + jwksExpected
        + ": its top level is an array",
        problem(dir, "  users: {source: jwt, jwt: {algorithms: [ES256], jwks_file: list.json}}\n"));
    assertTrue(problem(dir, "  users: {source: jwt, jwt: {algorithms: [ES256], jwks_file: broken.json}}\n")
        .startsWith("p.yaml:9 proxy.users.jwt.jwks_file: '" + dir.resolve("broken.json") + "' is not " + jwksExpected
            + ": "));
    assertEquals("p.yaml:9 proxy.users.jwt.jwks_ca_file: cannot read '" + dir.resolve("ca.pem") + "' (expected PEM CA"
        + " certificates)", problem(dir, "  users: {source: jwt, jwt: {algorithms: [ES256], jwks_url:"
        + " 'https://idp.example/j', jwks_ca_file: ca.pem, issuer: i, audience: a}}\n"));
  }

  /** The keys of the HS256/RS256-only verifier keep their meaning. */
  @Test
  void earlierJwtConfigsStillLoad(@TempDir Path dir) throws Exception {
    java.security.KeyPairGenerator rsa = java.security.KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    Files.writeString(dir.resolve("jwt.pem"), pem(rsa.generateKeyPair().getPublic()));
    io.meridian.config.JwtConfig hs = ConfigLoader.parse("p.yaml", REGIONS
        + "  users: {source: jwt, jwt: {secret: " + "s".repeat(32) + ", residency_claim: r}}\n", dir,
        dir.resolve("p.yaml")).proxy().users().jwt();
    assertEquals(java.util.List.of(io.meridian.config.JwtConfig.Algorithm.HS256), hs.algorithms());
    assertEquals("r", hs.residencyClaim());
    io.meridian.config.JwtConfig rs = ConfigLoader.parse("p.yaml", REGIONS
        + "  users: {source: jwt, jwt: {algorithm: RS256, public_key_file: jwt.pem}}\n", dir,
        dir.resolve("p.yaml")).proxy().users().jwt();
    assertEquals(java.util.List.of(io.meridian.config.JwtConfig.Algorithm.RS256), rs.algorithms());
    assertEquals("sub", rs.userClaim());
    assertEquals(java.time.Duration.ofSeconds(60), rs.clockSkew());
  }
}
