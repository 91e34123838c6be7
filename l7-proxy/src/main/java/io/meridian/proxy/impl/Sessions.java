package io.meridian.proxy.impl;

import io.meridian.config.MeridianConfig;
import io.meridian.config.ProxyConfig;
import io.meridian.config.RegionConfig;
import io.meridian.proxy.ProxyTokens;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Who the user is, where their home is, and what they last wrote — everything the home, session and strong
 * routes need to prepare a {@link io.meridian.core.RegionSelector.Constraint}. One per event loop per config
 * version (it holds MACs and a JWT cache, which are not thread-safe).
 *
 * <p>Home region, in order: a pin from the config; a valid signed {@code meridian-home} value for this user;
 * rendezvous (highest-random-weight) hashing of the user id over the regions of the user's residency group —
 * stable, and moving only the users of a region that is added or removed.
 */
final class Sessions {
  /** The user behind a request; {@code rejected} says why an offered credential was ignored. */
  record Identity(String user, String residencyGroup, String rejected) {
    static final Identity ANONYMOUS = new Identity(null, null, null);
  }

  /** A valid read-your-writes token. */
  record RywToken(String home, long position) {}

  final ProxyConfig cfg;
  private final JwtVerifier jwt;
  private final Hmac homeMac;
  private final Hmac rywMac;
  private final Map<String, List<String>> regionsByGroup;
  private final List<String> allRegions;
  private final Map<String, String> groupOfRegion;
  private final ProxyMetrics metrics;

  /** @param jwtKeys  the JWT keys in force (swapped by the role when {@code proxy.users.jwt} changes) */
  Sessions(MeridianConfig config, ProxyMetrics metrics, java.util.function.Supplier<JwtKeys> jwtKeys) {
    this.cfg = config.proxy();
    this.metrics = metrics;
    this.jwt = cfg.users().source() == ProxyConfig.UserSource.JWT ? new JwtVerifier(cfg.users().jwt(), jwtKeys)
        : null;
    this.homeMac = cfg.homes().secret() == null ? null : Hmac.create(cfg.homes().secret());
    this.rywMac = cfg.readYourWrites().secret() == null ? null : Hmac.create(cfg.readYourWrites().secret());
    Map<String, List<String>> byGroup = new HashMap<>();
    Map<String, String> groupOf = new HashMap<>();
    List<String> all = new ArrayList<>();
    for (RegionConfig r : config.regions()) {
      byGroup.computeIfAbsent(r.residencyGroup(), g -> new ArrayList<>()).add(r.id());
      groupOf.put(r.id(), r.residencyGroup());
      all.add(r.id());
    }
    byGroup.values().forEach(l -> l.sort(Comparator.naturalOrder()));
    all.sort(Comparator.naturalOrder());
    this.regionsByGroup = byGroup;
    this.allRegions = all;
    this.groupOfRegion = groupOf;
  }

  Identity identify(RequestView req) {
    ProxyConfig.Users u = cfg.users();
    switch (u.source()) {
      case HEADER: {
        String v = req.header(u.name());
        return v == null || v.isEmpty() ? Identity.ANONYMOUS : new Identity(v, null, null);
      }
      case COOKIE: {
        String c = req.cookie(u.name());
        return c == null || c.isEmpty() ? Identity.ANONYMOUS : new Identity(c, null, null);
      }
      case JWT: {
        String v = req.header(u.name());
        if (v == null) {
          return Identity.ANONYMOUS;
        }
        String token = v.regionMatches(true, 0, "Bearer ", 0, 7) ? v.substring(7).trim() : v.trim();
        JwtVerifier.Result r = jwt.verify(token, System.currentTimeMillis() / 1000);
        if (r.rejected() != null) {
          // an unverified token is no identity: the request goes on as anonymous (see JwtVerifier for reasons)
          metrics.jwtRejected(r.rejected());
          return new Identity(null, null, r.rejected());
        }
        return new Identity(r.user(), r.residencyGroup(), null);
      }
      default:
        return Identity.ANONYMOUS;
    }
  }

