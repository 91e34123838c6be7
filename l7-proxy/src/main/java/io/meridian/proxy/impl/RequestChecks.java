package io.meridian.proxy.impl;

import io.meridian.config.ProxyConfig;
import io.meridian.proxy.ProxyOutcome;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import java.util.List;

/**
 * Checks on a parsed request head that the HTTP decoder does not make. Byte-level smuggling shapes (bare CR,
 * obs-fold, CL+TE before the decoder normalises them) are caught earlier by {@link SmugglingGuard}; this stage
 * sees what is left: limits and header semantics.
 */
final class RequestChecks {
  private RequestChecks() {}

  /** Null when the request may proceed, else why not. */
  static ProxyOutcome check(HttpServerRequest req, ProxyConfig.Limits limits) {
    if (req.uri().length() > limits.maxUriBytes()) {
      return ProxyOutcome.URI_TOO_LONG;
    }
    MultiMap h = req.headers();
    if (h.size() > limits.maxHeaders()) {
      return ProxyOutcome.HEADERS_TOO_LARGE;
    }
    if (req.version() == HttpVersion.HTTP_2) {
      return null;
    }
    List<String> cl = h.getAll("content-length");
    if (!cl.isEmpty()) {
      long len = -1;
      for (String v : cl) {
        // RFC 9112 §6.3: differing Content-Length values are unrecoverable; identical lists are one value
        for (String part : v.split(",", -1)) {
          long n = H1Parser.parseDecimal(part.trim());
          if (n < 0 || (len >= 0 && n != len)) {
            return ProxyOutcome.BAD_REQUEST;
          }
          len = n;
        }
      }
      if (h.contains("transfer-encoding")) {
        return ProxyOutcome.BAD_REQUEST; // RFC 9112 §6.1: both present is a smuggling shape; refuse, don't guess
      }
      if (limits.maxBodyBytes() > 0 && len > limits.maxBodyBytes()) {
        return ProxyOutcome.BODY_TOO_LARGE;
      }
    }
    List<String> te = h.getAll("transfer-encoding");
    if (!te.isEmpty()) {
      // only "chunked", last and once, is acceptable from a client (RFC 9112 §6.1, §7)
      if (te.size() != 1 || !te.get(0).trim().equalsIgnoreCase("chunked")) {
        return ProxyOutcome.BAD_REQUEST;
      }
    }
    return null;
  }

  /** Whether the request carries a body to forward (HTTP/1.1 framing per RFC 9112 §6.3). */
  static boolean hasBody(HttpServerRequest req) {
    if (req.version() == HttpVersion.HTTP_2) {
      return !req.isEnded();
    }
    MultiMap h = req.headers();
    String cl = h.get("content-length");
    if (cl != null) {
      return !cl.trim().equals("0");
    }
    return h.contains("transfer-encoding");
  }
}
