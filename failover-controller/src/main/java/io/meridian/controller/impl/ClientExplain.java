package io.meridian.controller.impl;

import io.meridian.config.DnsConfig;
import io.meridian.config.MeridianConfig;
import io.meridian.controller.Refusal;
import io.meridian.core.ClientKey;
import io.meridian.core.RegionSelector;
import io.meridian.core.RoutingPlan;
import io.meridian.core.ZoneRoute;
import io.meridian.core.geo.ClientLocation;
import io.meridian.core.geo.GeoLocator;
import io.meridian.core.geo.Zones;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * "Why does this client get this region": {@code GET /v1/plan/explain?client=IP[/PREFIX]}. The client is located
 * with the process's {@link GeoLocator} (the same {@code geo} config, nets overrides and database as GeoDNS and
 * the proxy), and its region chosen with {@link RegionSelector#choose} on the current plan with the client key
 * both data planes use ({@link ClientKey}) — the data planes' own decision, run here on the controller's copy of
 * the plan:
 *
 * <ul>
 *   <li><b>DNS</b>, per geo name of {@code dns.zones}: the name's geofence covering the client (if any) limits
 *       the regions; a subnet is what a resolver sends as EDNS Client Subnet, located by its network address;</li>
 *   <li><b>HTTP</b>: a request without a user identity on an eventual route (reads), and a write, which avoids
 *       regions fenced after a home promotion; the fraction of the zone's requests the proxies shed for
 *       shortfall. Per-user home and residency routes depend on the user, not the address, and are not shown.</li>
 * </ul>
 */
final class ClientExplain {
  private static final Pattern LITERAL = Pattern.compile("[0-9a-fA-F:.]+(/\\d{1,3})?");
  /** IPv4 as four decimal parts (InetAddress would also take "1.2.3" as 1.2.0.3). */
  private static final Pattern V4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}(/\\d{1,2})?");

  private ClientExplain() {}

  /** The address and prefix of {@code client} ("198.51.100.7", "198.51.100.0/24", "2001:db8::/56"). */
  record Client(String text, byte[] address, int prefix) {}

  /** Parses an IP literal with an optional prefix; never resolves a name. */
  static Client parse(String text) {
    String expected = "an IPv4 or IPv6 address, optionally with a prefix length (198.51.100.7, 198.51.100.0/24,"
        + " 2001:db8::/56)";
    if (text == null || !LITERAL.matcher(text.trim()).matches() || !(text.contains(":")
        || V4.matcher(text.trim()).matches())) {
      throw Refusal.INVALID_REQUEST.at("client", text, expected);
    }
    String t = text.trim();
    int slash = t.indexOf('/');
    byte[] addr;
    try {
      // a literal of only hex digits, dots and colons: getByName parses it, it never asks a resolver
      addr = InetAddress.getByName(slash < 0 ? t : t.substring(0, slash)).getAddress();
    } catch (UnknownHostException | SecurityException e) {
      throw Refusal.INVALID_REQUEST.at("client", text, expected);
    }
    int bits = addr.length * 8;
    int prefix = slash < 0 ? bits : Integer.parseInt(t.substring(slash + 1));
    if (prefix > bits) {
      throw Refusal.INVALID_REQUEST.at("client", text, "a prefix length of at most " + bits);
    }
    for (int i = 0; i < addr.length; i++) {
      int keep = Math.max(0, Math.min(8, prefix - 8 * i));
      addr[i] &= (byte) (0xFF << (8 - keep));
    }
    return new Client(t, addr, prefix);
  }

  static JsonObject explain(Client c, GeoLocator geo, RoutingPlan plan, MeridianConfig config,
      List<String> plannerLines) {
    ClientLocation where = geo == null ? null : geo.locate(c.address());
    int zone = where == null ? Zones.UNKNOWN : where.zone();
    int key = ClientKey.of(c.address());
    JsonObject out = new JsonObject().put("client", c.text()).put("address", text(c.address()))
        .put("prefix", c.prefix()).put("plan_version", plan.version())
        .put("location", where == null ? null : new JsonObject().put("source", where.source().name())
            .put("latitude", where.latitude()).put("longitude", where.longitude()).put("country", where.country())
            .put("continent", where.continent()))
        .put("zone", where == null ? "unknown" : Zones.id(zone));
    if (geo == null) {
      out.put("note", "this process has no client locator: every client is unlocated");
    } else if (where == null) {
      out.put("note", "neither geo.nets nor the GeoIP database (" + geo.databaseInfo() + ") knows this address");
    }
    JsonArray candidates = new JsonArray();
    for (var x : RegionSelector.explain(plan, zone, RegionSelector.Constraint.NONE)) {
      candidates.add(new JsonObject().put("region", x.region())
          .put("distance_km", Double.isNaN(x.distanceKm()) ? null : Math.round(x.distanceKm()))
          .put("health", x.health().name()).put("lifecycle", x.lifecycle().name())
          .put("traffic_share", x.trafficShare())
          .put("zone_weight", Double.isNaN(x.zoneWeight()) ? null : x.zoneWeight())
          .put("eligible", x.eligible()).put("why", x.why()));
    }
    out.put("candidates", candidates).put("planner", new JsonArray(plannerLines));
    out.put("dns", dns(config.dns(), plan, where, zone, key));
    out.put("http", http(plan, zone, key));
    return out;
  }

  private static JsonArray dns(DnsConfig dns, RoutingPlan plan, ClientLocation where, int zone, int key) {
    JsonArray names = new JsonArray();
    if (dns == null) {
      return names;
    }
    for (DnsConfig.ZoneConfig z : dns.zones()) {
      for (DnsConfig.GeoName n : z.names()) {
        JsonObject j = new JsonObject().put("name", n.name());
        if (where == null) {
          // GeoDNS places an unlocated client by dns.unlocated: at its resolver (unknown here), a region, or
          // nowhere (every eligible region answers)
          j.put("choice", null).put("why", "not located: GeoDNS applies dns.unlocated (policy "
              + dns.unlocated().policy().name().toLowerCase() + (dns.unlocated().region() == null ? ""
              : ", region " + dns.unlocated().region()) + ")");
          names.add(j);
          continue;
        }
        DnsConfig.Geofence fence = null;
        for (DnsConfig.Geofence f : n.geofences()) {
          if (f.covers(where.country(), where.continent())) {
            fence = f;
            break;
          }
        }
        java.util.Set<String> allowed = fence == null ? null : java.util.Set.copyOf(fence.regions());
        RegionSelector.Constraint c = allowed == null ? RegionSelector.Constraint.NONE
            : r -> allowed.contains(r.id());
        int idx = RegionSelector.choose(plan, zone, key, c);
        j.put("fence", allowed == null ? null : new JsonArray(List.copyOf(new TreeSet<>(allowed))));
        if (idx >= 0) {
          j.put("choice", plan.topology().id(idx)).put("why", "answered with " + plan.topology().id(idx)
              + (allowed == null ? "" : " (geofence: only " + String.join(", ", new TreeSet<>(allowed)) + ")"));
        } else {
          j.put("choice", null).put("why", "no eligible region" + (allowed == null ? "" : " inside the geofence")
              + ": fallback " + n.fallback().kind().name().toLowerCase());
        }
        names.add(j);
      }
    }
    return names;
  }

  private static JsonObject http(RoutingPlan plan, int zone, int key) {
    int read = RegionSelector.choose(plan, zone, key, RegionSelector.Constraint.NONE);
    java.util.Set<String> fenced = plan.homes().fenced();
    int write = fenced.isEmpty() ? read : RegionSelector.choose(plan, zone, key, r -> !fenced.contains(r.id()));
    ZoneRoute route = zone == Zones.UNKNOWN ? null : plan.zones().get(zone);
    double shed = route == null ? 0 : route.shed();
    return new JsonObject().put("read", read < 0 ? null : plan.topology().id(read))
        .put("write", write < 0 ? null : plan.topology().id(write))
        .put("fenced", new JsonArray(List.copyOf(new TreeSet<>(fenced))))
        .put("shed_fraction", shed)
        .put("why", (read < 0 ? "no eligible region: the proxy answers 503" : "a request without a user identity on an"
            + " eventual route goes to " + plan.topology().id(read))
            + (fenced.isEmpty() || write == read ? "" : "; a write avoids the fenced " + String.join(", ",
            new TreeSet<>(fenced)) + " and goes to " + (write < 0 ? "no region (503)" : plan.topology().id(write)))
            + (shed > 0 ? String.format("; %.0f%% of this zone's requests are shed (plan shortfall)", 100 * shed)
            : "")
            + "; home and residency routes follow the user, not the address");
  }

  private static String text(byte[] addr) {
    try {
      return InetAddress.getByAddress(addr).getHostAddress();
    } catch (UnknownHostException e) {
      return "?";
    }
  }
}
