package io.meridian.proxy.impl;

import io.meridian.proxy.ProxyOutcome;

/** The JSON body of a response the proxy writes itself: the outcome's label, status and reason (and region). */
final class ErrorBody {
  private ErrorBody() {}

  static String json(ProxyOutcome outcome, String regionId) {
    StringBuilder b = new StringBuilder(128).append("{\"error\":\"").append(outcome.label())
        .append("\",\"status\":").append(outcome.status()).append(",\"message\":\"").append(outcome.reason());
    if (regionId != null) {
      b.append("\",\"region\":\"").append(regionId);
    }
    return b.append("\"}").toString();
  }
}
