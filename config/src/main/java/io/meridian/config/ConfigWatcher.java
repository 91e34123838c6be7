package io.meridian.config;

import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies edits to the config file while running. The file is checked periodically (content hash, so an
 * editor's save-by-rename is seen too); a valid new version replaces the current one atomically and is
 * handed to every listener; an invalid one is logged with all its problems and the running config stays.
 * Reading and parsing happen on a worker thread, never on an event loop.
 */
public final class ConfigWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigWatcher.class);

  private final Vertx vertx;
  private final Path file;
  private final AtomicReference<MeridianConfig> current;
  private final List<Consumer<MeridianConfig>> listeners = new CopyOnWriteArrayList<>();
  private final AtomicLong applied = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private volatile List<ConfigProblem> lastProblems = List.of();
  private volatile String lastDigest;
  private final long timerId;

  private ConfigWatcher(Vertx vertx, Path file, MeridianConfig initial, Duration every) {
    this.vertx = vertx;
    this.file = file;
    this.current = new AtomicReference<>(initial);
    this.lastDigest = digest(file);
    this.timerId = vertx.setPeriodic(every.toMillis(), id -> check());
  }

  /** Watches {@code file}, whose current parsed content is {@code initial}. */
  public static ConfigWatcher watch(Vertx vertx, Path file, MeridianConfig initial, Duration every) {
    return new ConfigWatcher(vertx, file, initial, every);
  }

  public MeridianConfig current() {
    return current.get();
  }

  public void onChange(Consumer<MeridianConfig> listener) {
    listeners.add(listener);
  }

  public long appliedCount() {
    return applied.get();
  }

  public long rejectedCount() {
    return rejected.get();
  }

  /** Problems of the last rejected edit, empty when the file on disk is the running config. */
  public List<ConfigProblem> lastProblems() {
    return lastProblems;
  }

  private void check() {
    vertx.<MeridianConfig>executeBlocking(() -> {
      String d = digest(file);
      if (d == null || d.equals(lastDigest)) {
        return null;
      }
      if (d.equals(EMPTY_DIGEST)) {
        // an editor that truncates and then writes: caught in between, the file is empty for a moment. Not an
        // edit to reject (and log as an error); look again next tick.
        return null;
      }
      lastDigest = d;
      try {
        return ConfigLoader.load(file);
      } catch (ConfigException e) {
        rejected.incrementAndGet();
        lastProblems = e.problems();
        LOG.error("config reload rejected, keeping the running config: {}", e.getMessage());
        return null;
      }
    }, false).onSuccess(cfg -> {
      if (cfg != null) {
        current.set(cfg);
        applied.incrementAndGet();
        lastProblems = List.of();
        LOG.info("config reloaded from {}", file);
        for (Consumer<MeridianConfig> l : listeners) {
          try {
            l.accept(cfg);
          } catch (RuntimeException e) {
            LOG.error("config listener failed", e);
          }
        }
      }
    }).onFailure(e -> LOG.warn("config check of {} failed: {}", file, e.toString()));
  }

  /** SHA-256 of no bytes. */
  private static final String EMPTY_DIGEST = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  private static String digest(Path file) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
      return java.util.HexFormat.of().formatHex(h);
    } catch (IOException e) {
      return null; // mid-rename or deleted: try again next tick
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    vertx.cancelTimer(timerId);
  }
}
