package io.meridian.core;

import io.meridian.core.geo.Zones;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.InflaterInputStream;

/**
 * A routing plan as bytes that travel and rest: a compact binary form, deflated, for etcd (every data plane
 * decodes every plan, so decoding must be cheap: a 10,000-zone × 50-region plan decodes in a few milliseconds,
 * where its JSON took 20–40 ms warm) and for the last-known-good plan on disk; a torn or truncated input fails to
 * decode (inflate, magic, trailing-bytes checks). {@link PlanJson} stays the human-facing form (admin API, audit).
 *
 * <p>Layout (big-endian, after inflating): magic {@code "MRPL"}, format 2, version, created-at (epoch seconds,
 * nanos), reason; regions (id, latitude, longitude, residency group, health, lifecycle, capacity, load, share,
 * allowed rps); zone routes (zone index, choices as region index and weight, shed fraction); promotions; fenced
 * homes; shortfall.
 *
 * <p>Format 1 (before per-zone shed and per-region allowed rps) is still read — a last-known-good plan on disk
 * from the previous release — with shed 0 and allowed rps NaN (not stated: no rate limit). A format newer than
 * this code knows is refused with the format number, never guessed at.
 */
public final class PlanCodec {
  private static final int MAGIC = 0x4d52504c; // "MRPL"
  private static final int FORMAT = 2;
  /** The first format, without shed and allowed rps. */
  private static final int FORMAT_1 = 1;

  private PlanCodec() {}

  public static byte[] encode(RoutingPlan plan) {
    // Written raw, then deflated in one call: a DataOutputStream straight on a DeflaterOutputStream makes one
    // native deflate call per field.
    ByteArrayOutputStream raw = new ByteArrayOutputStream(64 * 1024);
    try (DataOutputStream out = new DataOutputStream(raw)) {
      out.writeInt(MAGIC);
      out.writeByte(FORMAT);
      out.writeLong(plan.version());
      out.writeLong(plan.createdAt().getEpochSecond());
      out.writeInt(plan.createdAt().getNano());
      out.writeUTF(truncate(plan.reason()));
      List<RegionState> regions = plan.regions();
      Map<String, Integer> index = new HashMap<>();
      out.writeShort(regions.size());
      for (int i = 0; i < regions.size(); i++) {
        RegionState r = regions.get(i);
        index.put(r.id(), i);
        out.writeUTF(r.id());
        out.writeDouble(r.latitude());
        out.writeDouble(r.longitude());
        out.writeUTF(r.residencyGroup());
        out.writeByte(r.health().ordinal());
        out.writeByte(r.lifecycle().ordinal());
        out.writeDouble(r.capacityRps());
        out.writeDouble(r.loadRps());
        out.writeDouble(r.trafficShare());
        out.writeDouble(r.allowedRps());
      }
      Map<String, ZoneRoute> zones = plan.zones().asMap();
      out.writeInt(zones.size());
      for (ZoneRoute z : zones.values()) {
        if (z.choices().size() > 255) {
          throw new IllegalArgumentException("zone " + z.zone() + ": " + z.choices().size() + " choices (at most 255)");
        }
        out.writeInt(Zones.parse(z.zone()));
        out.writeByte(z.choices().size());
        for (ZoneRoute.Choice c : z.choices()) {
          Integer ri = index.get(c.region());
          if (ri == null) {
            throw new IllegalArgumentException("zone " + z.zone() + ": region " + c.region() + " is not in the plan");
          }
          out.writeShort(ri);
          out.writeDouble(c.weight());
        }
        out.writeDouble(z.shed());
      }
      out.writeShort(plan.homes().promotions().size());
      for (Map.Entry<String, String> e : plan.homes().promotions().entrySet()) {
        out.writeUTF(e.getKey());
        out.writeUTF(e.getValue());
      }
      out.writeShort(plan.homes().fenced().size());
      for (String f : plan.homes().fenced()) {
        out.writeUTF(f);
      }
      out.writeDouble(plan.shortfallRps());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.size() / 3 + 64);
    Deflater deflater = new Deflater(Deflater.BEST_SPEED);
    try (DeflaterOutputStream d = new DeflaterOutputStream(bytes, deflater, 64 * 1024)) {
      raw.writeTo(d);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      deflater.end();
    }
    return bytes.toByteArray();
  }

