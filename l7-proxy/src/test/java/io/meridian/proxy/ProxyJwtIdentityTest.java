package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Users identified by a verified JWT: the user and residency claims decide the home and the allowed regions;
 * bad signatures, the wrong algorithm, "none" and expired tokens count as anonymous (and are counted).
 */
class ProxyJwtIdentityTest {
  static final String HS_SECRET = "jwt-secret-0123456789abcdef0123456789";
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private Testbed bed;
  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    if (bed != null) {
      bed.close();
    }
  }

  private void start(String jwtYaml) throws Exception {
    bed = new Testbed("""
        trusted_hops: 1
        users: {source: jwt, jwt: %s}
        routes:
          - {name: account, path_prefix: /account, policy: home, consistency: strong, residency: enforced}
        """.formatted(jwtYaml), null);
  }

  static String hs256(String header, String claims, String secret) throws Exception {
    String input = B64.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
        + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return input + "." + B64.encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
  }

  static String rs256(String claims, KeyPair keys) throws Exception {
    String input = B64.encodeToString("{\"alg\":\"RS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(keys.getPrivate());
    s.update(input.getBytes(StandardCharsets.US_ASCII));
    return input + "." + B64.encodeToString(s.sign());
  }

  private int status(String token) throws Exception {
    return bed.get("/account", "Authorization", "Bearer " + token, "X-Forwarded-For", Testbed.US_CLIENT).statusCode();
  }

  private String region(String token) throws Exception {
    return bed.get("/account", "Authorization", "Bearer " + token, "X-Forwarded-For", Testbed.US_CLIENT)
        .headers().firstValue("X-Meridian-Region").orElseThrow();
  }

  @Test
  void hs256TokensDecideUserAndResidency() throws Exception {
    start("{algorithm: HS256, secret: " + HS_SECRET + ", residency_claim: residency}");
    long exp = System.currentTimeMillis() / 1000 + 600;
    String hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    // residency "in" has only ap-south: the home must be there whoever the user is
    assertEquals("ap-south", region(hs256(hdr, "{\"sub\":\"u1\",\"residency\":\"in\",\"exp\":" + exp + "}", HS_SECRET)));
    assertEquals("eu-west", region(hs256(hdr, "{\"sub\":\"u2\",\"residency\":\"eu\",\"exp\":" + exp + "}", HS_SECRET)));

    String wrongKey = hs256(hdr, "{\"sub\":\"u1\",\"residency\":\"in\"}", "another-secret-0123456789abcdef0123");
    String none = B64.encodeToString("{\"alg\":\"none\"}".getBytes()) + "."
        + B64.encodeToString("{\"sub\":\"u1\",\"residency\":\"in\"}".getBytes()) + ".";
    String expired = hs256(hdr, "{\"sub\":\"u1\",\"residency\":\"in\",\"exp\":1000}", HS_SECRET);
    // refused credentials leave the request anonymous: an enforced, strong route then fails closed
    assertEquals(503, status(wrongKey));
    assertEquals(503, status(none));
    assertEquals(503, status(expired));
    assertEquals(503, status("not.a.jwt"));
    assertEquals(1.0, bed.metric("meridian_proxy_tokens_rejected_total{kind=\"jwt\",reason=\"bad_signature\"}"));
    assertEquals(1.0, bed.metric("meridian_proxy_tokens_rejected_total{kind=\"jwt\",reason=\"wrong_algorithm\"}"));
    assertEquals(1.0, bed.metric("meridian_proxy_tokens_rejected_total{kind=\"jwt\",reason=\"expired\"}"));
  }

  @Test
  void rs256TokensAreVerifiedWithThePublicKey() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair keys = g.generateKeyPair();
    Path pem = dir.resolve("jwt.pem");
    Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(keys.getPublic().getEncoded())
        + "\n-----END PUBLIC KEY-----\n");
    start("{algorithm: RS256, public_key_file: '" + pem + "', residency_claim: residency}");
    assertEquals("ap-south", region(rs256("{\"sub\":\"u1\",\"residency\":\"in\"}", keys)));
    // HS256 signed with the public key as secret: the classic algorithm-confusion attack
    String confused = hs256("{\"alg\":\"HS256\"}", "{\"sub\":\"u1\",\"residency\":\"in\"}", Files.readString(pem));
    assertEquals(503, status(confused));
    KeyPair other = KeyPairGenerator.getInstance("RSA").generateKeyPair();
    assertEquals(503, status(rs256("{\"sub\":\"u1\",\"residency\":\"in\"}", other)));
  }

  /** public_key_file may hold an EC (ES256) or Ed25519 (EdDSA) key too; its algorithm is the only one accepted. */
  @Test
  void ecAndEd25519PublicKeyFiles() throws Exception {
    KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
    ec.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
    KeyPair ecKeys = ec.generateKeyPair();
    KeyPair edKeys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    for (var c : java.util.List.of(new Object[] {"ES256", ecKeys}, new Object[] {"EdDSA", edKeys})) {
      String alg = (String) c[0];
      KeyPair keys = (KeyPair) c[1];
      Path pem = dir.resolve(alg + ".pem");
      Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(keys.getPublic().getEncoded())
          + "\n-----END PUBLIC KEY-----\n");
      start("{algorithms: [" + alg + "], public_key_file: '" + pem + "', residency_claim: residency}");
      String claims = "{\"sub\":\"u1\",\"residency\":\"in\"}";
      assertEquals("ap-south", region(JwksTest.sign(alg, null, new io.vertx.core.json.JsonObject(claims),
          keys.getPrivate())), alg);
      // RS256 (not configured) and HS256 keyed with the PEM text are refused
      KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
      rsa.initialize(2048);
      assertEquals(503, status(rs256(claims, rsa.generateKeyPair())), alg);
      assertEquals(503, status(hs256("{\"alg\":\"HS256\"}", claims, Files.readString(pem))), alg);
      assertEquals(2.0, bed.metric("meridian_proxy_tokens_rejected_total{kind=\"jwt\",reason=\"wrong_algorithm\"}"));
      bed.close();
      bed = null;
    }
  }
}
