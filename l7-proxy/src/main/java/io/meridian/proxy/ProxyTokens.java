package io.meridian.proxy;

import io.meridian.proxy.impl.Hmac;

/**
 * Mints the signed values the proxy reads, for applications (and tests) that share the secret.
 *
 * <pre>{@code
 * // the application decided alice lives in eu-west; the proxy will route her home-policy requests there
 * String cookie = ProxyTokens.homeCookie(secret, "alice", "eu-west", Instant.now().plus(Duration.ofDays(30)));
 * response.addCookie(Cookie.cookie(ProxyTokens.HOME_COOKIE, cookie).setHttpOnly(true).setSecure(true));
 * }</pre>
 */
public final class ProxyTokens {
  /** Cookie carrying the signed home region. */
  public static final String HOME_COOKIE = "meridian-home";
  /** Header carrying the signed home region (for non-browser clients). */
  public static final String HOME_HEADER = "X-Meridian-Home";
  /** Cookie carrying the read-your-writes token. */
  public static final String RYW_COOKIE = "meridian-ryw";
  /** Header carrying the read-your-writes token, in responses after writes and in later requests. */
  public static final String RYW_HEADER = "X-Meridian-Token";

  private ProxyTokens() {}

  /** A {@code meridian-home} value binding {@code userId} to {@code region} until {@code expiresAt}. */
  public static String homeCookie(String secret, String userId, String region, java.time.Instant expiresAt) {
    long exp = expiresAt.getEpochSecond();
    return region + "." + exp + "." + Hmac.create(secret).sign(homePayload(userId, region, exp));
  }

  /** What a home value's signature covers: user, region and expiry, so it cannot be moved to another user. */
  public static String homePayload(String userId, String region, long exp) {
    return "home\n" + userId + "\n" + region + "\n" + exp;
  }

  /** What a read-your-writes token's signature covers. */
  public static String rywPayload(String userId, String home, long position, long exp) {
    return "ryw\n" + (userId == null ? "" : userId) + "\n" + home + "\n" + position + "\n" + exp;
  }

  /** A read-your-writes token: the user wrote at {@code position} in {@code home}; valid until {@code expiresAt}. */
  public static String rywToken(String secret, String userId, String home, long position,
      java.time.Instant expiresAt) {
    long exp = expiresAt.getEpochSecond();
    return home + "." + position + "." + exp + "." + Hmac.create(secret).sign(rywPayload(userId, home, position, exp));
  }
}
