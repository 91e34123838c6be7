package io.meridian.checker.impl;

import io.meridian.checker.ProbeFailure;
import io.netty.channel.ConnectTimeoutException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;

/** Shared helpers for probes: classifying network exceptions into the failure taxonomy. */
final class Probes {
  private Probes() {}

  static ProbeFailure classify(Throwable t) {
    if (t instanceof ConnectTimeoutException) {
      return ProbeFailure.TIMEOUT;
    }
    if (t instanceof ConnectException && String.valueOf(t.getMessage()).contains("refused")) {
      return ProbeFailure.REFUSED;
    }
    if (t instanceof NoRouteToHostException) {
      return ProbeFailure.NETWORK;
    }
    if (t instanceof javax.net.ssl.SSLException) {
      return ProbeFailure.TLS;
    }
    return ProbeFailure.NETWORK;
  }

  static String describe(Throwable t) {
    if (t instanceof ConnectException && String.valueOf(t.getMessage()).contains("refused")) {
      return "connection refused";
    }
    if (t instanceof ConnectTimeoutException) {
      return "connect timeout";
    }
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + HttpResponseParser.truncate(m, 120));
  }
}
