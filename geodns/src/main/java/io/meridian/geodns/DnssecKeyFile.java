package io.meridian.geodns;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.EdECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.NamedParameterSpec;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import org.xbill.DNS.DClass;
import org.xbill.DNS.DNSKEYRecord;
import org.xbill.DNS.DNSSEC;
import org.xbill.DNS.DSRecord;
import org.xbill.DNS.Master;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;

/**
 * One DNSSEC key pair in BIND's file format, the one {@code dnssec-keygen} and {@code ldns-keygen} write: {@code
 * K<zone>+<alg>+<tag>.key} holds the DNSKEY record in master-file syntax, {@code K<zone>+<alg>+<tag>.private} the
 * private key ("Private-key-format: v1.3", "Algorithm: 13 (ECDSAP256SHA256)", "PrivateKey: base64"). Algorithms:
 * ECDSA P-256 with SHA-256 (13) and Ed25519 (15), the two RFC 8624 §3.1 recommends for signing.
 *
 * <pre>{@code
 * DnssecKeyFile k = DnssecKeyFile.generate("example.com.", DnssecKeyFile.ECDSAP256SHA256, true, 3600);
 * Path base = k.write(Path.of("keys"));          // keys/Kexample.com.+013+12345.{key,private}
 * DnssecKeyFile again = DnssecKeyFile.read(base, Name.fromString("example.com."));
 * }</pre>
 *
 * @param dnskey      the public half as published
 * @param privateKey  the private half, for signing
 */
public record DnssecKeyFile(DNSKEYRecord dnskey, PrivateKey privateKey) {
  public static final int ECDSAP256SHA256 = DNSSEC.Algorithm.ECDSAP256SHA256;
  public static final int ED25519 = DNSSEC.Algorithm.ED25519;
  /** DNSKEY flags: Zone Key (RFC 4034 §2.1.1), plus SEP for a key-signing or combined key (RFC 3757). */
  public static final int FLAGS_ZSK = 256;
  public static final int FLAGS_KSK = 257;

  /** A key that could not be read: the message names the file and what is wrong with it. */
  public static final class KeyFileException extends Exception {
    public KeyFileException(String message) {
      super(message);
    }
  }

  /** Whether this key has the SEP flag: it signs the DNSKEY RRset and its DS goes to the parent. */
  public boolean sep() {
    return (dnskey.getFlags() & 1) != 0;
  }

  /** The key tag (RFC 4034 Appendix B). */
  public int tag() {
    return dnskey.getFootprint();
  }

  /** The file base name BIND uses: {@code K<zone>+<alg, 3 digits>+<tag, 5 digits>}. */
  public String baseName() {
    return String.format("K%s+%03d+%05d", dnskey.getName(), dnskey.getAlgorithm(), tag());
  }

  /** The DS record (SHA-256, RFC 4509) to give the parent zone for this key. */
  public DSRecord ds() {
    return new DSRecord(dnskey.getName(), DClass.IN, dnskey.getTTL(), DNSSEC.Digest.SHA256, dnskey);
  }

  /**
   * Reads {@code base.key} and {@code base.private}.
   *
   * @param origin  the zone the key must belong to
   */
  public static DnssecKeyFile read(Path base, Name origin) throws KeyFileException {
    Path keyFile = base.resolveSibling(base.getFileName() + ".key");
    Path privateFile = base.resolveSibling(base.getFileName() + ".private");
    DNSKEYRecord dnskey = null;
    try (Master m = new Master(keyFile.toString(), origin, 3600)) {
      m.disableIncludes();
      Record r;
      while ((r = m.nextRecord()) != null) {
        if (r instanceof DNSKEYRecord k) {
          if (dnskey != null) {
            throw new KeyFileException(keyFile + ": more than one DNSKEY record (expected: one key per file)");
          }
          dnskey = k;
        }
      }
    } catch (IOException e) {
      throw new KeyFileException(keyFile + ": " + e.getMessage());
    }
    if (dnskey == null) {
      throw new KeyFileException(keyFile + ": no DNSKEY record");
    }
    if (!dnskey.getName().equals(origin)) {
      throw new KeyFileException(keyFile + ": the key is for " + dnskey.getName() + " (expected: " + origin + ")");
    }
    int alg = dnskey.getAlgorithm();
    if (alg != ECDSAP256SHA256 && alg != ED25519) {
      throw new KeyFileException(keyFile + ": algorithm " + alg + " (" + DNSSEC.Algorithm.string(alg)
          + ") is not supported (expected: 13 ECDSAP256SHA256 or 15 ED25519)");
    }
    if ((dnskey.getFlags() & FLAGS_ZSK) == 0 || dnskey.getProtocol() != 3) {
      throw new KeyFileException(keyFile + ": flags " + dnskey.getFlags() + ", protocol " + dnskey.getProtocol()
          + " (expected: flags 256 or 257, protocol 3: a zone key, RFC 4034 §2.1)");
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(privateFile, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new KeyFileException(privateFile + ": cannot read: " + e.getMessage());
    }
    String algorithmLine = null;
    byte[] secret = null;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String field = line.substring(0, colon).trim();
      String value = line.substring(colon + 1).trim();
      if (field.equals("Algorithm")) {
        algorithmLine = value;
      } else if (field.equals("PrivateKey")) {
        try {
          secret = Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
          throw new KeyFileException(privateFile + ":" + (i + 1) + ": PrivateKey is not base64");
        }
      }
    }
    if (algorithmLine == null || !algorithmLine.split("\\s+")[0].equals(Integer.toString(alg))) {
      throw new KeyFileException(privateFile + ": Algorithm: " + algorithmLine + " (expected: " + alg
          + ", as in " + keyFile.getFileName() + ")");
    }
    if (secret == null || secret.length != 32) {
      throw new KeyFileException(privateFile + ": PrivateKey: " + (secret == null ? "missing" : secret.length
          + " bytes") + " (expected: 32 bytes, base64)");
    }
    PrivateKey pk = privateKey(alg, secret);
    DnssecKeyFile k = new DnssecKeyFile(dnskey, pk);
    k.checkPair(privateFile);
    return k;
  }

