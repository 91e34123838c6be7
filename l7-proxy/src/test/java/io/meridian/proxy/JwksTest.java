package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * User tokens as identity providers issue them, through the real proxy: keys from a JWK set file (re-read when it
 * changes) or from an HTTPS URL served by a real Vert.x server on loopback with a certificate {@code openssl} makes
 * here; every algorithm the proxy accepts; keys rotated mid-run without a restart; a storm of unknown kids costs
 * one fetch per {@code jwks_min_refresh_interval}; the known attacks refused, each counted with its reason; a JWKS
 * server down at start.
 *
 * <p>Routes: {@code /home} is {@code policy: home}: a verified user with residency "in" is sent to ap-south, an
 * anonymous one (no token, or a refused one) to the nearest region (us-east for the client in Virginia) — so the
 * region tells whether the proxy accepted the token. {@code /account} is strong and enforced: anonymous is 503.
 */
class JwksTest {
  static final String ISSUER = "https://idp.test/tenant-1/";
  static final String AUDIENCE = "meridian-api";
  /** 64 bytes: long enough for HS512. */
  static final String SECRET = "0123456789abcdef".repeat(4);
  static final List<String> REASONS = List.of("malformed", "wrong_algorithm", "keys_unavailable", "unknown_key",
      "bad_signature", "expired", "not_yet_valid", "wrong_issuer", "wrong_audience", "no_user_claim");

  @TempDir
  static Path certDir;
  static Path cert;
  static Path certKey;
  static Path selfCert;
  static Path selfKey;

  @TempDir
  Path dir;
  private Testbed bed;
  private final Vertx vertx = Vertx.vertx();
  private final List<JwksServer> servers = new ArrayList<>();

  @BeforeAll
  static void certificates() throws Exception {
    // the JWKS server's certificate, trusted through jwks_ca_file (self-signed: it is its own CA)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
        "jwks.key", "-out", "jwks.pem", "-days", "2", "-subj", "/O=Meridian Test/CN=localhost",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-addext", "basicConstraints=critical,CA:TRUE");
    cert = certDir.resolve("jwks.pem");
    certKey = certDir.resolve("jwks.key");
    // another one, trusted by nobody
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
        "self.key", "-out", "self.pem", "-days", "2", "-subj", "/O=Nobody/CN=localhost",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    selfCert = certDir.resolve("self.pem");
    selfKey = certDir.resolve("self.key");
  }

  private static void openssl(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(Arrays.asList(args));
    Process p = new ProcessBuilder(cmd).directory(certDir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl hung: " + cmd);
    assertEquals(0, p.exitValue(), cmd + "\n" + out);
  }

  @AfterEach
  void stop() throws Exception {
    if (bed != null) {
      bed.close();
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  // ---------------------------------------------------------------- keys, tokens, the JWKS server

  /** A signing key and its public JWK. */
  record SigningKey(String kid, PrivateKey privateKey, JWK jwk) {}

  static SigningKey rsa(String kid) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair kp = g.generateKeyPair();
    return new SigningKey(kid, kp.getPrivate(), new RSAKey.Builder((RSAPublicKey) kp.getPublic()).keyID(kid).build());
  }

  static SigningKey ec(String kid, Curve curve) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec(curve.getStdName()));
    KeyPair kp = g.generateKeyPair();
    return new SigningKey(kid, kp.getPrivate(), new ECKey.Builder(curve, (ECPublicKey) kp.getPublic()).keyID(kid)
        .build());
  }

  /** Ed25519 or Ed448 from the JDK; the JWK's x is the raw public key, the tail of its X.509 encoding. */
  static SigningKey ed(String kid, String curve) throws Exception {
    KeyPair kp = KeyPairGenerator.getInstance(curve).generateKeyPair();
    byte[] spki = kp.getPublic().getEncoded();
    int len = curve.equals("Ed25519") ? 32 : 57;
    byte[] x = Arrays.copyOfRange(spki, spki.length - len, spki.length);
    return new SigningKey(kid, kp.getPrivate(),
        new OctetKeyPair.Builder(Curve.parse(curve), Base64URL.encode(x)).keyID(kid).build());
  }

