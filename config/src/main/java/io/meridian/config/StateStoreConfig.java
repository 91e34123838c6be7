package io.meridian.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Where control-plane state lives: on local disk (one machine) or in etcd (several).
 *
 * @param type           embedded or etcd
 * @param path           directory for the embedded store
 * @param etcdEndpoints  etcd client URLs, for type etcd
 * @param etcdPrefix     key prefix in etcd
 */
public record StateStoreConfig(Type type, Path path, List<String> etcdEndpoints, String etcdPrefix) {

  /** Store kinds. */
  public enum Type { EMBEDDED, ETCD }

  public static StateStoreConfig defaults(Path baseDir) {
    return new StateStoreConfig(Type.EMBEDDED, baseDir.resolve("meridian-state"), List.of(), "/meridian/");
  }

  static StateStoreConfig parse(ConfigNode n, Path baseDir) {
    n.rejectUnknownKeys(Set.of("type", "path", "etcd_endpoints", "etcd_prefix"));
    Type type = n.enumValue("type", Type.class, Type.EMBEDDED);
    String path = n.string("path", "meridian-state");
    List<String> endpoints = n.stringList("etcd_endpoints");
    if (type == Type.ETCD && endpoints.isEmpty()) {
      n.problem("etcd_endpoints", "is required when type is etcd (e.g. [http://127.0.0.1:2379])");
    }
    String prefix = n.string("etcd_prefix", "/meridian/");
    return new StateStoreConfig(type, baseDir.resolve(path), endpoints, prefix);
  }
}
