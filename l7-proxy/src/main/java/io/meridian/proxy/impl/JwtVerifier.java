package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Verifies JWS compact tokens (RFC 7515) signed with the one configured algorithm, HS256 or RS256 (RFC 7518
 * §3.2, §3.3), and reads the user and residency claims. The algorithm in the token header must equal the
 * configured one — "none" and HS256-with-the-RSA-public-key confusion are refused. {@code exp} and {@code nbf}
 * are checked (RFC 7519 §4.1.4-5). Verified tokens are cached per event loop until they expire, so an RS256
 * verification (~50 µs) is paid once per token, not per request. Not thread-safe.
 */
final class JwtVerifier {
  /** A verified token's claims, or why it was refused. */
  record Result(String user, String residencyGroup, long expiresAt, String rejected) {}

  private static final Base64.Decoder B64 = Base64.getUrlDecoder();
  private static final int CACHE_SIZE = 4096;

  private final ProxyConfig.Users cfg;
  private final Hmac hmac;
  private final PublicKey rsaKey;
  private final Map<String, Result> cache = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Result> eldest) {
      return size() > CACHE_SIZE;
    }
  };

  JwtVerifier(ProxyConfig.Users cfg) {
    this.cfg = cfg;
    this.hmac = cfg.jwtAlgorithm() == ProxyConfig.JwtAlgorithm.HS256 && cfg.jwtSecret() != null
        ? Hmac.create(cfg.jwtSecret()) : null;
    this.rsaKey = cfg.jwtAlgorithm() == ProxyConfig.JwtAlgorithm.RS256 && cfg.jwtPublicKey() != null
        ? readKey(cfg) : null;
  }

  private static PublicKey readKey(ProxyConfig.Users cfg) {
    try {
      String pem = Files.readString(cfg.jwtPublicKey());
      String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
      return KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(b64)));
    } catch (Exception e) {
      throw new IllegalArgumentException("proxy.users.jwt.public_key_file: cannot read an RSA public key from "
          + cfg.jwtPublicKey() + " (expected PEM SubjectPublicKeyInfo): " + e.getMessage(), e);
    }
  }

  Result verify(String token, long nowSeconds) {
    Result cached = cache.get(token);
    if (cached != null) {
      if (cached.rejected == null && cached.expiresAt > 0 && cached.expiresAt <= nowSeconds) {
        return new Result(null, null, 0, "expired");
      }
      return cached;
    }
    Result r = verifyUncached(token, nowSeconds);
    if (r.rejected == null || r.rejected.equals("bad_signature")) {
      cache.put(token, r);
    }
    return r;
  }

  private Result verifyUncached(String token, long now) {
    int d1 = token.indexOf('.');
    int d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
    if (d1 <= 0 || d2 < 0 || token.indexOf('.', d2 + 1) >= 0) {
      return new Result(null, null, 0, "malformed");
    }
    JsonObject header;
    JsonObject claims;
    byte[] sig;
    try {
      header = new JsonObject(Buffer.buffer(B64.decode(token.substring(0, d1))));
      claims = new JsonObject(Buffer.buffer(B64.decode(token.substring(d1 + 1, d2))));
      sig = B64.decode(token.substring(d2 + 1));
    } catch (RuntimeException e) {
      return new Result(null, null, 0, "malformed");
    }
    if (!cfg.jwtAlgorithm().name().equals(header.getString("alg"))) {
      return new Result(null, null, 0, "wrong_algorithm");
    }
    byte[] signingInput = token.substring(0, d2).getBytes(StandardCharsets.US_ASCII);
    boolean ok;
    if (hmac != null) {
      ok = hmac.verify(signingInput, sig);
    } else if (rsaKey != null) {
      try {
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initVerify(rsaKey);
        s.update(signingInput);
        ok = s.verify(sig);
      } catch (GeneralSecurityException e) {
        ok = false;
      }
    } else {
      ok = false;
    }
    if (!ok) {
      return new Result(null, null, 0, "bad_signature");
    }
    long exp = claims.getValue("exp") instanceof Number n ? n.longValue() : 0;
    if (exp > 0 && exp <= now) {
      return new Result(null, null, 0, "expired");
    }
    if (claims.getValue("nbf") instanceof Number nbf && nbf.longValue() > now) {
      return new Result(null, null, 0, "not_yet_valid");
    }
    Object user = claims.getValue(cfg.userClaim());
    if (!(user instanceof String u) || u.isEmpty()) {
      return new Result(null, null, 0, "no_user_claim");
    }
    Object group = cfg.residencyClaim() == null ? null : claims.getValue(cfg.residencyClaim());
    return new Result(u, group instanceof String g ? g : null, exp, null);
  }
}
