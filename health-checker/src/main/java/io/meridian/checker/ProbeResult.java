package io.meridian.checker;

import java.time.Instant;
import java.util.Locale;
import java.util.Map;

/**
 * The outcome of one probe, with a short readable output for the evidence API (status, latency split, and
 * on a mismatch the truncated body), in the spirit of Consul's check output.
 *
 * @param failure         null when the probe passed
 * @param at              when the probe started
 * @param connectNanos    TCP connect time, -1 when not reached
 * @param tlsNanos        TLS handshake time, -1 when not reached or plain
 * @param firstByteNanos  from request written to the first response byte, -1 when not reached
 * @param totalNanos      start to verdict
 * @param status          HTTP status, DNS rcode, or -1
 * @param output          readable summary, e.g. {@code HTTP 200 in 1.2ms (connect 0.3ms, first byte 0.8ms)}
 * @param watermarks      replication positions from the response ({@code {"applied": {...}}}), empty if none
 */
public record ProbeResult(ProbeFailure failure, Instant at, long connectNanos, long tlsNanos, long firstByteNanos,
    long totalNanos, int status, String output, Map<String, Long> watermarks) {

  public ProbeResult {
    watermarks = Map.copyOf(watermarks);
  }

  public boolean ok() {
    return failure == null;
  }

  /** Milliseconds with one decimal, for outputs. */
  public static String ms(long nanos) {
    return nanos < 0 ? "-" : String.format(Locale.ROOT, "%.1fms", nanos / 1e6);
  }

  @Override
  public String toString() {
    return (ok() ? "ok: " : failure.label() + ": ") + output;
  }
}