  private static String truncate(String s) {
    // writeUTF takes at most 65,535 bytes; a reason is a sentence, this only guards against a runaway one
    return s.length() > 8000 ? s.substring(0, 8000) + "…" : s;
  }

  /** Decodes {@link #encode} output; IllegalArgumentException when it is not a complete plan. */
  public static RoutingPlan decode(byte[] bytes) {
    return decode(bytes, null);
  }

  /**
   * Decodes, reusing {@code previous} when the plan has the same regions: its per-zone rankings, computed on the
   * hot path as clients arrive, then survive the new plan instead of being computed again after every plan.
   */
  public static RoutingPlan decode(byte[] bytes, Topology previous) {
    byte[] raw;
    java.util.zip.Inflater inflater = new java.util.zip.Inflater();
    try (InflaterInputStream inflating = new InflaterInputStream(new ByteArrayInputStream(bytes), inflater,
        64 * 1024)) {
      raw = inflating.readAllBytes(); // one pass, then plain array reads (see encode)
    } catch (IOException e) {
      throw new IllegalArgumentException("not a complete routing plan (" + e + ")", e);
    } finally {
      inflater.end();
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(raw))) {
      if (in.readInt() != MAGIC) {
        throw new IllegalArgumentException("not a Meridian plan (bad magic)");
      }
      int format = in.readUnsignedByte();
      if (format != FORMAT && format != FORMAT_1) {
        throw new IllegalArgumentException("plan format " + format + " (expected: " + FORMAT_1 + " or " + FORMAT
            + "; written by a newer Meridian?)");
      }
      boolean v2 = format >= 2;
      long version = in.readLong();
      Instant createdAt = Instant.ofEpochSecond(in.readLong(), in.readInt());
      String reason = in.readUTF();
      int n = in.readUnsignedShort();
      List<String> ids = new ArrayList<>(n);
      double[] lat = new double[n];
      double[] lon = new double[n];
      List<RegionState> regions = new ArrayList<>(n);
      Health[] healths = Health.values();
      Lifecycle[] lifecycles = Lifecycle.values();
      for (int i = 0; i < n; i++) {
        String id = in.readUTF();
        ids.add(id);
        lat[i] = in.readDouble();
        lon[i] = in.readDouble();
        regions.add(new RegionState(id, lat[i], lon[i], in.readUTF(), healths[in.readUnsignedByte()],
            lifecycles[in.readUnsignedByte()], in.readDouble(), in.readDouble(), in.readDouble(),
            v2 ? in.readDouble() : Double.NaN));
      }
      int zoneCount = in.readInt();
      ZoneRoute[] zones = new ZoneRoute[Zones.COUNT];
      for (int z = 0; z < zoneCount; z++) {
        int index = in.readInt();
        if (index < 0 || index >= Zones.COUNT) {
          throw new IllegalArgumentException("zone index " + index + " (expected: 0.." + (Zones.COUNT - 1) + ")");
        }
        int choices = in.readUnsignedByte();
        ZoneRoute.Choice[] list = new ZoneRoute.Choice[choices];
        for (int c = 0; c < choices; c++) {
          list[c] = new ZoneRoute.Choice(ids.get(in.readUnsignedShort()), in.readDouble());
        }
        zones[index] = new ZoneRoute(Zones.id(index), List.of(list), v2 ? in.readDouble() : 0);
      }
      Map<String, String> promotions = new LinkedHashMap<>();
      for (int i = in.readUnsignedShort(); i > 0; i--) {
        promotions.put(in.readUTF(), in.readUTF());
      }
      Set<String> fenced = new LinkedHashSet<>();
      for (int i = in.readUnsignedShort(); i > 0; i--) {
        fenced.add(in.readUTF());
      }
      double shortfall = in.readDouble();
      if (in.read() != -1) {
        throw new IllegalArgumentException("trailing bytes after the plan");
      }
      Topology topology = Topology.of(ids, lat, lon);
      if (topology.sameAs(previous)) {
        topology = previous;
      }
      return new RoutingPlan(version, createdAt, reason, topology, regions, ZoneRoutes.ofIndexed(zones),
          promotions.isEmpty() && fenced.isEmpty() ? HomeAssignments.NONE : new HomeAssignments(promotions, fenced),
          shortfall);
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException iae && iae.getMessage() != null
          && iae.getMessage().startsWith("plan format")) {
        throw iae;
      }
      throw new IllegalArgumentException("not a complete routing plan (" + e + ")", e);
    }
  }
}
