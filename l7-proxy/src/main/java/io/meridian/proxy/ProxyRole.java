package io.meridian.proxy;

import io.meridian.core.Role;
import io.meridian.core.RoleContext;
import io.meridian.proxy.impl.DefaultProxyRole;

/**
 * The L7 proxy role: an HTTP reverse proxy that sends each request to an upstream of the region that
 * {@link io.meridian.core.RegionSelector#choose} picks on the current routing plan, and adds
 * {@code X-Meridian-Region} to every response.
 *
 * <pre>{@code
 * ProxyRole proxy = ProxyRole.create(ctx);   // ctx: RoleContext from the launcher
 * proxy.start().onSuccess(v -> System.out.println("proxy on port " + proxy.port()));
 * }</pre>
 */
public interface ProxyRole extends Role {

  /** Creates the role; nothing binds until {@link #start()}. */
  static ProxyRole create(RoleContext ctx) {
    return DefaultProxyRole.create(ctx);
  }

  /** The port client traffic is served on (the bound port when {@code proxy.listen} asked for port 0), or -1. */
  int port();

  /** The port of {@code proxy.h2c_listen} (HTTP/2 cleartext), or -1 when not configured. */
  int h2cPort();

  /** The port of /healthz, /readyz and /metrics, or -1 before start. */
  int opsPort();
}
