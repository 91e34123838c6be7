package io.meridian.proxy.impl;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.Base64URL;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.HexFormat;
import java.util.Set;

/**
 * EdDSA (RFC 8037) with the JDK's own Ed25519/Ed448 (JDK 15+, JEP 339). Nimbus's {@code Ed25519Verifier} needs
 * Google Tink, an optional dependency of nimbus that would bring protobuf and more onto the class path; the JDK
 * verifies the same signatures. Stateless and thread-safe: a {@link Signature} is made per verification, as
 * nimbus's own verifiers do.
 */
final class EdDsaVerifier implements JWSVerifier {
  /** DER SubjectPublicKeyInfo headers (RFC 8410 §4) before the raw public key: Ed25519 (32 bytes), Ed448 (57). */
  private static final byte[] ED25519_SPKI = HexFormat.of().parseHex("302a300506032b6570032100");
  private static final byte[] ED448_SPKI = HexFormat.of().parseHex("3043300506032b6571033a00");

  private final PublicKey key;
  private final String jcaName;
  private final JCAContext jca = new JCAContext();

  EdDsaVerifier(PublicKey key) {
    this.key = key;
    this.jcaName = key.getAlgorithm().equals("EdDSA") ? curveName(key) : key.getAlgorithm();
  }

  private static String curveName(PublicKey key) {
    return key instanceof java.security.interfaces.EdECKey ed ? ed.getParams().getName() : "Ed25519";
  }

  /** A verifier for an OKP JWK on Ed25519 or Ed448; throws for any other curve (X25519 is for key agreement). */
  static EdDsaVerifier of(OctetKeyPair okp) throws GeneralSecurityException {
    byte[] x = okp.getDecodedX();
    byte[] prefix;
    int len;
    if (Curve.Ed25519.equals(okp.getCurve())) {
      prefix = ED25519_SPKI;
      len = 32;
    } else if (Curve.Ed448.equals(okp.getCurve())) {
      prefix = ED448_SPKI;
      len = 57;
    } else {
      throw new GeneralSecurityException("OKP curve " + okp.getCurve() + " cannot sign (EdDSA needs Ed25519 or Ed448)");
    }
    if (x.length != len) {
      throw new GeneralSecurityException(okp.getCurve() + " public key must have " + len + " bytes, got " + x.length);
    }
    byte[] der = new byte[prefix.length + len];
    System.arraycopy(prefix, 0, der, 0, prefix.length);
    System.arraycopy(x, 0, der, prefix.length, len);
    return new EdDsaVerifier(KeyFactory.getInstance("EdDSA").generatePublic(new X509EncodedKeySpec(der)));
  }

  @Override
  public boolean verify(JWSHeader header, byte[] signingInput, Base64URL signature) throws JOSEException {
    if (!JWSAlgorithm.EdDSA.equals(header.getAlgorithm())) {
      return false;
    }
    try {
      Signature s = Signature.getInstance(jcaName);
      s.initVerify(key);
      s.update(signingInput);
      return s.verify(signature.decode());
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false; // a malformed signature is a bad one
    }
  }

  @Override
  public Set<JWSAlgorithm> supportedJWSAlgorithms() {
    return Set.of(JWSAlgorithm.EdDSA);
  }

  @Override
  public JCAContext getJCAContext() {
    return jca;
  }
}
