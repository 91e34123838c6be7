package io.meridian.proxy.impl;

import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObject;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import io.meridian.config.JwtConfig;
import java.text.ParseException;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Verifies JWS compact tokens (RFC 7515, RFC 7519) with nimbus-jose-jwt against the keys in force ({@link JwtKeys})
 * and reads the user and residency claims. In order, a token is refused (the reason is the metric label) when:
 * it is not a JWS ({@code malformed}); its {@code alg} is {@code none} or not in {@code algorithms}
 * ({@code wrong_algorithm}); it carries a {@code crit} header ({@code malformed}: no extension is understood);
 * no keys are loaded ({@code keys_unavailable}); its {@code kid} names a key of another type — HS256 with an RSA key's
 * kid — ({@code wrong_algorithm}); its {@code kid} names no key and no key without kid verifies it
 * ({@code unknown_key}: a JWKS refresh is requested, rate-limited, and this request does not wait for it); no key
 * verifies the signature ({@code bad_signature}); {@code exp} ≤ now − skew ({@code expired}); {@code nbf} or
 * {@code iat} > now + skew ({@code not_yet_valid}); {@code iss} differs from {@code issuer} ({@code wrong_issuer});
 * {@code aud} names none of {@code audience} ({@code wrong_audience}); the user claim is missing
 * ({@code no_user_claim}).
 *
 * <p>Verified tokens are cached per event loop until they expire (4096, least recently used first), so a
 * signature check is paid once per token, not per request; refusals that depend only on the token and the keys
 * (bad signature, issuer, audience, user claim) are cached too. The cache empties when the keys in force change.
 * Not thread-safe: one per event loop.
 */
final class JwtVerifier {
  /** A verified token's claims, or why it was refused. {@code expiresAt}: exp + skew in epoch seconds, 0 none. */
  record Result(String user, String residencyGroup, long expiresAt, String rejected) {}

  static final String MALFORMED = "malformed";
  static final String WRONG_ALGORITHM = "wrong_algorithm";
  static final String KEYS_UNAVAILABLE = "keys_unavailable";
  static final String UNKNOWN_KEY = "unknown_key";
  static final String BAD_SIGNATURE = "bad_signature";
  static final String EXPIRED = "expired";
  static final String NOT_YET_VALID = "not_yet_valid";
  static final String WRONG_ISSUER = "wrong_issuer";
  static final String WRONG_AUDIENCE = "wrong_audience";
  static final String NO_USER_CLAIM = "no_user_claim";
  /** Every reason, as documented (l7-proxy/README.md) and counted. */
  static final List<String> REASONS = List.of(MALFORMED, WRONG_ALGORITHM, KEYS_UNAVAILABLE, UNKNOWN_KEY,
      BAD_SIGNATURE, EXPIRED, NOT_YET_VALID, WRONG_ISSUER, WRONG_AUDIENCE, NO_USER_CLAIM);

  private static final Result R_MALFORMED = refused(MALFORMED);
  private static final Result R_WRONG_ALGORITHM = refused(WRONG_ALGORITHM);
  private static final Result R_KEYS_UNAVAILABLE = refused(KEYS_UNAVAILABLE);
  private static final Result R_UNKNOWN_KEY = refused(UNKNOWN_KEY);
  private static final Result R_BAD_SIGNATURE = refused(BAD_SIGNATURE);
  private static final Result R_EXPIRED = refused(EXPIRED);
  private static final Result R_NOT_YET_VALID = refused(NOT_YET_VALID);
  private static final Result R_WRONG_ISSUER = refused(WRONG_ISSUER);
  private static final Result R_WRONG_AUDIENCE = refused(WRONG_AUDIENCE);
  private static final Result R_NO_USER_CLAIM = refused(NO_USER_CLAIM);

  private static final int CACHE_SIZE = 4096;

