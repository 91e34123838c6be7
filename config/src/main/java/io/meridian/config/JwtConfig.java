package io.meridian.config;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * How the proxy verifies user tokens ({@code proxy.users.jwt}): which JWS algorithms it accepts, where the keys come
 * from (an HMAC secret, a PEM public key, a JWK set in a file or at an HTTPS URL), and which claims a token must
 * carry (issuer, audience, validity window with a clock skew).
 *
 * @param algorithms              the only algorithms a token's header may name; never {@code none}
 * @param secret                  HMAC key for HS256/HS384/HS512 (UTF-8), or null
 * @param publicKeyFile           PEM public key file (RSA, EC or Ed25519/Ed448), or null
 * @param publicKey               that key, read and checked when the config was loaded
 * @param jwksFile                JWK set file (RFC 7517 §5), re-read when it changes, or null
 * @param jwksUrl                 https:// URL of a JWK set, fetched in the background, or null
 * @param jwksCaFile              PEM CA certificates the JWKS server is verified against instead of the JDK's
 * @param jwksRefreshInterval     how often the JWKS URL is fetched
 * @param jwksMinRefreshInterval  at most one fetch triggered by unknown keys per this interval
 * @param issuer                  required {@code iss}, or null for any
 * @param audiences               a token's {@code aud} must name one of these; empty for any
 * @param clockSkew               leeway for {@code exp}, {@code nbf} and {@code iat}
 * @param userClaim               claim holding the user id
 * @param residencyClaim          claim holding the user's residency group, or null
 */
