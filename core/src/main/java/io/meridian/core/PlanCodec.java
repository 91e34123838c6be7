package io.meridian.core;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * A routing plan as bytes that travel and rest: gzip-compressed {@link PlanJson}, with a SHA-256 so a reader
 * can tell a complete plan from a torn or mixed one. Used for etcd (where values are limited to about 1.5 MiB
 * per request, so large plans are split into chunks) and for the last-known-good plan on local disk.
 */
public final class PlanCodec {
  private PlanCodec() {}

  public static byte[] encode(RoutingPlan plan) {
    byte[] json = PlanJson.toJson(plan).encode().getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream(json.length / 6 + 64);
    try (GZIPOutputStream gz = new GZIPOutputStream(out, 64 * 1024)) {
      gz.write(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Decodes {@link #encode} output; IllegalArgumentException when it is not a complete plan. */
  public static RoutingPlan decode(byte[] bytes) {
    try (GZIPInputStream gz = new GZIPInputStream(new ByteArrayInputStream(bytes), 64 * 1024)) {
      return PlanJson.fromJson(new JsonObject(new String(gz.readAllBytes(), StandardCharsets.UTF_8)));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("not a complete routing plan (" + e.getMessage() + ")", e);
    }
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
