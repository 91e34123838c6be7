package io.meridian.launcher;

import java.time.Instant;

/**
 * The drill's one clock: microseconds since the epoch, monotonic within the drill's JVM (nanoTime from a wall-clock
 * start), so that its own records can be compared with the timestamps other processes on this machine put in
 * their events and plans (wall clock).
 */
final class DrillClock {
  private static final long START_NANOS = System.nanoTime();
  private static final long START_MICROS = micros(Instant.now());

  private DrillClock() {}

  static long now() {
    return START_MICROS + (System.nanoTime() - START_NANOS) / 1000;
  }

  static long micros(Instant i) {
    return i.getEpochSecond() * 1_000_000 + i.getNano() / 1000;
  }

  /** An ISO-8601 instant as written by Meridian's JSON ({@code created_at}, an event's {@code at}). */
  static long micros(String iso) {
    return micros(Instant.parse(iso));
  }
}
