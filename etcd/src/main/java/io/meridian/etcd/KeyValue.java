package io.meridian.etcd;

import java.nio.charset.StandardCharsets;

/**
 * One key as etcd stores it.
 *
 * @param key             the key
 * @param value           its bytes (empty for a delete event)
 * @param createRevision  store revision that created it
 * @param modRevision     store revision of its last change
 * @param version         changes since it was created
 * @param lease           the lease it is attached to, or 0
 */
public record KeyValue(String key, byte[] value, long createRevision, long modRevision, long version, long lease) {

  public String valueUtf8() {
    return new String(value, StandardCharsets.UTF_8);
  }
}
