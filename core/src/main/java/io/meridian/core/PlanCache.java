package io.meridian.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last-known-good routing plan on local disk, so a data plane that restarts while the control plane is
 * unreachable serves what it served before instead of nothing (static stability). Written atomically: a temp
 * file is written and fsync'd, renamed over the old one, and the directory fsync'd, so a crash leaves either
 * the old plan or the new one, never a mix. Reads and writes block: call them from a worker.
 */
public final class PlanCache {
  private static final Logger LOG = LoggerFactory.getLogger(PlanCache.class);

  private final Path file;
  private long savedVersion = -1;

  private PlanCache(Path file) {
    this.file = file;
  }

  public static PlanCache at(Path file) {
    return new PlanCache(file);
  }

  public Path file() {
    return file;
  }

  /** The cached plan, or empty when there is none or it cannot be read (logged: the caller falls back). */
  public Optional<RoutingPlan> load() {
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      RoutingPlan p = PlanCodec.decode(Files.readAllBytes(file));
      savedVersion = p.version();
      return Optional.of(p);
    } catch (IOException | IllegalArgumentException e) {
      LOG.warn("{}: last-known-good plan unreadable ({}); ignoring it", file, e.getMessage());
      return Optional.empty();
    }
  }

  /** Saves {@code plan} unless a plan at least as new was saved by this cache already. */
  public synchronized void save(RoutingPlan plan) throws IOException {
    if (plan.version() <= savedVersion) {
      return;
    }
    writeAtomically(file, PlanCodec.encode(plan));
    savedVersion = plan.version();
  }

  /** Writes {@code bytes} to {@code target} so that a crash leaves the old content or the new, never a mix. */
  public static void writeAtomically(Path target, byte[] bytes) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = dir.resolve(target.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buf = ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true); // the rename itself must survive a power loss
    } catch (IOException e) {
      LOG.debug("directory fsync not supported here: {}", e.toString());
    }
  }
}
