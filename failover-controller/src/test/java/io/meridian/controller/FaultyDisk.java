package io.meridian.controller;

import io.meridian.controller.impl.EmbeddedStateStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A disk that fills up or fails on command, for {@link EmbeddedStateStore.Options#withOpener}: once
 * {@link #fill(long)} allows N more bytes, a write stores what fits and then fails with "No space left on device"
 * (as write(2) does: a short write, then ENOSPC); {@link #failForce} makes fsync fail like an I/O error. Only the
 * files the predicate selects are affected.
 */
final class FaultyDisk implements EmbeddedStateStore.FileOpener {
  private long bytesLeft = Long.MAX_VALUE;
  private boolean failForce;
  private boolean failTruncate;
  private Predicate<Path> affected = p -> true;
  private int faults;

  synchronized FaultyDisk fill(long bytesThatStillFit) {
    bytesLeft = bytesThatStillFit;
    return this;
  }

  synchronized FaultyDisk failForce(boolean fail) {
    failForce = fail;
    return this;
  }

  synchronized FaultyDisk failTruncate(boolean fail) {
    failTruncate = fail;
    return this;
  }

  /** Only files whose name matches are affected (e.g. the commit file only). */
  synchronized FaultyDisk only(Predicate<Path> which) {
    affected = which;
    return this;
  }

  /** Space is back and fsync works again. */
  synchronized FaultyDisk heal() {
    bytesLeft = Long.MAX_VALUE;
    failForce = false;
    failTruncate = false;
    affected = p -> true;
    return this;
  }

  synchronized int faults() {
    return faults;
  }

  @Override
  public FileChannel open(Path file, Set<? extends OpenOption> options) throws IOException {
    return new Channel(file, FileChannel.open(file, options));
  }

  private synchronized int allow(Path file, int wanted) throws IOException {
    if (!affected.test(file.getFileName()) || bytesLeft == Long.MAX_VALUE) {
      return wanted;
    }
    if (bytesLeft <= 0) {
      faults++;
      throw new IOException("No space left on device");
    }
    int n = (int) Math.min(wanted, bytesLeft);
    bytesLeft -= n;
    return n;
  }

  private synchronized void checkForce(Path file) throws IOException {
    if (failForce && affected.test(file.getFileName())) {
      faults++;
      throw new IOException("Input/output error (fsync)");
    }
  }

  private synchronized void checkTruncate(Path file) throws IOException {
    if (failTruncate && affected.test(file.getFileName())) {
      faults++;
      throw new IOException("Input/output error (truncate)");
    }
  }

  /** Delegates everything; writes and force go through the disk's budget and faults. */
  private final class Channel extends FileChannel {
    private final Path file;
    private final FileChannel d;

    Channel(Path file, FileChannel d) {
      this.file = file;
      this.d = d;
    }

    private int limited(ByteBuffer src, long position, boolean positional) throws IOException {
      int n = allow(file, src.remaining());
      ByteBuffer part = src.duplicate();
      part.limit(part.position() + n);
      int written = positional ? d.write(part, position) : d.write(part);
      src.position(src.position() + written);
      return written;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      return limited(src, -1, false);
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
      return limited(src, position, true);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
      long total = 0;
      for (int i = offset; i < offset + length; i++) {
        total += write(srcs[i]);
      }
      return total;
    }

    @Override
    public void force(boolean metaData) throws IOException {
      checkForce(file);
      d.force(metaData);
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
      checkTruncate(file);
      d.truncate(size);
      return this;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      return d.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
      return d.read(dsts, offset, length);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return d.read(dst, position);
    }

    @Override
    public long position() throws IOException {
      return d.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
      d.position(newPosition);
      return this;
    }

    @Override
    public long size() throws IOException {
      return d.size();
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
      return d.transferTo(position, count, target);
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
      throw new UnsupportedOperationException("not used by the store");
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
      throw new UnsupportedOperationException("not used by the store");
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
      return d.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
      return d.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
      d.close();
    }
  }
}
