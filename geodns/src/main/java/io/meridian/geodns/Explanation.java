package io.meridian.geodns;

import io.meridian.core.RegionSelector;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Why a client gets the answer it gets for a geo name: where we placed it and from which source, its client
 * zone, the plan version, every candidate region with its distance and state, and the choice. Served as TXT on
 * the explain name ({@code _explain.www.example.com TXT}) and as JSON on the ops listener
 * ({@code GET /v1/explain?client=198.51.100.7&name=www.example.com}).
 *
 * @param name             the geo name
 * @param client           the address the client was located by (ECS address cut to its prefix, or the source)
 * @param clientSource     {@code ecs} or {@code address}
 * @param locationSource   {@code NETS_OVERRIDE}, {@code GEOIP} or {@code unknown}
 * @param latitude         NaN when unknown
 * @param longitude        NaN when unknown
 * @param country          ISO code or null
 * @param continent        continent code or null
 * @param zone             client zone id, e.g. {@code 50N8E}, or {@code unknown}
 * @param planVersion      the routing plan version used
 * @param fence            regions the client is fenced to, or empty
 * @param candidates       regions nearest first with distance, state and eligibility
 * @param choice           the chosen region id, or {@code fallback:<kind>}
 * @param ttl              the TTL answers carry now
 * @param ttlRule          why that TTL: {@code normal}, {@code fallback}, {@code moved} (not the client's normal
 *                         region), {@code stepping} (its region is draining or ramping) or {@code changed} (what
 *                         decides the answer changed within the last 2 × transition_ttl); see geodns/README.md
 */
public record Explanation(String name, String client, String clientSource, String locationSource,
    double latitude, double longitude, String country, String continent, String zone, long planVersion,
    List<String> fence, List<RegionSelector.Candidate> candidates, String choice, long ttl, String ttlRule) {

  public Explanation {
    fence = List.copyOf(fence);
    candidates = List.copyOf(candidates);
  }

  /** As TXT character-strings (each under 255 bytes, RFC 1035 §3.3.14): a summary line, then a line per region. */
  public List<String> toTxtStrings() {
    List<String> out = new ArrayList<>();
    out.add(String.format(Locale.ROOT, "client=%s via=%s located-by=%s loc=%s country=%s continent=%s zone=%s",
        client, clientSource, locationSource,
        Double.isNaN(latitude) ? "unknown" : String.format(Locale.ROOT, "%.2f,%.2f", latitude, longitude),
        country, continent, zone));
    out.add("plan=" + planVersion + " choice=" + choice + " ttl=" + ttl + " ttl_rule=" + ttlRule
        + (fence.isEmpty() ? "" : " fence=" + String.join(",", fence)));
    for (RegionSelector.Candidate c : candidates) {
      out.add(String.format(Locale.ROOT, "%s %.0fkm health=%s lifecycle=%s share=%.2f%s %s", c.region(),
          c.distanceKm(), c.health(), c.lifecycle(), c.trafficShare(),
          Double.isNaN(c.zoneWeight()) ? "" : String.format(Locale.ROOT, " weight=%.2f", c.zoneWeight()),
          c.why()));
    }
    return out;
  }

  public JsonObject toJson() {
    JsonArray cs = new JsonArray();
    for (RegionSelector.Candidate c : candidates) {
      cs.add(new JsonObject().put("region", c.region())
          .put("distance_km", Double.isNaN(c.distanceKm()) ? null : Math.round(c.distanceKm()))
          .put("health", c.health().name()).put("lifecycle", c.lifecycle().name())
          .put("traffic_share", c.trafficShare())
          .put("zone_weight", Double.isNaN(c.zoneWeight()) ? null : c.zoneWeight())
          .put("eligible", c.eligible()).put("why", c.why()));
    }
    return new JsonObject().put("name", name).put("client", client).put("client_source", clientSource)
        .put("location", new JsonObject().put("source", locationSource)
            .put("latitude", Double.isNaN(latitude) ? null : latitude)
            .put("longitude", Double.isNaN(longitude) ? null : longitude)
            .put("country", country).put("continent", continent))
        .put("zone", zone).put("plan_version", planVersion).put("fence", new JsonArray(fence))
        .put("candidates", cs).put("choice", choice).put("ttl", ttl).put("ttl_rule", ttlRule);
  }
}
