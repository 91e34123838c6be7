package io.meridian.proxy.impl;

import io.meridian.proxy.ProxyOutcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One JSON line per request on the {@code meridian.proxy.access} logger, when {@code proxy.access_log} is on.
 * The line is built only when enabled: a disabled log costs one volatile read.
 */
final class AccessLog {
  private static final Logger LOG = LoggerFactory.getLogger("meridian.proxy.access");
  private final ProxyEngine engine;

  AccessLog(ProxyEngine engine) {
    this.engine = engine;
  }

  void log(RequestView req, String route, String region, int status, ProxyOutcome outcome, int attempts,
      byte[] clientIp, long startNanos) {
    if (!engine.snapshot().proxy().accessLog()) {
      return;
    }
    long micros = (System.nanoTime() - startNanos) / 1000;
    StringBuilder b = new StringBuilder(256).append('{');
    field(b, "ts", java.time.Instant.now().toString()).append(',');
    field(b, "client", clientIp == null ? null : ClientAddress.format(clientIp)).append(',');
    field(b, "method", req.method()).append(',');
    field(b, "host", req.authority()).append(',');
    field(b, "path", req.path()).append(',');
    field(b, "route", route).append(',');
    field(b, "region", region).append(',');
    b.append("\"status\":").append(status).append(',');
    field(b, "outcome", outcome == null ? "proxied" : outcome.label()).append(',');
    b.append("\"attempts\":").append(attempts).append(',');
    b.append("\"duration_us\":").append(micros).append('}');
    LOG.info(b.toString());
  }

  private static StringBuilder field(StringBuilder b, String k, String v) {
    b.append('"').append(k).append("\":");
    if (v == null) {
      return b.append("null");
    }
    b.append('"');
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"');
  }
}