public record JwtConfig(List<Algorithm> algorithms, String secret, Path publicKeyFile, PublicKey publicKey,
    Path jwksFile, URI jwksUrl, Path jwksCaFile, Duration jwksRefreshInterval, Duration jwksMinRefreshInterval,
    String issuer, List<String> audiences, Duration clockSkew, String userClaim, String residencyClaim) {

  /** JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) the proxy can verify. */
  public enum Algorithm {
    HS256(Family.HMAC, 32), HS384(Family.HMAC, 48), HS512(Family.HMAC, 64),
    RS256(Family.RSA, 0), RS384(Family.RSA, 0), RS512(Family.RSA, 0),
    PS256(Family.RSA, 0), PS384(Family.RSA, 0), PS512(Family.RSA, 0),
    ES256(Family.EC, 0), ES384(Family.EC, 0), ES512(Family.EC, 0),
    EdDSA(Family.OKP, 0);

    /** The kind of key an algorithm verifies with. */
    public enum Family { HMAC, RSA, EC, OKP }

    private final Family family;
    private final int minSecretBytes;

    Algorithm(Family family, int minSecretBytes) {
      this.family = family;
      this.minSecretBytes = minSecretBytes;
    }

    public Family family() {
      return family;
    }

    /** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
    public int minSecretBytes() {
      return minSecretBytes;
    }

    /** The EC curve (JWK {@code crv}) of an ES algorithm, else null. */
    public String curve() {
      return switch (this) {
        case ES256 -> "P-256";
        case ES384 -> "P-384";
        case ES512 -> "P-521";
        default -> null;
      };
    }

    static Algorithm byName(String s) {
      for (Algorithm a : values()) {
        if (a.name().equalsIgnoreCase(s)) {
          return a;
        }
      }
      return null;
    }
  }

  public static final Duration DEFAULT_REFRESH = Duration.ofMinutes(5);
  public static final Duration DEFAULT_MIN_REFRESH = Duration.ofSeconds(30);
  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);
  /** Largest clock skew accepted: more would keep an expired token alive for long. */
  public static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(10);
  /** Largest JWK set read from a file or a URL. */
  public static final int MAX_JWKS_BYTES = 1 << 20;

  public static final JwtConfig NONE = new JwtConfig(List.of(Algorithm.HS256), null, null, null, null, null, null,
      DEFAULT_REFRESH, DEFAULT_MIN_REFRESH, null, List.of(), DEFAULT_CLOCK_SKEW, "sub", null);

  static final Set<String> KEYS = Set.of("algorithm", "algorithms", "secret", "public_key_file", "jwks_file",
      "jwks_url", "jwks_ca_file", "jwks_refresh_interval", "jwks_min_refresh_interval", "issuer", "audience",
      "clock_skew", "user_claim", "residency_claim");

  private static final List<String> ALGORITHM_NAMES = Arrays.stream(Algorithm.values()).map(Enum::name).toList();

  /**
   * Parses {@code proxy.users.jwt}. With {@code check} false (the user source is not jwt) values are read and their
   * form checked, but nothing is required and no file is read.
   */
  static JwtConfig parse(ConfigNode jwt, Path baseDir, boolean check) {
    jwt.rejectUnknownKeys(KEYS);
    String secret = jwt.string("secret", null);
    String keyFile = jwt.string("public_key_file", null);
    String jwksFile = jwt.string("jwks_file", null);
    String jwksUrl = jwt.string("jwks_url", null);
    String caFile = jwt.string("jwks_ca_file", null);
    List<Algorithm> algorithms = algorithms(jwt, secret != null && keyFile == null && jwksFile == null
        && jwksUrl == null);

    Path key = keyFile == null ? null : baseDir.resolve(keyFile);
    Path jwks = jwksFile == null ? null : baseDir.resolve(jwksFile);
    Path ca = caFile == null ? null : baseDir.resolve(caFile);
    URI url = jwksUrl == null ? null : url(jwt.child("jwks_url"), jwksUrl);
    Duration refresh = jwt.duration("jwks_refresh_interval", DEFAULT_REFRESH, Duration.ofSeconds(1));
    Duration minRefresh = jwt.duration("jwks_min_refresh_interval", DEFAULT_MIN_REFRESH, Duration.ofSeconds(1));
    Duration skew = jwt.duration("clock_skew", DEFAULT_CLOCK_SKEW, Duration.ZERO);
    if (skew.compareTo(MAX_CLOCK_SKEW) > 0) {
      jwt.problem("clock_skew", "must be at most " + ConfigNode.formatDuration(MAX_CLOCK_SKEW) + ", got "
          + jwt.string("clock_skew", null));
      skew = DEFAULT_CLOCK_SKEW;
    }
    String issuer = jwt.string("issuer", null);
    if (issuer != null && issuer.isEmpty()) {
      jwt.problem("issuer", "must not be empty (leave it out to accept any issuer)");
    }
    List<String> audiences = List.copyOf(jwt.stringList("audience"));
    if (jwt.child("audience").isPresent() && (audiences.isEmpty() || audiences.contains(""))) {
      jwt.problem("audience", "must name at least one audience, none empty, got " + audiences);
    }
    if (jwksFile != null && jwksUrl != null) {
      jwt.problem("jwks_url", "set jwks_file or jwks_url, not both (got jwks_file '" + jwksFile + "' too)");
    }
    if (caFile != null && jwksUrl == null) {
      jwt.problem("jwks_ca_file", "only applies with jwks_url (the CA the JWKS server's certificate is checked"
          + " against), and jwks_url is not set");
    }
    for (String k : List.of("jwks_refresh_interval", "jwks_min_refresh_interval")) {
      if (jwt.child(k).isPresent() && jwksUrl == null) {
        jwt.problem(k, "only applies with jwks_url (a jwks_file is re-read when it changes), and jwks_url is not"
            + " set");
      }
    }
    if (minRefresh.compareTo(refresh) > 0) {
      jwt.problem("jwks_min_refresh_interval", "must not exceed jwks_refresh_interval ("
          + ConfigNode.formatDuration(refresh) + "), got " + ConfigNode.formatDuration(minRefresh));
    }

    PublicKey publicKey = null;
    if (check) {
      boolean anyKey = secret != null || keyFile != null || jwksFile != null || jwksUrl != null;
      if (!anyKey) {
        jwt.problem("set secret, public_key_file, jwks_file or jwks_url (where the keys that sign user tokens come"
            + " from)");
      }
      EnumSet<Algorithm.Family> families = EnumSet.noneOf(Algorithm.Family.class);
      algorithms.forEach(a -> families.add(a.family()));
      int minSecret = algorithms.stream().mapToInt(Algorithm::minSecretBytes).max().orElse(0);
      Algorithm strongestHs = algorithms.stream().filter(a -> a.family() == Algorithm.Family.HMAC)
          .reduce((a, b) -> a.minSecretBytes() >= b.minSecretBytes() ? a : b).orElse(null);
      if (strongestHs != null) {
        int len = secret == null ? 0 : secret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (secret == null || len < minSecret) {
          jwt.problem("secret", "is required for " + strongestHs + " and must be at least " + minSecret
              + " characters (RFC 7518 §3.2: a key as long as the hash), got "
              + (secret == null ? "none" : len + " characters"));
        }
      } else if (secret != null) {
        jwt.problem("secret", "is set, but algorithms " + names(algorithms) + " has no HS256/HS384/HS512: the"
            + " secret would never be used");
      }
      boolean asymmetric = families.contains(Algorithm.Family.RSA) || families.contains(Algorithm.Family.EC)
          || families.contains(Algorithm.Family.OKP);
      if (!asymmetric) {
        for (String k : List.of("public_key_file", "jwks_file", "jwks_url")) {
          if (jwt.child(k).isPresent()) {
            jwt.problem(k, "is set, but algorithms " + names(algorithms) + " has only HMAC algorithms, which"
                + " verify with secret: list the algorithms the keys sign with, e.g. [RS256, ES256]");
          }
        }
      }
      if (key != null) {
        publicKey = publicKey(jwt.child("public_key_file"), key, algorithms);
      }
      if (jwks != null) {
        checkJwksFile(jwt.child("jwks_file"), jwks);
      }
      if (ca != null && !Files.isReadable(ca)) {
        jwt.problem("jwks_ca_file", "cannot read '" + ca + "' (expected PEM CA certificates)");
      }
      if (url != null) {
        // any tenant of a shared identity provider, or any other application of it, gets tokens signed by the same
        // keys: without these checks they would all be accepted here
        if (issuer == null) {
          jwt.problem("issuer", "is required with jwks_url: tokens of every issuer signing with these keys would be"
              + " accepted (set the identity provider's issuer, e.g. https://tenant.example.com/)");
        }
        if (audiences.isEmpty()) {
          jwt.problem("audience", "is required with jwks_url: tokens the identity provider issues for any other"
              + " application would be accepted (set this API's audience / client id)");
        }
      }
    }
    return new JwtConfig(algorithms, secret, key, publicKey, jwks, url, ca, refresh, minRefresh, issuer, audiences,
        skew, jwt.string("user_claim", "sub"), jwt.string("residency_claim", null));
  }

  /** {@code algorithms} (a list), or the older {@code algorithm} (one), or HS256 when only a secret is given. */
  private static List<Algorithm> algorithms(ConfigNode jwt, boolean onlySecret) {
    ConfigNode one = jwt.child("algorithm");
    ConfigNode many = jwt.child("algorithms");
    if (one.isPresent() && many.isPresent()) {
      one.problem("set algorithm or algorithms, not both (algorithm: X is the same as algorithms: [X])");
      return List.of(Algorithm.HS256);
    }
    List<String> names;
    ConfigNode at;
    if (many.isPresent()) {
      names = jwt.stringList("algorithms");
      at = many;
    } else if (one.isPresent()) {
      String s = one.asString(null);
      names = s == null ? List.of() : List.of(s);
      at = one;
    } else {
      if (!onlySecret && (jwt.child("public_key_file").isPresent() || jwt.child("jwks_file").isPresent()
          || jwt.child("jwks_url").isPresent())) {
        jwt.problem("algorithms", "is required with public_key_file, jwks_file or jwks_url: list the algorithms"
            + " your identity provider signs with, e.g. [RS256] (one of " + ALGORITHM_NAMES + ")");
      }
      return List.of(Algorithm.HS256);
    }
    List<Algorithm> out = new ArrayList<>();
    for (String n : names) {
      Algorithm a = Algorithm.byName(n);
      if ("none".equalsIgnoreCase(n)) {
        at.problem("must not contain 'none': an unsigned token would be trusted (one of " + ALGORITHM_NAMES + ")");
      } else if (a == null) {
        at.problem("must be one of " + ALGORITHM_NAMES + ", got '" + n + "'");
      } else if (out.contains(a)) {
        at.problem("names " + a + " twice");
      } else {
        out.add(a);
      }
    }
    if (out.isEmpty() && names.isEmpty()) {
      at.problem("must name at least one of " + ALGORITHM_NAMES);
    }
    return out.isEmpty() ? List.of(Algorithm.HS256) : List.copyOf(out);
  }

  private static String names(List<Algorithm> algorithms) {
    return algorithms.stream().map(Enum::name).toList().toString();
  }

  private static URI url(ConfigNode at, String s) {
    URI u;
    try {
      u = new URI(s);
    } catch (java.net.URISyntaxException e) {
      at.problem("must be an https:// URL, got '" + s + "' (" + e.getReason() + ")");
      return null;
    }
    if (!"https".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
      at.problem("must be an https:// URL with a host (keys fetched in clear text could be replaced on the way),"
          + " got '" + s + "'");
      return null;
    }
    return u;
  }

  /** Reads a PEM SubjectPublicKeyInfo and checks that one of the algorithms can use it. */
  private static PublicKey publicKey(ConfigNode at, Path file, List<Algorithm> algorithms) {
    String expected = "a PEM public key ('-----BEGIN PUBLIC KEY-----', X.509 SubjectPublicKeyInfo) of an RSA, EC"
        + " (P-256, P-384, P-521) or Ed25519/Ed448 key";
    byte[] der;
    try {
      String pem = Files.readString(file);
      if (!pem.contains("-----BEGIN PUBLIC KEY-----")) {
        at.problem("'" + file + "' is not " + expected);
        return null;
      }
      String b64 = pem.substring(pem.indexOf("-----BEGIN PUBLIC KEY-----") + 26);
      int end = b64.indexOf("-----END PUBLIC KEY-----");
      der = Base64.getMimeDecoder().decode(end < 0 ? b64 : b64.substring(0, end));
    } catch (java.io.IOException | IllegalArgumentException e) {
      at.problem("cannot read '" + file + "' (expected " + expected + "): " + e.getMessage());
      return null;
    }
    PublicKey key = null;
    for (String type : List.of("RSA", "EC", "EdDSA")) {
      try {
        key = KeyFactory.getInstance(type).generatePublic(new X509EncodedKeySpec(der));
        break;
      } catch (java.security.GeneralSecurityException e) {
        // not this type: try the next
      }
    }
    if (key == null) {
      at.problem("'" + file + "' is not " + expected);
      return null;
    }
    String fits = fits(key, algorithms);
    if (fits != null) {
      at.problem("'" + file + "' " + fits);
      return null;
    }
    return key;
  }

  /** Why none of {@code algorithms} can verify with {@code key}, or null when one can. */
  static String fits(PublicKey key, List<Algorithm> algorithms) {
    if (key instanceof RSAPublicKey rsa) {
      if (rsa.getModulus().bitLength() < 2048) {
        return "holds a " + rsa.getModulus().bitLength() + "-bit RSA key; at least 2048 bits are required"
            + " (RFC 7518 §3.3)";
      }
      return algorithms.stream().anyMatch(a -> a.family() == Algorithm.Family.RSA) ? null
          : "holds an RSA key, but algorithms " + names(algorithms) + " has no RS256..RS512/PS256..PS512";
    }
    if (key instanceof ECPublicKey ec) {
      String curve = curveOf(ec);
      return algorithms.stream().anyMatch(a -> curve != null && curve.equals(a.curve())) ? null
          : "holds an EC key on " + (curve == null ? "an unsupported curve" : curve) + ", but algorithms "
              + names(algorithms) + " has no algorithm for it (ES256: P-256, ES384: P-384, ES512: P-521)";
    }
    return algorithms.contains(Algorithm.EdDSA) ? null
        : "holds an " + key.getAlgorithm() + " key, but algorithms " + names(algorithms) + " has no EdDSA";
  }

  /** The JWK curve name of an EC key, or null when it is none of P-256, P-384, P-521. */
  public static String curveOf(ECPublicKey key) {
    return switch (key.getParams().getCurve().getField().getFieldSize()) {
      case 256 -> "P-256";
      case 384 -> "P-384";
      case 521 -> "P-521";
      default -> null;
    };
  }

  /** The form of a JWK set file: a JSON object whose {@code keys} is an array of objects with a {@code kty}. */
  private static void checkJwksFile(ConfigNode at, Path file) {
    String expected = "a JWK set (RFC 7517 §5: a JSON object whose \"keys\" is an array of keys, each with a"
        + " \"kty\")";
    try {
      if (Files.size(file) > MAX_JWKS_BYTES) {
        at.problem("'" + file + "' has " + Files.size(file) + " bytes; a JWK set may have at most " + MAX_JWKS_BYTES);
        return;
      }
      Object top = io.vertx.core.json.Json.decodeValue(Files.readString(file));
      if (!(top instanceof JsonObject set)) {
        at.problem("'" + file + "' is not " + expected + ": its top level is "
            + (top instanceof JsonArray ? "an array" : "not an object"));
        return;
      }
      if (!(set.getValue("keys") instanceof JsonArray keys)) {
        at.problem("'" + file + "' is not " + expected + ": no \"keys\" array");
        return;
      }
      for (int i = 0; i < keys.size(); i++) {
        if (!(keys.getValue(i) instanceof JsonObject k) || !(k.getValue("kty") instanceof String)) {
          at.problem("'" + file + "' is not " + expected + ": keys[" + i + "] has no \"kty\"");
          return;
        }
      }
    } catch (java.io.IOException e) {
      at.problem("cannot read '" + file + "' (expected " + expected + "): " + e);
    } catch (DecodeException e) {
      at.problem("'" + file + "' is not " + expected + ": " + e.getMessage().lines().findFirst().orElse(""));
    } catch (ClassCastException e) {
      at.problem("'" + file + "' is not " + expected);
    }
  }
}
