package io.meridian.config;

import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Admin API credentials: bearer tokens stored only as SHA-256 hashes, each with a role; optional TLS.
 *
 * @param tokens  who may call, by role
 * @param tls     PEM certificate and key for the admin listener, or null for plain HTTP
 */
public record AdminConfig(List<Token> tokens, Tls tls) {

  /** The tokens only, no TLS. */
  public AdminConfig(List<Token> tokens) {
    this(tokens, null);
  }

  /**
   * @param certPath  PEM certificate chain (relative paths are resolved against the config file's directory)
   * @param keyPath   PEM private key (PKCS#8)
   */
  public record Tls(String certPath, String keyPath) {}

  /** Roles in increasing power; each includes the ones before it. */
  public enum Role { VIEWER, OPERATOR, ADMIN }

  /**
   * @param name    who holds the token (recorded in the audit log)
   * @param sha256  lowercase hex SHA-256 of the token
   * @param role    what it may do
   */
  public record Token(String name, String sha256, Role role) {}

  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

  public static AdminConfig defaults() {
    return new AdminConfig(List.of());
  }

  static AdminConfig parse(ConfigNode n) {
    n.rejectUnknownKeys(Set.of("tokens", "tls"));
    Tls tls = null;
    ConfigNode t0 = n.child("tls");
    if (t0.isPresent()) {
      t0.rejectUnknownKeys(Set.of("cert", "key"));
      String cert = t0.requiredString("cert");
      String key = t0.requiredString("key");
      tls = cert == null || key == null ? null : new Tls(cert, key);
    }
    return new AdminConfig(n.list("tokens", t -> {
      t.rejectUnknownKeys(Set.of("name", "sha256", "role"));
      String name = t.requiredString("name");
      String hash = t.string("sha256", null, HEX64, "64 lowercase hex digits (sha256sum of the token)");
      if (hash == null && !t.child("sha256").isPresent()) {
        t.problem("sha256", "is required");
      }
      Role role = t.enumValue("role", Role.class, Role.VIEWER);
      return name == null || hash == null ? null : new Token(name, hash, role);
    }), tls);
  }
}