  /** The region id assigned as this user's home (before the plan's promotions), or null for no user. */
  String home(Identity id, RequestView req) {
    if (id.user() == null) {
      return null;
    }
    String pinned = cfg.homes().pins().get(id.user());
    if (pinned != null && groupOfRegion.containsKey(pinned)) {
      return pinned;
    }
    String signed = signedHome(id.user(), req);
    if (signed != null) {
      return signed;
    }
    List<String> candidates = regionsOf(id.residencyGroup() != null ? id.residencyGroup()
        : cfg.homes().defaultResidencyGroup());
    return candidates.isEmpty() ? null : rendezvous(id.user(), candidates);
  }

  /**
   * The user's residency group: a claim when the identity carries one, else the group of their home (their
   * data lives there), else the configured default; null when nothing is known.
   */
  String residencyGroup(Identity id, String home) {
    if (id.residencyGroup() != null) {
      return id.residencyGroup();
    }
    if (home != null) {
      return groupOfRegion.get(home);
    }
    return cfg.homes().defaultResidencyGroup();
  }

  private String signedHome(String user, RequestView req) {
    if (homeMac == null) {
      return null;
    }
    String v = req.header(ProxyTokens.HOME_HEADER);
    if (v == null) {
      v = req.cookie(ProxyTokens.HOME_COOKIE);
    }
    if (v == null) {
      return null;
    }
    String[] p = v.split("\\.", -1);
    if (p.length != 3 || !groupOfRegion.containsKey(p[0])) {
      metrics.tokenRejected("home", "malformed");
      return null;
    }
    long exp;
    try {
      exp = Long.parseLong(p[1]);
    } catch (NumberFormatException e) {
      metrics.tokenRejected("home", "malformed");
      return null;
    }
    if (!homeMac.verify(ProxyTokens.homePayload(user, p[0], exp), p[2])) {
      metrics.tokenRejected("home", "bad_signature");
      return null;
    }
    if (exp <= System.currentTimeMillis() / 1000) {
      metrics.tokenRejected("home", "expired");
      return null;
    }
    return p[0];
  }

  private List<String> regionsOf(String group) {
    return group == null ? allRegions : regionsByGroup.getOrDefault(group, List.of());
  }

  /** Highest random weight: each region scores hash(user, region); the best score is home. */
  static String rendezvous(String user, List<String> regions) {
    String best = null;
    long bestScore = Long.MIN_VALUE;
    for (String r : regions) {
      long s = mix(fnv(user) * 31 + fnv(r));
      if (best == null || s > bestScore) {
        best = r;
        bestScore = s;
      }
    }
    return best;
  }

  private static long fnv(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return h;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  String groupOf(String region) {
    return groupOfRegion.get(region);
  }

  boolean rywEnabled() {
    return rywMac != null;
  }

  /** The request's read-your-writes token when present and valid; forged, expired or malformed ones are counted. */
  RywToken rywToken(RequestView req, String user) {
    if (rywMac == null) {
      return null;
    }
    String v = req.header(ProxyTokens.RYW_HEADER);
    if (v == null) {
      v = req.cookie(ProxyTokens.RYW_COOKIE);
    }
    if (v == null) {
      return null;
    }
    String[] p = v.split("\\.", -1);
    if (p.length != 4 || !groupOfRegion.containsKey(p[0])) {
      metrics.tokenRejected("ryw", "malformed");
      return null;
    }
    long pos;
    long exp;
    try {
      pos = Long.parseLong(p[1]);
      exp = Long.parseLong(p[2]);
    } catch (NumberFormatException e) {
      metrics.tokenRejected("ryw", "malformed");
      return null;
    }
    if (!rywMac.verify(ProxyTokens.rywPayload(user, p[0], pos, exp), p[3])) {
      metrics.tokenRejected("ryw", "bad_signature");
      return null;
    }
    if (exp <= System.currentTimeMillis() / 1000) {
      metrics.tokenRejected("ryw", "expired");
      return null;
    }
    return new RywToken(p[0], pos);
  }

  String mintRyw(String user, String home, long position) {
    long exp = System.currentTimeMillis() / 1000 + cfg.readYourWrites().ttl().toSeconds();
    return home + "." + position + "." + exp + "." + rywMac.sign(ProxyTokens.rywPayload(user, home, position, exp));
  }
}