  static String jwks(SigningKey... keys) {
    List<JWK> l = new ArrayList<>();
    for (SigningKey k : keys) {
      l.add(k.jwk());
    }
    return new JWKSet(l).toString(); // public members only
  }

  static long now() {
    return System.currentTimeMillis() / 1000;
  }

  /** Claims of user u1 with residency "in", for this issuer and audience, valid for 10 minutes. */
  static JsonObject claims() {
    return new JsonObject().put("sub", "u1").put("residency", "in").put("iss", ISSUER).put("aud", AUDIENCE)
        .put("iat", now()).put("exp", now() + 600);
  }

  /** A compact JWS of {@code claims} with header {@code alg} (and {@code kid} unless null), signed by {@code key}. */
  static String sign(String alg, String kid, JsonObject claims, Object key) throws Exception {
    JWSAlgorithm a = JWSAlgorithm.parse(alg);
    JWSHeader header = new JWSHeader.Builder(a).keyID(kid).type(JOSEObjectType.JWT).build();
    String input = header.toBase64URL() + "." + Base64URL.encode(claims.encode().getBytes(StandardCharsets.UTF_8));
    byte[] in = input.getBytes(StandardCharsets.US_ASCII);
    Base64URL sig;
    if (alg.startsWith("HS")) {
      sig = new MACSigner(key instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : (byte[]) key).sign(header, in);
    } else if (alg.startsWith("RS") || alg.startsWith("PS")) {
      sig = new RSASSASigner((PrivateKey) key).sign(header, in);
    } else if (alg.startsWith("ES")) {
      sig = new ECDSASigner((ECPrivateKey) key).sign(header, in);
    } else {
      Signature s = Signature.getInstance(((EdECKey) key).getParams().getName());
      s.initSign((PrivateKey) key);
      s.update(in);
      sig = Base64URL.encode(s.sign());
    }
    return input + "." + sig;
  }

  static String sign(String alg, SigningKey k, JsonObject claims) throws Exception {
    return sign(alg, k.kid(), claims, k.privateKey());
  }

  /** A real HTTPS server on loopback serving the JWK set the test sets; counts the requests it gets. */
  final class JwksServer {
    final AtomicReference<String> body = new AtomicReference<>("{\"keys\":[]}");
    final AtomicInteger hits = new AtomicInteger();
    private HttpServer server;
    int port;

    JwksServer start(int wanted, Path certFile, Path keyFile) throws Exception {
      server = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setKeyCertOptions(
              new PemKeyCertOptions().setCertPath(certFile.toString()).setKeyPath(keyFile.toString())))
          .requestHandler(req -> {
            hits.incrementAndGet();
            if (!req.path().equals("/.well-known/jwks.json")) {
              req.response().setStatusCode(404).end();
              return;
            }
            req.response().putHeader("content-type", "application/json").end(body.get());
          })
          .listen(wanted, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      port = server.actualPort();
      servers.add(this);
      return this;
    }

    JwksServer start() throws Exception {
      return start(0, cert, certKey);
    }

    String url() {
      return "https://127.0.0.1:" + port + "/.well-known/jwks.json";
    }
  }

  // ---------------------------------------------------------------- the proxy

  private void start(String jwt) throws Exception {
    bed = new Testbed(proxyYaml(jwt), null);
  }

  static String proxyYaml(String jwt) {
    return """
        trusted_hops: 1
        users: {source: jwt, jwt: %s}
        routes:
          - {name: account, path_prefix: /account, policy: home, consistency: strong, residency: enforced}
          - {name: home, path_prefix: /home, policy: home}
        """.formatted(jwt);
  }

  /** Where /home sends the user of this token: ap-south when it was accepted, us-east when refused. */
  private String region(String token) throws Exception {
    return bed.get("/home", "Authorization", "Bearer " + token, "X-Forwarded-For", Testbed.US_CLIENT)
        .headers().firstValue("X-Meridian-Region").orElseThrow();
  }

