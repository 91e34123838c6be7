package io.meridian.proxy.impl;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 signing and constant-time verification, base64url without padding. Not thread-safe (a
 * {@link Mac} is stateful): one instance per event loop.
 */
public final class Hmac {
  private static final Base64.Encoder ENC = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DEC = Base64.getUrlDecoder();
  private final Mac mac;

  private Hmac(byte[] key) {
    try {
      mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  public static Hmac create(String secret) {
    return new Hmac(secret.getBytes(StandardCharsets.UTF_8));
  }

  public static Hmac create(byte[] key) {
    return new Hmac(key.clone());
  }

  public String sign(String payload) {
    return ENC.encodeToString(raw(payload.getBytes(StandardCharsets.UTF_8)));
  }

  public byte[] raw(byte[] payload) {
    return mac.doFinal(payload);
  }

  /** Whether {@code signature} (base64url) is the MAC of {@code payload}; timing does not leak the match length. */
  public boolean verify(String payload, String signature) {
    byte[] expected = raw(payload.getBytes(StandardCharsets.UTF_8));
    byte[] given;
    try {
      given = DEC.decode(signature);
    } catch (IllegalArgumentException e) {
      return false;
    }
    return MessageDigest.isEqual(expected, given);
  }

  /** Same for raw bytes. */
  public boolean verify(byte[] payload, byte[] signature) {
    return MessageDigest.isEqual(raw(payload), signature);
  }
}