  /** Signs a probe and verifies it with the DNSKEY: a .private that belongs to another key is refused here. */
  private void checkPair(Path privateFile) throws KeyFileException {
    try {
      org.xbill.DNS.RRset probe = new org.xbill.DNS.RRset(dnskey);
      Instant now = Instant.now();
      org.xbill.DNS.RRSIGRecord sig = DNSSEC.sign(probe, dnskey, privateKey, now, now.plusSeconds(60));
      DNSSEC.verify(probe, sig, dnskey, now);
    } catch (DNSSEC.DNSSECException e) {
      throw new KeyFileException(privateFile + ": the private key does not match the DNSKEY (" + e.getMessage()
          + ")");
    }
  }

  private static PrivateKey privateKey(int alg, byte[] secret) throws KeyFileException {
    try {
      if (alg == ED25519) {
        return KeyFactory.getInstance("Ed25519").generatePrivate(new EdECPrivateKeySpec(NamedParameterSpec.ED25519,
            secret));
      }
      return KeyFactory.getInstance("EC").generatePrivate(new ECPrivateKeySpec(new BigInteger(1, secret), p256()));
    } catch (java.security.GeneralSecurityException e) {
      throw new KeyFileException("cannot build the private key: " + e.getMessage());
    }
  }

  private static ECParameterSpec p256() throws java.security.GeneralSecurityException {
    AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
    p.init(new ECGenParameterSpec("secp256r1"));
    return p.getParameterSpec(ECParameterSpec.class);
  }

  /**
   * Generates a new key pair.
   *
   * @param zone       the zone's origin, e.g. {@code example.com.}
   * @param algorithm  {@link #ECDSAP256SHA256} or {@link #ED25519}
   * @param sep        true for a KSK or CSK (flags 257), false for a ZSK (256)
   * @param ttl        the DNSKEY TTL
   */
  public static DnssecKeyFile generate(String zone, int algorithm, boolean sep, long ttl) {
    try {
      Name origin = Name.fromString(zone.endsWith(".") ? zone : zone + ".");
      KeyPair pair;
      if (algorithm == ED25519) {
        pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      } else if (algorithm == ECDSAP256SHA256) {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        pair = g.generateKeyPair();
      } else {
        throw new IllegalArgumentException("algorithm: " + algorithm + " (expected: 13 or 15)");
      }
      DNSKEYRecord k = new DNSKEYRecord(origin, DClass.IN, ttl, sep ? FLAGS_KSK : FLAGS_ZSK, 3, algorithm,
          pair.getPublic());
      return new DnssecKeyFile(k, pair.getPrivate());
    } catch (java.security.GeneralSecurityException | DNSSEC.DNSSECException | org.xbill.DNS.TextParseException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /**
   * Writes {@code dir/<baseName>.key} (mode as umask allows) and {@code .private} (owner-only where the file
   * system has POSIX permissions). Refuses to overwrite an existing key.
   *
   * @return the base path, as {@code dns.zones[].dnssec.keys} takes it
   */
  public Path write(Path dir) throws IOException {
    Path base = dir.resolve(baseName());
    Path keyFile = dir.resolve(baseName() + ".key");
    Path privateFile = dir.resolve(baseName() + ".private");
    if (Files.exists(keyFile) || Files.exists(privateFile)) {
      throw new IOException(base + ": a key with this tag exists already");
    }
    String created = DateTimeFormatter.ofPattern("yyyyMMddHHmmss").withZone(ZoneOffset.UTC).format(Instant.now());
    String role = sep() ? "key-signing" : "zone-signing";
    Files.writeString(keyFile, "; This is a " + role + " key, keyid " + tag() + ", for " + dnskey.getName() + "\n"
        + "; Created: " + created + "\n" + dnskey + "\n", StandardCharsets.US_ASCII);
    byte[] secret;
    if (privateKey instanceof EdECPrivateKey ed) {
      secret = ed.getBytes().orElseThrow();
    } else {
      byte[] d = ((ECPrivateKey) privateKey).getS().toByteArray();
      secret = new byte[32]; // the scalar, unsigned and left-padded to the curve's 32 bytes
      int n = Math.min(d.length, 32);
      System.arraycopy(d, d.length - n, secret, 32 - n, n);
    }
    String algName = dnskey.getAlgorithm() == ED25519 ? "ED25519" : "ECDSAP256SHA256";
    String text = "Private-key-format: v1.3\nAlgorithm: " + dnskey.getAlgorithm() + " (" + algName + ")\n"
        + "PrivateKey: " + Base64.getEncoder().encodeToString(secret) + "\nCreated: " + created + "\nPublish: "
        + created + "\nActivate: " + created + "\n";
    Files.createFile(privateFile, posixOwnerOnly(dir));
    Files.writeString(privateFile, text, StandardCharsets.US_ASCII);
    return base;
  }

  private static java.nio.file.attribute.FileAttribute<?>[] posixOwnerOnly(Path dir) {
    if (!dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      return new java.nio.file.attribute.FileAttribute<?>[0];
    }
    return new java.nio.file.attribute.FileAttribute<?>[] {java.nio.file.attribute.PosixFilePermissions
        .asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"))};
  }
}
