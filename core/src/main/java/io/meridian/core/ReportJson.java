package io.meridian.core;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Health and traffic reports as JSON, for buses that cross process boundaries (etcd). Decoding is strict: a
 * report that does not parse is refused with the field that was wrong, never half-applied.
 */
public final class ReportJson {
  private ReportJson() {}

  public static JsonObject toJson(HealthReport r) {
    List<JsonObject> regions = new ArrayList<>();
    for (HealthReport.RegionReport rr : r.regions()) {
      JsonObject wm = new JsonObject();
      rr.watermarks().forEach(wm::put);
      regions.add(new JsonObject().put("region", rr.region()).put("health", rr.health().name())
          .put("healthy_endpoints", rr.healthyEndpoints()).put("total_endpoints", rr.totalEndpoints())
          .put("since", rr.since() == null ? null : rr.since().toString()).put("detail", rr.detail())
          .put("watermarks", wm));
    }
    return new JsonObject().put("vantage_point", r.vantagePoint()).put("sequence", r.sequence())
        .put("at", r.at().toString()).put("valid_until", r.validUntil().toString())
        .put("regions", new io.vertx.core.json.JsonArray(regions));
  }

  public static HealthReport healthFromJson(JsonObject j) {
    List<HealthReport.RegionReport> regions = new ArrayList<>();
    for (Object o : j.getJsonArray("regions")) {
      JsonObject rr = (JsonObject) o;
      Map<String, Long> wm = new HashMap<>();
      JsonObject w = rr.getJsonObject("watermarks", new JsonObject());
      for (String k : w.fieldNames()) {
        wm.put(k, w.getLong(k));
      }
      String since = rr.getString("since");
      regions.add(new HealthReport.RegionReport(rr.getString("region"), Health.valueOf(rr.getString("health")),
          rr.getInteger("healthy_endpoints", 0), rr.getInteger("total_endpoints", 0),
          since == null ? null : Instant.parse(since), rr.getString("detail", ""), wm));
    }
    return new HealthReport(j.getString("vantage_point"), j.getLong("sequence"), Instant.parse(j.getString("at")),
        Instant.parse(j.getString("valid_until")), regions);
  }

  public static JsonObject toJson(TrafficReport r) {
    return new JsonObject().put("source", r.source()).put("at", r.at().toString())
        .put("zone_rps", new JsonObject(new HashMap<>(r.zoneRps())))
        .put("region_rps", new JsonObject(new HashMap<>(r.regionRps())))
        .put("region_errors", new JsonObject(new HashMap<>(r.regionErrors())))
        .put("ejections", new JsonObject(new HashMap<>(r.ejections())))
        .put("region_offered_rps", new JsonObject(new HashMap<>(r.regionOfferedRps())));
  }

  public static TrafficReport trafficFromJson(JsonObject j) {
    return new TrafficReport(j.getString("source"), Instant.parse(j.getString("at")),
        doubles(j.getJsonObject("zone_rps")), doubles(j.getJsonObject("region_rps")),
        doubles(j.getJsonObject("region_errors")), ints(j.getJsonObject("ejections")),
        doubles(j.getJsonObject("region_offered_rps"))); // absent from reporters of earlier releases
  }

  private static Map<String, Double> doubles(JsonObject o) {
    Map<String, Double> m = new HashMap<>();
    if (o != null) {
      for (String k : o.fieldNames()) {
        m.put(k, o.getNumber(k).doubleValue());
      }
    }
    return m;
  }

  private static Map<String, Integer> ints(JsonObject o) {
    Map<String, Integer> m = new HashMap<>();
    if (o != null) {
      for (String k : o.fieldNames()) {
        m.put(k, o.getNumber(k).intValue());
      }
    }
    return m;
  }
}
