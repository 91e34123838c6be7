package io.meridian.config;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where control-plane state lives: on local disk (one machine) or in etcd (several processes or machines).
 *
 * @param type           embedded or etcd
 * @param path           local directory: the embedded store's journal, and in every mode the last-known-good
 *                       plan each data-plane process keeps (static stability)
 * @param etcd           how to reach etcd, for type etcd (else null)
 */
public record StateStoreConfig(Type type, Path path, Etcd etcd) {

  /** Store kinds. */
  public enum Type { EMBEDDED, ETCD }

  /**
   * @param endpoints     client URLs, all http:// or all https://
   * @param prefix        key prefix, starting and ending with '/'
   * @param caFile        PEM CA for https endpoints (null: the JVM's trust store)
   * @param certFile      PEM client certificate (etcd --client-cert-auth), or null
   * @param keyFile       its PEM key, or null
   * @param username      etcd user (etcd auth), or null
   * @param passwordFile  file holding that user's password (first line), or null
   * @param leaseTtl      lease of this process's reports: a process that dies stops counting after this
   * @param timeout       bound on one etcd request
   */
  public record Etcd(List<String> endpoints, String prefix, Path caFile, Path certFile, Path keyFile,
      String username, Path passwordFile, Duration leaseTtl, Duration timeout) {
    public Etcd {
      endpoints = List.copyOf(endpoints);
    }

    /** The password from {@link #passwordFile}, or null. */
    public String password() {
      if (passwordFile == null) {
        return null;
      }
      try {
        return Files.readAllLines(passwordFile).stream().findFirst().orElse("").strip();
      } catch (java.io.IOException e) {
        throw new IllegalStateException("state_store.etcd.password_file: cannot read " + passwordFile + ": " + e);
      }
    }
  }

  private static final Pattern PREFIX = Pattern.compile("/([A-Za-z0-9._-]+/)*");

  public static StateStoreConfig defaults(Path baseDir) {
    return new StateStoreConfig(Type.EMBEDDED, baseDir.resolve("meridian-state"), null);
  }

  static StateStoreConfig parse(ConfigNode n, Path baseDir) {
    n.rejectUnknownKeys(Set.of("type", "path", "etcd"));
    Type type = n.enumValue("type", Type.class, Type.EMBEDDED);
    String path = n.string("path", "meridian-state");
    ConfigNode e = n.child("etcd");
    Etcd etcd = null;
    if (type == Type.ETCD) {
      if (!e.isPresent()) {
        n.problem("etcd", "is required when type is etcd (e.g. etcd: {endpoints: [http://127.0.0.1:2379]})");
      } else {
        etcd = parseEtcd(e, baseDir);
      }
    } else if (e.isPresent()) {
      n.problem("etcd", "is set but type is " + type.name().toLowerCase()
          + " (expected: type: etcd, or remove the etcd block)");
    }
    return new StateStoreConfig(type, baseDir.resolve(path), etcd);
  }

  private static Etcd parseEtcd(ConfigNode e, Path baseDir) {
    e.rejectUnknownKeys(Set.of("endpoints", "prefix", "tls", "username", "password_file", "lease_ttl", "timeout"));
    List<String> endpoints = e.stringList("endpoints");
    if (endpoints.isEmpty() && !e.child("endpoints").isPresent()) {
      e.problem("endpoints", "is required (e.g. [http://127.0.0.1:2379])");
    }
    Set<String> schemes = new java.util.HashSet<>();
    for (String url : endpoints) {
      URI u;
      try {
        u = URI.create(url);
      } catch (IllegalArgumentException ex) {
        u = null;
      }
      if (u == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null
          || u.getPort() <= 0 || u.getPort() > 65535 || !(u.getPath() == null || u.getPath().isEmpty())) {
        e.problem("endpoints", "'" + url + "' (expected: http://host:port or https://host:port)");
      } else {
        schemes.add(u.getScheme());
      }
    }
    if (schemes.size() > 1) {
      e.problem("endpoints", endpoints + " mixes http and https (expected: all one scheme)");
    }
    String prefix = e.string("prefix", "/meridian/", PREFIX, "a key prefix like /meridian/ (starts and ends with"
        + " '/', letters, digits, '.', '_', '-')");
    Path ca = null;
    Path cert = null;
    Path key = null;
    ConfigNode tls = e.child("tls");
    if (tls.isPresent()) {
      tls.rejectUnknownKeys(Set.of("ca", "cert", "key"));
      ca = readableFile(tls, "ca", baseDir);
      cert = readableFile(tls, "cert", baseDir);
      key = readableFile(tls, "key", baseDir);
      if ((cert == null) != (key == null) && tls.child("cert").isPresent() != tls.child("key").isPresent()) {
        tls.problem(cert == null ? "cert" : "key", "is required when " + (cert == null ? "key" : "cert")
            + " is set (a client certificate needs its key)");
      }
      if (!schemes.contains("https")) {
        tls.problem("is set but the endpoints are http:// (expected: https:// endpoints for TLS)");
      }
    }
    String user = e.string("username", null);
    Path passwordFile = readableFile(e, "password_file", baseDir);
    if (passwordFile != null && user == null) {
      e.problem("password_file", "is set without username (expected: both, for etcd's user authentication)");
    }
    if (user != null && passwordFile == null && !e.child("password_file").isPresent()) {
      e.problem("password_file", "is required with username (a file whose first line is the password)");
    }
    Duration leaseTtl = e.duration("lease_ttl", Duration.ofSeconds(5), Duration.ofSeconds(2));
    Duration timeout = e.duration("timeout", Duration.ofSeconds(5), Duration.ofMillis(100));
    return new Etcd(endpoints, prefix, ca, cert, key, user, passwordFile, leaseTtl, timeout);
  }

  private static Path readableFile(ConfigNode n, String key, Path baseDir) {
    String s = n.string(key, null);
    if (s == null) {
      return null;
    }
    Path p = baseDir.resolve(s);
    if (!Files.isReadable(p) || Files.isDirectory(p)) {
      n.problem(key, "'" + s + "': cannot read " + p + " (expected: a readable file)");
      return null;
    }
    return p;
  }
}
