package io.meridian.proxy.impl;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyOperation;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.JSONObjectUtils;
import io.meridian.config.JwtConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keys user tokens are verified with, for one {@code proxy.users.jwt} config, shared by every event loop:
 * the HMAC {@code secret}, the {@code public_key_file}'s key, and a JWK set from {@code jwks_file} or
 * {@code jwks_url}. The keys in force are one immutable {@link Index}, read with one volatile read and swapped whole
 * when a JWK set changes, so a request never waits for a load and never sees half of one.
 *
 * <p>{@code jwks_file} is stat'ed every second on a worker thread and re-read when its modification time or size
 * changes. {@code jwks_url} is fetched with the Vert.x HTTP client (TLS verified against the JDK trust store or
 * {@code jwks_ca_file}) every {@code jwks_refresh_interval}; a failed fetch keeps the last good set and is retried
 * after 1 s, 2 s, 4 s ... up to the refresh interval. A token naming an unknown {@code kid} calls
 * {@link #unknownKey()}, which starts at most one extra fetch per {@code jwks_min_refresh_interval} and returns at
 * once. Symmetric ({@code oct}) keys in a JWK set are ignored: HMAC tokens verify with {@code secret} only.
 */
final class JwtKeys {
  private static final Logger LOG = LoggerFactory.getLogger(JwtKeys.class);

  static final String SECRET = "secret";
  static final String PUBLIC_KEY_FILE = "public_key_file";
  static final String JWKS_FILE = "jwks_file";
  static final String JWKS_URL = "jwks_url";
  private static final List<String> SOURCES = List.of(SECRET, PUBLIC_KEY_FILE, JWKS_FILE, JWKS_URL);

  /** Keys of a JWK set beyond this many are ignored (a token without kid is tried against each). */
  static final int MAX_KEYS = 64;
  static final long FILE_CHECK_MS = 1000;
  static final long FETCH_TIMEOUT_MS = 10_000;
  static final long CONNECT_TIMEOUT_MS = 5_000;
  static final long FIRST_RETRY_MS = 1000;

  /** One verification key: what it may verify and with which nimbus verifier (all of them thread-safe). */
  record Key(String kid, Set<JWSAlgorithm> algorithms, JWSVerifier verifier, String source, String describe) {}

  /** The keys in force. Immutable; a new instance only when the keys changed (it empties the token caches). */
  static final class Index {
    private static final Key[] NONE = new Key[0];
    static final Index EMPTY = new Index(List.of(), Set.of());

    final Key[] all;
    /** Keys without a kid: tried for any token whose kid names no key. */
    final Key[] kidless;
    final Map<String, Key[]> byKid;
    /** The JWK set's keys these were made from (change detection, seeding after a config change). */
    final Set<JWK> jwks;

    Index(List<Key> keys, Set<JWK> jwks) {
      this.all = keys.toArray(NONE);
      this.kidless = keys.stream().filter(k -> k.kid() == null).toArray(Key[]::new);
      Map<String, List<Key>> m = new HashMap<>();
      for (Key k : keys) {
        if (k.kid() != null) {
          m.computeIfAbsent(k.kid(), x -> new ArrayList<>()).add(k);
        }
      }
      Map<String, Key[]> byKid = new HashMap<>();
      m.forEach((kid, l) -> byKid.put(kid, l.toArray(NONE)));
      this.byKid = Map.copyOf(byKid);
      this.jwks = Set.copyOf(jwks);
    }

    int size() {
      return all.length;
    }

    int count(String source) {
      int n = 0;
      for (Key k : all) {
        if (k.source().equals(source)) {
          n++;
        }
      }
      return n;
    }
  }

  /** A JWK set read and turned into keys (on a worker). */
  private record Parsed(Set<JWK> jwks, List<Key> keys, List<String> skipped) {}

  final JwtConfig cfg;
  private final Vertx vertx;
  private final ProxyMetrics metrics;
  private final Set<JWSAlgorithm> allowed;
  private final List<Key> staticKeys;
  private final Set<JWK> seed;
  private volatile Index index = Index.EMPTY;
  private volatile Context context;
  private volatile HttpClient client;
  private final AtomicBoolean fetching = new AtomicBoolean();
  private final AtomicBoolean checkingFile = new AtomicBoolean();
  /** System.nanoTime() from which an unknown kid may trigger the next fetch. */
  private final AtomicLong nextTrigger = new AtomicLong(System.nanoTime());
  private final long minRefreshNanos;
  private volatile List<Long> fileStamp;
  private long fetchTimer = -1;
  private long fileTimer = -1;
  private int failures;
  private volatile boolean closed;
  /** Whether these are the keys in force (the role put them there): only then do they set the gauges. */
  private volatile boolean active;

  /**
   * @param previous  the keys of the config this one replaces, or null: when it fetched the same URL, its JWK set
   *                  serves until this one's first fetch, so a config change does not refuse tokens meanwhile
   */
  JwtKeys(Vertx vertx, JwtConfig cfg, ProxyMetrics metrics, JwtKeys previous) {
    this.vertx = vertx;
    this.cfg = cfg;
    this.metrics = metrics;
    Set<JWSAlgorithm> a = new LinkedHashSet<>();
    cfg.algorithms().forEach(x -> a.add(JWSAlgorithm.parse(x.name())));
    this.allowed = Collections.unmodifiableSet(a);
    this.minRefreshNanos = cfg.jwksMinRefreshInterval().toNanos();
    this.staticKeys = staticKeys(cfg, allowed);
    this.seed = previous != null && cfg.jwksUrl() != null && cfg.jwksUrl().equals(previous.cfg.jwksUrl())
        && java.util.Objects.equals(cfg.jwksCaFile(), previous.cfg.jwksCaFile()) ? previous.index.jwks : null;
  }

  /** The keys in force: one volatile read. */
  Index index() {
    return index;
  }

  /**
   * Loads what there is to load: the JWK set file (a file that cannot be read or parsed fails the start) and the
   * first fetch of the URL (whose failure does not: the proxy serves, tokens are refused until keys arrive). A
   * start seeded from the previous config's keys does not wait for the fetch.
   */
  Future<Void> start() {
    context = vertx.getOrCreateContext();
    Promise<Void> started = Promise.promise();
    context.runOnContext(v -> {
      List<Key> dynamic = new ArrayList<>();
      if (seed != null) {
        for (JWK jwk : seed) {
          try {
            dynamic.add(keyOf(jwk, JWKS_URL));
          } catch (IllegalArgumentException e) {
            // not usable with these algorithms: as a fresh fetch would find
          }
        }
      }
      index = new Index(concat(staticKeys, dynamic), seed == null ? Set.of() : seed);
      Future<Void> first = Future.succeededFuture();
      if (cfg.jwksFile() != null) {
        first = loadFile(true).mapEmpty();
        fileTimer = vertx.setPeriodic(FILE_CHECK_MS, id -> {
          if (checkingFile.compareAndSet(false, true)) {
            loadFile(false).onComplete(ar -> checkingFile.set(false));
          }
        });
      }
      if (cfg.jwksUrl() != null) {
        HttpClientOptions o = new HttpClientOptions().setVerifyHost(true).setKeepAlive(false)
            .setConnectTimeout((int) CONNECT_TIMEOUT_MS).setName("meridian-jwks");
        if (cfg.jwksCaFile() != null) {
          o.setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(cfg.jwksCaFile().toString()));
        }
        client = vertx.createHttpClient(o);
        Future<Void> fetched = fetch();
        first = seed != null ? first : first.compose(x -> fetched);
      }
      first.onComplete(started);
    });
    return started.future();
  }

  /**
   * A token named a kid that no key has (or there are no keys): fetch the URL again unless a triggered fetch
   * started less than {@code jwks_min_refresh_interval} ago or one is running. Returns at once, on any thread.
   */
  void unknownKey() {
    if (client == null || closed || fetching.get()) {
      return;
    }
    long now = System.nanoTime();
    long next = nextTrigger.get();
    if (now - next < 0 || !nextTrigger.compareAndSet(next, now + minRefreshNanos)) {
      return;
    }
    context.runOnContext(v -> fetch());
  }

  /** Fetches the URL once (on this object's context); completes when the result has been applied. */
  private Future<Void> fetch() {
    if (closed || !fetching.compareAndSet(false, true)) {
      return Future.succeededFuture();
    }
    if (fetchTimer >= 0) {
      vertx.cancelTimer(fetchTimer);
      fetchTimer = -1;
    }
    Promise<Buffer> body = Promise.promise();
    long guard = vertx.setTimer(FETCH_TIMEOUT_MS,
        id -> body.tryFail(new TimeoutException("no complete answer within " + FETCH_TIMEOUT_MS / 1000 + "s")));
    client.request(new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(cfg.jwksUrl().toString())
            .putHeader("accept", "application/json, application/jwk-set+json")
            .putHeader("user-agent", "meridian-proxy"))
        .onFailure(body::tryFail)
        .onSuccess(req -> {
          body.future().onFailure(e -> req.reset());
          req.send().onFailure(body::tryFail).onSuccess(resp -> {
            if (resp.statusCode() != 200) {
              body.tryFail(new IOException("HTTP " + resp.statusCode() + " " + resp.statusMessage()));
              return;
            }
            Buffer acc = Buffer.buffer();
            resp.handler(b -> {
              if (acc.length() + b.length() > JwtConfig.MAX_JWKS_BYTES) {
                body.tryFail(new IOException("JWK set larger than " + JwtConfig.MAX_JWKS_BYTES + " bytes"));
              } else {
                acc.appendBuffer(b);
              }
            });
            resp.exceptionHandler(body::tryFail);
            resp.endHandler(x -> body.tryComplete(acc));
          });
        });
    return body.future()
        .compose(b -> context.executeBlocking(() -> parse(b.toString(StandardCharsets.UTF_8), JWKS_URL), false))
        .transform(ar -> {
          vertx.cancelTimer(guard);
          fetching.set(false);
          if (ar.succeeded()) {
            failures = 0;
            applied(ar.result(), JWKS_URL, cfg.jwksUrl().toString());
          } else {
            failures++;
            failed(JWKS_URL, cfg.jwksUrl().toString(), ar.cause());
          }
          scheduleFetch();
          return Future.succeededFuture();
        });
  }

  private void scheduleFetch() {
    if (closed) {
      return;
    }
    long every = cfg.jwksRefreshInterval().toMillis();
    long delay = failures == 0 ? every : Math.min(every, FIRST_RETRY_MS << Math.min(failures - 1, 20));
    fetchTimer = vertx.setTimer(delay, id -> {
      fetchTimer = -1;
      fetch();
    });
  }

  /** Reads the JWK set file if it changed (always when {@code initial}); on a worker, applied on the context. */
  private Future<Void> loadFile(boolean initial) {
    Path file = cfg.jwksFile();
    return context.<Parsed>executeBlocking(() -> {
      List<Long> stamp = stamp(file);
      if (!initial && stamp.equals(fileStamp)) {
        return null;
      }
      fileStamp = stamp;
      if (Files.size(file) > JwtConfig.MAX_JWKS_BYTES) {
        throw new IOException(Files.size(file) + " bytes; a JWK set may have at most " + JwtConfig.MAX_JWKS_BYTES);
      }
      return parse(Files.readString(file), JWKS_FILE);
    }, false).transform(ar -> {
      if (ar.succeeded()) {
        if (ar.result() != null) {
          applied(ar.result(), JWKS_FILE, file.toString());
        }
        return Future.succeededFuture();
      }
      failed(JWKS_FILE, file.toString(), ar.cause());
      return initial ? Future.failedFuture(new IllegalStateException("proxy.users.jwt.jwks_file '" + file
          + "': cannot load the JWK set: " + ar.cause().getMessage(), ar.cause())) : Future.succeededFuture();
    });
  }

  private static List<Long> stamp(Path file) {
    try {
      return List.of(Files.getLastModifiedTime(file).toMillis(), Files.size(file));
    } catch (IOException e) {
      return List.of(-1L, -1L);
    }
  }

  /** Swaps in the new set when it differs from the one in force. On the context. */
  private void applied(Parsed p, String source, String where) {
    metrics.jwksRefresh(source, true);
    if (closed) {
      return;
    }
    if (p.jwks().equals(index.jwks)) {
      LOG.debug("JWK set from {} unchanged ({} keys)", where, p.keys().size());
      return;
    }
    index = new Index(concat(staticKeys, p.keys()), p.jwks());
    if (active) {
      publish();
    }
    LOG.info("JWK set from {}: {} key(s) in use {}{}", where, p.keys().size(),
        p.keys().stream().map(Key::describe).toList(),
        p.skipped().isEmpty() ? "" : ", ignored: " + p.skipped());
  }

  private void failed(String source, String where, Throwable e) {
    metrics.jwksRefresh(source, false);
    Index i = index;
    int kept = i.count(source);
    String retry = source.equals(JWKS_URL) && !closed
        ? "; next attempt in " + Math.min(cfg.jwksRefreshInterval().toMillis(),
            FIRST_RETRY_MS << Math.min(Math.max(failures - 1, 0), 20)) / 1000.0 + "s"
        : source.equals(JWKS_FILE) ? "; re-read when the file changes" : "";
    LOG.warn("JWK set from {} not loaded ({}): keeping the {} key(s) in use{}", where, why(e), kept, retry);
  }

  /** The message and the innermost cause's (a TLS failure's reason is in its cause: "PKIX path building failed"). */
  private static String why(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = e.getMessage() == null ? e.toString() : e.getMessage();
    return root == e || root.getMessage() == null || msg.contains(root.getMessage()) ? msg
        : msg + ": " + root.getMessage();
  }

  /** Marks these as the keys in force and sets the key-count gauges. */
  void activate() {
    active = true;
    publish();
  }

  private void publish() {
    Index i = index;
    for (String s : SOURCES) {
      metrics.jwtKeys(s, i.count(s));
    }
  }

  /** Zeroes the key-count gauges (after this object's keys were taken out of force). */
  void publishNone() {
    for (String s : SOURCES) {
      metrics.jwtKeys(s, 0);
    }
  }

  void close() {
    closed = true;
    active = false;
    Context c = context;
    if (c != null) {
      c.runOnContext(v -> {
        if (fetchTimer >= 0) {
          vertx.cancelTimer(fetchTimer);
        }
        if (fileTimer >= 0) {
          vertx.cancelTimer(fileTimer);
        }
        if (client != null) {
          client.close();
        }
      });
    }
  }

  /** Parses a JWK set key by key: a key that cannot be used is skipped (and named in the log), not the set. */
  private Parsed parse(String text, String source) throws ParseException {
    Map<String, Object> json = JSONObjectUtils.parse(text);
    Map<String, Object>[] keys = JSONObjectUtils.getJSONObjectArray(json, "keys");
    if (keys == null) {
      throw new ParseException("not a JWK set: no \"keys\" array (RFC 7517 §5)", 0);
    }
    Set<JWK> jwks = new LinkedHashSet<>();
    List<Key> usable = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    for (int i = 0; i < keys.length; i++) {
      Object kid = keys[i] == null ? null : keys[i].get("kid");
      String name = "keys[" + i + "]" + (kid == null ? "" : " kid " + kid);
      try {
        JWK jwk = JWK.parse(keys[i]);
        jwks.add(jwk);
        if (usable.size() >= MAX_KEYS) {
          skipped.add(name + ": more than " + MAX_KEYS + " keys");
          continue;
        }
        usable.add(keyOf(jwk, source));
      } catch (ParseException | IllegalArgumentException e) {
        skipped.add(name + ": " + e.getMessage());
      }
    }
    return new Parsed(jwks, usable, skipped);
  }

  /** A verification key from a JWK, or IllegalArgumentException saying why it cannot verify any allowed token. */
  private Key keyOf(JWK jwk, String source) {
    if (jwk.getKeyUse() != null && !KeyUse.SIGNATURE.equals(jwk.getKeyUse())) {
      throw new IllegalArgumentException("use is " + jwk.getKeyUse().identifier() + ", not sig");
    }
    if (jwk.getKeyOperations() != null && !jwk.getKeyOperations().contains(KeyOperation.VERIFY)) {
      throw new IllegalArgumentException("key_ops " + jwk.getKeyOperations() + " has no verify");
    }
    Set<JWSAlgorithm> algs;
    JWSVerifier verifier;
    try {
      KeyType kty = jwk.getKeyType();
      if (KeyType.RSA.equals(kty)) {
        RSAKey rsa = jwk.toRSAKey();
        if (rsa.size() < 2048) {
          throw new IllegalArgumentException(rsa.size() + "-bit RSA key; at least 2048 bits are required");
        }
        algs = family(JwtConfig.Algorithm.Family.RSA);
        verifier = new RSASSAVerifier(rsa.toRSAPublicKey());
      } else if (KeyType.EC.equals(kty)) {
        ECKey ec = jwk.toECKey();
        JWSAlgorithm alg = Curve.P_256.equals(ec.getCurve()) ? JWSAlgorithm.ES256
            : Curve.P_384.equals(ec.getCurve()) ? JWSAlgorithm.ES384
            : Curve.P_521.equals(ec.getCurve()) ? JWSAlgorithm.ES512 : null;
        if (alg == null) {
          throw new IllegalArgumentException("EC curve " + ec.getCurve() + " is not supported (P-256, P-384, P-521)");
        }
        algs = Set.of(alg);
        verifier = new ECDSAVerifier(ec.toECPublicKey());
      } else if (KeyType.OKP.equals(kty)) {
        algs = Set.of(JWSAlgorithm.EdDSA);
        verifier = EdDsaVerifier.of((OctetKeyPair) jwk);
      } else if (KeyType.OCT.equals(kty)) {
        throw new IllegalArgumentException("symmetric keys are not read from a JWK set (HS* verify with secret)");
      } else {
        throw new IllegalArgumentException("key type " + kty + " is not supported");
      }
    } catch (JOSEException | GeneralSecurityException | ClassCastException e) {
      throw new IllegalArgumentException("not a usable public key: " + e.getMessage(), e);
    }
    if (jwk.getAlgorithm() != null) {
      JWSAlgorithm only = JWSAlgorithm.parse(jwk.getAlgorithm().getName());
      if (!algs.contains(only)) {
        throw new IllegalArgumentException("alg " + only + " does not fit a " + jwk.getKeyType() + " key");
      }
      algs = Set.of(only);
    }
    Set<JWSAlgorithm> usable = new LinkedHashSet<>(algs);
    usable.retainAll(allowed);
    if (usable.isEmpty()) {
      throw new IllegalArgumentException("its algorithms " + algs + " are not in proxy.users.jwt.algorithms");
    }
    return new Key(jwk.getKeyID(), Set.copyOf(usable), verifier, source,
        (jwk.getKeyID() == null ? "(no kid)" : jwk.getKeyID()) + " " + usable);
  }

  private static Set<JWSAlgorithm> family(JwtConfig.Algorithm.Family f) {
    Set<JWSAlgorithm> out = new LinkedHashSet<>();
    for (JwtConfig.Algorithm a : JwtConfig.Algorithm.values()) {
      if (a.family() == f) {
        out.add(JWSAlgorithm.parse(a.name()));
      }
    }
    return out;
  }

  /** The secret's and the public key file's keys (the config module read and checked the key file already). */
  private static List<Key> staticKeys(JwtConfig cfg, Set<JWSAlgorithm> allowed) {
    List<Key> out = new ArrayList<>();
    try {
      if (cfg.secret() != null) {
        Set<JWSAlgorithm> algs = new LinkedHashSet<>(family(JwtConfig.Algorithm.Family.HMAC));
        algs.retainAll(allowed);
        byte[] secret = cfg.secret().getBytes(StandardCharsets.UTF_8);
        algs.removeIf(a -> secret.length < JwtConfig.Algorithm.valueOf(a.getName()).minSecretBytes());
        if (!algs.isEmpty()) {
          out.add(new Key(null, Set.copyOf(algs), new MACVerifier(secret), SECRET, "secret " + algs));
        }
      }
      PublicKey pk = cfg.publicKey();
      if (pk != null) {
        Set<JWSAlgorithm> algs;
        JWSVerifier v;
        if (pk instanceof RSAPublicKey rsa) {
          algs = family(JwtConfig.Algorithm.Family.RSA);
          v = new RSASSAVerifier(rsa);
        } else if (pk instanceof ECPublicKey ec) {
          String curve = JwtConfig.curveOf(ec);
          algs = new LinkedHashSet<>();
          for (JwtConfig.Algorithm a : JwtConfig.Algorithm.values()) {
            if (curve != null && curve.equals(a.curve())) {
              algs.add(JWSAlgorithm.parse(a.name()));
            }
          }
          v = new ECDSAVerifier(ec);
        } else {
          algs = new LinkedHashSet<>(Set.of(JWSAlgorithm.EdDSA));
          v = new EdDsaVerifier(pk);
        }
        algs.retainAll(allowed);
        if (!algs.isEmpty()) {
          out.add(new Key(null, Set.copyOf(algs), v, PUBLIC_KEY_FILE, "public_key_file " + algs));
        }
      }
    } catch (JOSEException e) {
      throw new IllegalArgumentException("proxy.users.jwt: " + e.getMessage(), e);
    }
    return List.copyOf(out);
  }

  private static List<Key> concat(List<Key> a, List<Key> b) {
    List<Key> out = new ArrayList<>(a.size() + b.size());
    out.addAll(a);
    out.addAll(b);
    return out;
  }
}
