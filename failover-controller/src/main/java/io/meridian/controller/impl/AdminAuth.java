package io.meridian.controller.impl;

import io.meridian.config.AdminConfig;
import io.meridian.config.ListenAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Bearer tokens checked against SHA-256 hashes from the config. Every configured hash is compared, each with
 * {@link MessageDigest#isEqual} (constant time), so response timing says nothing about how close a guess was.
 */
final class AdminAuth {
  /** Who is calling. */
  record Principal(String name, AdminConfig.Role role) {
    boolean may(AdminConfig.Role needed) {
      return role.ordinal() >= needed.ordinal();
    }
  }

  private final List<AdminConfig.Token> tokens;
  private final boolean openOnLoopback;

  AdminAuth(AdminConfig config, ListenAddress listen) {
    this.tokens = config.tokens();
    // With no tokens configured the API is only usable from the machine itself (demo, tests), never remotely.
    this.openOnLoopback = tokens.isEmpty() && isLoopback(listen.host());
  }

  boolean open() {
    return openOnLoopback;
  }

  /** The caller, or null when the header is missing or matches no token. */
  Principal authenticate(String authorization) {
    if (openOnLoopback) {
      return new Principal("anonymous-loopback", AdminConfig.Role.ADMIN);
    }
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    byte[] presented = sha256Hex(authorization.substring(7).trim()).getBytes(StandardCharsets.US_ASCII);
    AdminConfig.Token match = null;
    for (AdminConfig.Token t : tokens) {
      if (MessageDigest.isEqual(presented, t.sha256().getBytes(StandardCharsets.US_ASCII)) && match == null) {
        match = t;
      }
    }
    return match == null ? null : new Principal(match.name(), match.role());
  }

  static String sha256Hex(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }

  private static boolean isLoopback(String host) {
    return host.equals("127.0.0.1") || host.equals("::1") || host.equals("localhost") || host.startsWith("127.");
  }
}