  private final JwtConfig cfg;
  private final Supplier<JwtKeys> keys;
  private final Set<JWSAlgorithm> allowed;
  private final long skew;
  /** The index the cache's entries were verified against. */
  private JwtKeys.Index cachedFor;
  private final Map<String, Result> cache = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Result> eldest) {
      return size() > CACHE_SIZE;
    }
  };

  /** @param keys  the keys in force now (read per verification: they are swapped when the config changes) */
  JwtVerifier(JwtConfig cfg, Supplier<JwtKeys> keys) {
    this.cfg = cfg;
    this.keys = keys;
    this.allowed = cfg.algorithms().stream().map(a -> JWSAlgorithm.parse(a.name()))
        .collect(java.util.stream.Collectors.toUnmodifiableSet());
    this.skew = cfg.clockSkew().toSeconds();
  }

  private static Result refused(String reason) {
    return new Result(null, null, 0, reason);
  }

  Result verify(String token, long nowSeconds) {
    JwtKeys k = keys.get();
    JwtKeys.Index index = k == null ? JwtKeys.Index.EMPTY : k.index();
    if (index != cachedFor) {
      cache.clear();
      cachedFor = index;
    }
    Result cached = cache.get(token);
    if (cached != null) {
      if (cached.rejected == null && cached.expiresAt > 0 && cached.expiresAt <= nowSeconds) {
        cache.remove(token);
        return R_EXPIRED;
      }
      return cached;
    }
    Result r = verifyUncached(token, nowSeconds, index, k);
    if (r.rejected == null || r == R_BAD_SIGNATURE || r == R_WRONG_ISSUER || r == R_WRONG_AUDIENCE
        || r == R_NO_USER_CLAIM) {
      cache.put(token, r);
    }
    return r;
  }

  private Result verifyUncached(String token, long now, JwtKeys.Index index, JwtKeys k) {
    JWSObject jws;
    try {
      jws = JWSObject.parse(token);
    } catch (ParseException e) {
      return notJws(token);
    }
    JWSHeader h = jws.getHeader();
    if (!allowed.contains(h.getAlgorithm())) {
      return R_WRONG_ALGORITHM;
    }
    if (h.getCriticalParams() != null && !h.getCriticalParams().isEmpty()) {
      return R_MALFORMED; // RFC 7515 §4.1.11: a critical extension this verifier does not understand
    }
    if (index.size() == 0) {
      if (k != null) {
        k.unknownKey();
      }
      return R_KEYS_UNAVAILABLE;
    }
    Result refused = checkSignature(jws, h, index, k);
    if (refused != null) {
      return refused;
    }
    JWTClaimsSet c;
    long exp;
    long nbf;
    long iat;
    List<String> aud;
    try {
      Map<String, Object> json = jws.getPayload().toJSONObject();
      if (json == null) {
        return R_MALFORMED;
      }
      c = JWTClaimsSet.parse(json);
      exp = seconds(c.getExpirationTime());
      nbf = seconds(c.getNotBeforeTime());
      iat = seconds(c.getIssueTime());
      aud = c.getAudience();
    } catch (ParseException | RuntimeException e) {
      return R_MALFORMED;
    }
    if (exp != Long.MIN_VALUE && exp + skew <= now) {
      return R_EXPIRED;
    }
    if ((nbf != Long.MIN_VALUE && nbf - skew > now) || (iat != Long.MIN_VALUE && iat - skew > now)) {
      return R_NOT_YET_VALID;
    }
    if (cfg.issuer() != null && !cfg.issuer().equals(c.getIssuer())) {
      return R_WRONG_ISSUER;
    }
    if (!cfg.audiences().isEmpty() && (aud == null || aud.stream().noneMatch(cfg.audiences()::contains))) {
      return R_WRONG_AUDIENCE;
    }
    Object user = c.getClaim(cfg.userClaim());
    if (!(user instanceof String u) || u.isEmpty()) {
      return R_NO_USER_CLAIM;
    }
    Object group = cfg.residencyClaim() == null ? null : c.getClaim(cfg.residencyClaim());
    return new Result(u, group instanceof String g ? g : null, exp == Long.MIN_VALUE ? 0 : exp + skew, null);
  }

  /** Null when a key in force verifies the signature, else why not. */
  private static Result checkSignature(JWSObject jws, JWSHeader h, JwtKeys.Index index, JwtKeys k) {
    JWSAlgorithm alg = h.getAlgorithm();
    String kid = h.getKeyID();
    byte[] input = jws.getSigningInput();
    Base64URL sig = jws.getSignature();
    JwtKeys.Key[] named = kid == null ? null : index.byKid.get(kid);
    if (named != null) {
      // the kid decides the key: a token may not pick a key of another type (HS256 "signed" with an RSA public key)
      boolean fits = false;
      for (JwtKeys.Key key : named) {
        if (key.algorithms().contains(alg)) {
          fits = true;
          if (verifies(key, h, input, sig)) {
            return null;
          }
        }
      }
      return fits ? R_BAD_SIGNATURE : R_WRONG_ALGORITHM;
    }
    boolean fits = false;
    for (JwtKeys.Key key : kid == null ? index.all : index.kidless) {
      if (key.algorithms().contains(alg)) {
        fits = true;
        if (verifies(key, h, input, sig)) {
          return null;
        }
      }
    }
    if (kid != null || !fits) {
      // a kid we have not seen (a rotation the last fetch predates), or no key for this algorithm at all
      if (k != null) {
        k.unknownKey();
      }
      return R_UNKNOWN_KEY;
    }
    return R_BAD_SIGNATURE;
  }

  private static boolean verifies(JwtKeys.Key key, JWSHeader h, byte[] input, Base64URL sig) {
    try {
      return key.verifier().verify(h, input, sig);
    } catch (JOSEException | RuntimeException e) {
      return false;
    }
  }

  private static long seconds(Date d) {
    return d == null ? Long.MIN_VALUE : d.getTime() / 1000;
  }

  /** Why a token nimbus does not parse as a JWS is refused: "none" and JWE algorithms are the wrong algorithm. */
  private static Result notJws(String token) {
    try {
      Base64URL[] parts = JOSEObject.split(token);
      Header header = Header.parse(parts[0]);
      return header instanceof JWSHeader ? R_MALFORMED : R_WRONG_ALGORITHM;
    } catch (ParseException | RuntimeException e) {
      return R_MALFORMED;
    }
  }
}
