package io.meridian.controller.impl;

import io.meridian.config.AdminConfig;
import io.meridian.config.ListenAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bearer tokens checked against SHA-256 hashes from the config. Every configured hash is compared, each with
 * {@link MessageDigest#isEqual} (constant time), so response timing says nothing about how close a guess was.
 *
 * <p>Tokens reload live: {@link #reload} swaps the whole set atomically, so a request is judged either by the old
 * set or by the new one, never by a mix; a removed token is refused from the next request on.
 */
final class AdminAuth {
  /** Who is calling. */
  record Principal(String name, AdminConfig.Role role) {
    boolean may(AdminConfig.Role needed) {
      return role.ordinal() >= needed.ordinal();
    }
  }

  /**
   * What a reload changed, by token name (names are not secrets: they are in the audit log). A token is the same
   * token when its hash is the same; a new name or role for the same hash counts as changed.
   */
  record Change(List<String> added, List<String> removed, List<String> changed, int total, boolean openBefore,
      boolean openAfter) {
    boolean isEmpty() {
      return added.isEmpty() && removed.isEmpty() && changed.isEmpty() && openBefore == openAfter;
    }

    /** One log line: counts and names, never hashes. */
    String describe() {
      StringBuilder s = new StringBuilder(String.format("admin tokens reloaded: %d added%s, %d removed%s,"
              + " %d changed name or role%s; %d configured", added.size(), names(added), removed.size(),
          names(removed), changed.size(), names(changed), total));
      if (openBefore != openAfter) {
        s.append(openAfter ? "; no tokens left: the admin API now accepts unauthenticated calls on loopback only"
            : "; the admin API now requires a token");
      }
      return s.toString();
    }

    private static String names(List<String> n) {
      return n.isEmpty() ? "" : " " + n;
    }
  }

  /** The tokens in force; replaced whole on reload. */
  private record Tokens(List<AdminConfig.Token> list, boolean openOnLoopback) {}

  /** The admin listener's host: it is bound once at start, so a reload does not change it. */
  private final String listenHost;
  private volatile Tokens tokens;

  AdminAuth(AdminConfig config, ListenAddress listen) {
    this.listenHost = listen.host();
    this.tokens = tokens(config);
  }

  private Tokens tokens(AdminConfig config) {
    // With no tokens configured the API is only usable from the machine itself (demo, tests), never remotely.
    return new Tokens(List.copyOf(config.tokens()), config.tokens().isEmpty() && isLoopback(listenHost));
  }

  boolean open() {
    return tokens.openOnLoopback();
  }

  /** Puts the tokens of a reloaded config in force; returns what changed. */
  Change reload(AdminConfig config) {
    Tokens before = tokens;
    Tokens after = tokens(config);
    tokens = after;
    Map<String, AdminConfig.Token> old = byHash(before.list());
    Map<String, AdminConfig.Token> now = byHash(after.list());
    List<String> added = new ArrayList<>();
    List<String> changed = new ArrayList<>();
    now.forEach((hash, t) -> {
      AdminConfig.Token o = old.get(hash);
      if (o == null) {
        added.add(t.name());
      } else if (!o.equals(t)) {
        changed.add(t.name());
      }
    });
    List<String> removed = new ArrayList<>();
    old.forEach((hash, t) -> {
      if (!now.containsKey(hash)) {
        removed.add(t.name());
      }
    });
    return new Change(added, removed, changed, after.list().size(), before.openOnLoopback(),
        after.openOnLoopback());
  }

  private static Map<String, AdminConfig.Token> byHash(List<AdminConfig.Token> list) {
    Map<String, AdminConfig.Token> out = new LinkedHashMap<>();
    for (AdminConfig.Token t : list) {
      out.putIfAbsent(t.sha256(), t); // the first of two equal hashes is the one authenticate() matches
    }
    return out;
  }

  /** The caller, or null when the header is missing or matches no token. */
  Principal authenticate(String authorization) {
    Tokens in = tokens; // one set for the whole check
    if (in.openOnLoopback()) {
      return new Principal("anonymous-loopback", AdminConfig.Role.ADMIN);
    }
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    byte[] presented = sha256Hex(authorization.substring(7).trim()).getBytes(StandardCharsets.US_ASCII);
    AdminConfig.Token match = null;
    for (AdminConfig.Token t : in.list()) {
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