  private double rejected(String reason) throws Exception {
    return metric("meridian_proxy_tokens_rejected_total", "kind", "jwt", "reason", reason);
  }

  /** One sample of /metrics, whatever the order of its labels; 0 when absent. */
  private double metric(String name, String... labels) throws Exception {
    for (String line : bed.metrics().split("\n")) {
      if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
        continue;
      }
      String lbl = line.contains("{") ? line.substring(line.indexOf('{'), line.lastIndexOf('}') + 1) : "";
      boolean all = true;
      for (int i = 0; i < labels.length; i += 2) {
        all &= lbl.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
      }
      if (all && lbl.split("=").length - 1 == labels.length / 2) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }

  private double refreshes(String source, String result) throws Exception {
    return metric("meridian_proxy_jwks_refreshes_total", "source", source, "result", result);
  }

  private double keys(String source) throws Exception {
    return metric("meridian_proxy_jwt_keys", "source", source);
  }

  /** Polls until {@code cond} holds (what the proxy does in the background has no fixed duration). */
  private static void await(String what, Callable<Boolean> cond) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!cond.call()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("never happened: " + what);
      }
      Thread.sleep(50);
    }
  }

  private void writeAtomically(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private void assertNoRejections() throws Exception {
    for (String r : REASONS) {
      assertEquals(0.0, rejected(r), r);
    }
  }

  // ---------------------------------------------------------------- tests

  @Test
  void everyAlgorithmVerifiesWithKeysFromAJwksFile() throws Exception {
    SigningKey rsa = rsa("rsa-1");
    SigningKey p256 = ec("ec-256", Curve.P_256);
    SigningKey p384 = ec("ec-384", Curve.P_384);
    SigningKey p521 = ec("ec-521", Curve.P_521);
    SigningKey ed25519 = ed("ed-25519", "Ed25519");
    SigningKey ed448 = ed("ed-448", "Ed448");
    Path file = dir.resolve("jwks.json");
    Files.writeString(file, jwks(rsa, p256, p384, p521, ed25519, ed448));
    start("{algorithms: [HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA],"
        + " secret: " + SECRET + ", jwks_file: '" + file + "', issuer: '" + ISSUER + "', audience: [other-api, "
        + AUDIENCE + "], residency_claim: residency}");
    assertEquals(6.0, keys("jwks_file"));
    assertEquals(1.0, keys("secret"));
    Map<String, SigningKey> byAlg = Map.ofEntries(Map.entry("RS256", rsa), Map.entry("RS384", rsa),
        Map.entry("RS512", rsa), Map.entry("PS256", rsa), Map.entry("PS384", rsa), Map.entry("PS512", rsa),
        Map.entry("ES256", p256), Map.entry("ES384", p384), Map.entry("ES512", p521));
    for (var e : byAlg.entrySet()) {
      assertEquals("ap-south", region(sign(e.getKey(), e.getValue(), claims())), e.getKey());
    }
    assertEquals("ap-south", region(sign("EdDSA", ed25519, claims())), "EdDSA Ed25519");
    assertEquals("ap-south", region(sign("EdDSA", ed448, claims())), "EdDSA Ed448");
    for (String hs : List.of("HS256", "HS384", "HS512")) {
      assertEquals("ap-south", region(sign(hs, null, claims(), SECRET)), hs);
    }
    // without a kid every key of the token's algorithm is tried; an aud list needs one configured audience
    assertEquals("ap-south", region(sign("RS256", null, claims().put("aud", new JsonArray().add("x").add(AUDIENCE)),
        rsa.privateKey())));
    assertNoRejections();
    // and nothing is accepted without a token: the same request is anonymous
    assertEquals("us-east", bed.get("/home", "X-Forwarded-For", Testbed.US_CLIENT).headers()
        .firstValue("X-Meridian-Region").orElseThrow());
  }

  @Test
  void aJwksFileIsReReadWhenItChangesAndABadEditKeepsTheKeysInUse() throws Exception {
    SigningKey k1 = ec("k1", Curve.P_256);
    SigningKey k2 = ec("k2", Curve.P_256);
    Path file = dir.resolve("jwks.json");
    Files.writeString(file, jwks(k1));
    start("{algorithms: [ES256], jwks_file: '" + file + "', residency_claim: residency}");
    String t1 = sign("ES256", k1, claims());
    String t2 = sign("ES256", k2, claims());
    assertEquals("ap-south", region(t1));
    assertEquals(1.0, refreshes("jwks_file", "ok"));

    writeAtomically(file, jwks(k2));
    await("the rotated file's key verifies", () -> region(t2).equals("ap-south"));
    double unknown = rejected("unknown_key");
    assertEquals("us-east", region(t1), "k1 left the file: its token (cached as valid) is verified again");
    assertEquals(unknown + 1, rejected("unknown_key"));
    assertEquals(2.0, refreshes("jwks_file", "ok"));
    assertEquals(0.0, refreshes("jwks_file", "failed"));

    writeAtomically(file, "{\"keys\": [ {\"kty\": ");
    await("the broken edit is noticed", () -> refreshes("jwks_file", "failed") == 1.0);
    assertEquals("ap-south", region(t2), "the last good set stays in force");
    assertEquals(1.0, keys("jwks_file"));
  }

  @Test
  void rs256Es256AndEdDsaFromAnHttpsJwksUrl() throws Exception {
    SigningKey rsa = rsa("rsa-1");
    SigningKey ec = ec("ec-1", Curve.P_256);
    SigningKey ed = ed("ed-1", "Ed25519");
    JwksServer server = new JwksServer().start();
    server.body.set(jwks(rsa, ec, ed));
    start("{algorithms: [RS256, ES256, EdDSA], jwks_url: '" + server.url() + "', jwks_ca_file: '" + cert
        + "', issuer: '" + ISSUER + "', audience: " + AUDIENCE + ", residency_claim: residency}");
    // the start waited for the first fetch
    assertEquals(1, server.hits.get());
    assertEquals(1.0, refreshes("jwks_url", "ok"));
    assertEquals(3.0, keys("jwks_url"));
    assertTrue(metric("meridian_proxy_jwks_last_success_timestamp_seconds", "source", "jwks_url") >= now() - 60);
    assertEquals("ap-south", region(sign("RS256", rsa, claims())));
    assertEquals("ap-south", region(sign("ES256", ec, claims())));
    assertEquals("ap-south", region(sign("EdDSA", ed, claims())));
    // the same through curl, an independent client; a repeated token is served from the verified cache
    String token = sign("EdDSA", ed, claims());
    for (int i = 0; i < 2; i++) {
      Process p = new ProcessBuilder("curl", "-s", "-o", "/dev/null", "-D", "-", "-H", "Authorization: Bearer " + token,
          "-H", "X-Forwarded-For: " + Testbed.US_CLIENT, "http://127.0.0.1:" + bed.proxy.port() + "/account")
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(20, TimeUnit.SECONDS), "curl timed out");
      assertTrue(out.startsWith("HTTP/1.1 200"), out);
      assertTrue(out.toLowerCase(java.util.Locale.ROOT).contains("x-meridian-region: ap-south"), out);
    }
    assertNoRejections();
    assertEquals(1, server.hits.get(), "known keys never cause a fetch");
  }

  @Test
  void keysRotatedMidRunAreUsedWithoutARestart() throws Exception {
    SigningKey k1 = rsa("2025-01");
    SigningKey k2 = rsa("2025-02");
    JwksServer server = new JwksServer().start();
    server.body.set(jwks(k1));
    start("{algorithms: [RS256], jwks_url: '" + server.url() + "', jwks_ca_file: '" + cert
        + "', jwks_refresh_interval: 1h, jwks_min_refresh_interval: 1s, issuer: '" + ISSUER + "', audience: "
        + AUDIENCE + ", residency_claim: residency}");
    String t1 = sign("RS256", k1, claims());
    String t2 = sign("RS256", k2, claims());
    assertEquals("ap-south", region(t1));

    // the identity provider publishes k2 beside k1 and starts signing with it
    server.body.set(jwks(k1, k2));
    assertEquals("us-east", region(t2), "unknown kid: refused at once, the request does not wait for the fetch");
    assertEquals(1.0, rejected("unknown_key"));
    await("the triggered refresh brings k2", () -> region(t2).equals("ap-south"));
    assertTrue(server.hits.get() >= 2);
    assertEquals("ap-south", region(t1), "k1 is still in the set: its tokens still work");

    // k1 retired: once a refresh has seen that, its tokens are refused
    server.body.set(jwks(k2));
    String t3 = sign("RS256", "2025-03", claims(), rsa("2025-03").privateKey());
    await("a refresh (triggered by another unknown kid) drops k1", () -> {
      region(t3);
      return region(t1).equals("us-east");
    });
    assertEquals("ap-south", region(t2));
    assertEquals(1.0, keys("jwks_url"));
    assertEquals(0.0, refreshes("jwks_url", "failed"));
  }

  @Test
  void aStormOfUnknownKidsFetchesAtMostOncePerMinInterval() throws Exception {
    SigningKey k1 = ec("k1", Curve.P_256);
    JwksServer server = new JwksServer().start();
    server.body.set(jwks(k1));
    start("{algorithms: [ES256], jwks_url: '" + server.url() + "', jwks_ca_file: '" + cert
        + "', jwks_refresh_interval: 1h, jwks_min_refresh_interval: 1h, issuer: '" + ISSUER + "', audience: "
        + AUDIENCE + ", residency_claim: residency}");
    assertEquals(1, server.hits.get());
    SigningKey forger = ec("any", Curve.P_256);
    // 64 requests at once, on every event loop, each with a kid nobody published
    List<CompletableFuture<java.net.http.HttpResponse<String>>> storm = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      storm.add(bed.http.sendAsync(java.net.http.HttpRequest.newBuilder(bed.uri("/home"))
          .header("Authorization", "Bearer " + sign("ES256", "forged-" + i, claims(), forger.privateKey()))
          .header("X-Forwarded-For", Testbed.US_CLIENT).build(), java.net.http.HttpResponse.BodyHandlers.ofString()));
    }
    for (var f : storm) {
      assertEquals("us-east", f.get(30, TimeUnit.SECONDS).headers().firstValue("X-Meridian-Region").orElseThrow());
    }
    assertEquals(64.0, rejected("unknown_key"));
    await("the triggered refresh completes", () -> refreshes("jwks_url", "ok") >= 2.0);
    assertEquals(2, server.hits.get(), "one fetch at start, one for the whole storm");

    // within the interval, no further unknown kid fetches — not even one the server now has
    SigningKey late = ec("late", Curve.P_256);
    server.body.set(jwks(k1, late));
    for (int i = 0; i < 32; i++) {
      assertEquals("us-east", region(sign("ES256", i % 2 == 0 ? "late" : "forged-x" + i, claims(),
          (i % 2 == 0 ? late : forger).privateKey())));
    }
    assertEquals("ap-south", region(sign("ES256", k1, claims())), "known keys keep working");
    Thread.sleep(1000); // a fetch the storm wrongly started would have reached the server by now
    assertEquals(2, server.hits.get());
    assertEquals(2.0, refreshes("jwks_url", "ok"));
    assertEquals(96.0, rejected("unknown_key"));
  }

  @Test
  void knownAttacksAreRefusedEachWithItsReason() throws Exception {
    SigningKey rsa = rsa("rsa-1");
    SigningKey ec = ec("ec-1", Curve.P_256);
    JwksServer server = new JwksServer().start();
    server.body.set(jwks(rsa, ec));
    start("{algorithms: [RS256, ES256], jwks_url: '" + server.url() + "', jwks_ca_file: '" + cert
        + "', issuer: '" + ISSUER + "', audience: " + AUDIENCE + ", residency_claim: residency}");
    assertEquals("ap-south", region(sign("RS256", rsa, claims())));
    String pem = "-----BEGIN PUBLIC KEY-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes())
        .encodeToString(rsa.jwk().toRSAKey().toPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n";
    long now = now();
    Base64URL claimsB64 = Base64URL.encode(claims().encode());
    String valid = sign("RS256", rsa, claims());
    String[] p = valid.split("\\.");

    Map<String, String> attacks = new java.util.LinkedHashMap<>();
    attacks.put("alg none", Base64URL.encode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + claimsB64 + ".");
    attacks.put("alg NONE with the valid signature", Base64URL.encode("{\"alg\":\"NONE\",\"kid\":\"rsa-1\"}") + "."
        + claimsB64 + "." + p[2]);
    attacks.put("HS256 with the RSA public key as HMAC secret", sign("HS256", "rsa-1", claims(), pem));
    attacks.put("ES256 header naming the RSA key", sign("ES256", "rsa-1", claims(), ec.privateKey()));
    attacks.put("expired", sign("RS256", rsa, claims().put("exp", now - 3600)));
    attacks.put("not yet valid", sign("RS256", rsa, claims().put("nbf", now + 3600)));
    attacks.put("issued in the future", sign("RS256", rsa, claims().put("iat", now + 3600)));
    attacks.put("wrong audience", sign("RS256", rsa, claims().put("aud", "another-app")));
    attacks.put("no audience", sign("RS256", rsa, claims().copy().put("aud", new JsonArray())));
    attacks.put("wrong issuer", sign("RS256", rsa, claims().put("iss", "https://idp.test/tenant-2/")));
    attacks.put("tampered payload", p[0] + "." + Base64URL.encode(claims().put("sub", "admin").encode()) + "." + p[2]);
    attacks.put("signed by another key under a known kid", sign("RS256", "rsa-1", claims(), rsa("x").privateKey()));
    attacks.put("unknown kid", sign("RS256", "rsa-9", claims(), rsa("rsa-9").privateKey()));
    attacks.put("not a JWT", "not.a.jwt");
    attacks.put("no user claim", sign("RS256", rsa, claims().copy().put("sub", (String) null)));
    for (var a : attacks.entrySet()) {
      assertEquals("us-east", region(a.getValue()), a.getKey());
    }
    assertEquals(4.0, rejected("wrong_algorithm"));
    assertEquals(1.0, rejected("expired"));
    assertEquals(2.0, rejected("not_yet_valid"));
    assertEquals(2.0, rejected("wrong_audience"));
    assertEquals(1.0, rejected("wrong_issuer"));
    assertEquals(2.0, rejected("bad_signature"));
    assertEquals(1.0, rejected("unknown_key"));
    assertEquals(1.0, rejected("malformed"));
    assertEquals(1.0, rejected("no_user_claim"));
    assertEquals(0.0, rejected("keys_unavailable"));
    // a strong, residency-enforced route fails closed for the refused user
    assertEquals(503, bed.get("/account", "Authorization", "Bearer " + attacks.get("tampered payload"),
        "X-Forwarded-For", Testbed.US_CLIENT).statusCode());
    // clock skew (60 s by default): a token expired 30 s ago is still accepted, one 90 s ago is not
    assertEquals("ap-south", region(sign("RS256", rsa, claims().put("exp", now - 30))));
    assertEquals("us-east", region(sign("RS256", rsa, claims().put("exp", now - 90))));
  }

  @Test
  void hsAndRsTogetherAKidDecidesTheKeyType() throws Exception {
    SigningKey rsa = rsa("rsa-1");
    JwksServer server = new JwksServer().start();
    server.body.set(jwks(rsa));
    start("{algorithms: [RS256, HS256], secret: " + SECRET + ", jwks_url: '" + server.url() + "', jwks_ca_file: '"
        + cert + "', issuer: '" + ISSUER + "', audience: " + AUDIENCE + ", residency_claim: residency}");
    String pem = "-----BEGIN PUBLIC KEY-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes())
        .encodeToString(rsa.jwk().toRSAKey().toPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n";
    assertEquals("ap-south", region(sign("RS256", rsa, claims())));
    assertEquals("ap-south", region(sign("HS256", null, claims(), SECRET)));
    // HS256 "signed" with the RSA public key: under the RSA key's kid the algorithm does not fit the key; without
    // a kid only the secret is an HS256 key, and it does not verify
    assertEquals("us-east", region(sign("HS256", "rsa-1", claims(), pem)));
    assertEquals("us-east", region(sign("HS256", null, claims(), pem)));
    assertEquals("us-east", region(sign("HS256", null, claims(), rsa.jwk().toJSONString())));
    assertEquals(1.0, rejected("wrong_algorithm"));
    assertEquals(2.0, rejected("bad_signature"));
  }

  @Test
  void aJwksServerDownAtStartDoesNotStopTheProxyAndIsPickedUpWhenItComesUp() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort(); // nothing listens there until the server starts below
    }
    SigningKey k = ec("k", Curve.P_256);
    start("{algorithms: [ES256], jwks_url: 'https://127.0.0.1:" + port + "/.well-known/jwks.json', jwks_ca_file: '"
        + cert + "', jwks_min_refresh_interval: 1s, issuer: '" + ISSUER + "', audience: " + AUDIENCE
        + ", residency_claim: residency}");
    String token = sign("ES256", k, claims());
    assertEquals(1.0, refreshes("jwks_url", "failed"));
    assertEquals(0.0, keys("jwks_url"));
    assertEquals("us-east", region(token), "served, as anonymous");
    assertEquals(503, bed.get("/account", "Authorization", "Bearer " + token, "X-Forwarded-For",
        Testbed.US_CLIENT).statusCode());
    assertEquals(2.0, rejected("keys_unavailable"));

    JwksServer server = new JwksServer().start(port, cert, certKey);
    server.body.set(jwks(k));
    await("the keys arrive once the server is up", () -> region(token).equals("ap-south"));
    assertEquals(1.0, keys("jwks_url"));
    assertEquals(1.0, refreshes("jwks_url", "ok"));
  }

  @Test
  void theJwksServersCertificateIsVerified() throws Exception {
    SigningKey k = ec("k", Curve.P_256);
    JwksServer server = new JwksServer().start(0, selfCert, selfKey);
    server.body.set(jwks(k));
    // trusted by neither the JDK's store nor the configured CA file
    start("{algorithms: [ES256], jwks_url: '" + server.url() + "', jwks_ca_file: '" + cert + "', issuer: '" + ISSUER
        + "', audience: " + AUDIENCE + ", residency_claim: residency}");
    assertEquals(1.0, refreshes("jwks_url", "failed"));
    assertEquals(0.0, refreshes("jwks_url", "ok"));
    assertEquals(0, server.hits.get(), "the handshake failed: no request was sent");
    assertEquals("us-east", region(sign("ES256", k, claims())));
    assertEquals(1.0, rejected("keys_unavailable"));
  }

  @Test
  void aConfigChangeAppliesNewClaimsRulesWithoutDroppingTheKeys() throws Exception {
    SigningKey k = rsa("k");
    JwksServer server = new JwksServer().start();
    server.body.set(jwks(k));
    String jwt = "{algorithms: [RS256], jwks_url: '" + server.url() + "', jwks_ca_file: '" + cert + "', issuer: '"
        + ISSUER + "', audience: %s, residency_claim: residency}";
    start(jwt.formatted(AUDIENCE));
    String forOld = sign("RS256", k, claims());
    String forNew = sign("RS256", k, claims().put("aud", "meridian-api-v2"));
    assertEquals("ap-south", region(forOld));
    assertEquals("us-east", region(forNew));

    bed.reconfigure(proxyYaml(jwt.formatted("meridian-api-v2")));
    await("the new audience applies", () -> region(forNew).equals("ap-south"));
    assertEquals("us-east", region(forOld));
    await("the new config's keys fetched the set once more", () -> server.hits.get() == 2);
    assertEquals(1.0, keys("jwks_url"));

    // no longer jwt: the keys are dropped
    bed.reconfigure("""
        trusted_hops: 1
        users: {source: header, name: X-User}
        """);
    await("the JWT keys are gone", () -> keys("jwks_url") == 0.0);
  }
}
