package io.meridian.geodns;

import io.meridian.core.Role;
import io.meridian.core.RoleContext;
import io.meridian.geodns.impl.GeoDnsServer;
import io.vertx.core.Future;
import java.net.InetAddress;
import java.time.Clock;

/**
 * Meridian's authoritative GeoDNS: answers A/AAAA for the configured geo names with the region the current
 * {@link io.meridian.core.RoutingPlan} gives the client (located by EDNS Client Subnet or source address), and
 * serves static zone data from standard zone files. UDP and TCP on {@code dns.listen}; /healthz, /readyz,
 * /metrics and /v1/explain on {@code dns.ops_listen}.
 *
 * <pre>{@code
 * Role dns = GeoDnsRole.create(new RoleContext(vertx, config, bus, geo, ops));
 * dns.start().onSuccess(v -> System.out.println("dig @127.0.0.1 -p " + ((GeoDnsRole) dns).dnsPort()));
 * }</pre>
 */
public interface GeoDnsRole extends Role {

  static GeoDnsRole create(RoleContext ctx) {
    return GeoDnsServer.create(ctx, Clock.systemUTC());
  }

  /**
   * Same, timing the windows in which answers touched by a plan change keep the transition TTL with
   * {@code clock} (tests move it instead of sleeping).
   */
  static GeoDnsRole create(RoleContext ctx, Clock clock) {
    return GeoDnsServer.create(ctx, clock);
  }

  /** The bound DNS port (UDP and TCP), once started; useful when {@code dns.listen} has port 0. */
  int dnsPort();

  /** The bound ops HTTP port, once started. */
  int opsPort();

  /**
   * Why {@code client} gets its answer for geo name {@code name}, from the current plan; fails when the name is not
   * a configured geo name.
   */
  Future<Explanation> explain(InetAddress client, String name);
}
