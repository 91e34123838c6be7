package io.meridian.geodns.impl;

/** How a query arrived; decides the response size limit (RFC 1035 §4.2, RFC 6891 §6.2.5) and the metric label. */
public enum Transport {
  UDP, TCP;

  String label() {
    return this == UDP ? "udp" : "tcp";
  }
}
