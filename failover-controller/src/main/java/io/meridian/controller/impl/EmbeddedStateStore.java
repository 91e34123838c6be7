package io.meridian.controller.impl;

import io.meridian.controller.AdminState;
import io.meridian.controller.StateStore;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operators' state on local disk: a snapshot, a journal segment of {@link JournalEntry entries} after it,
 * and {@code journal.commit}, the witness of what was acknowledged ({@link JournalCommit}).
 *
 * <pre>
 * journal.commit                     two slots: last acknowledged seq, its segment, the segment's committed end
 * snapshot-&lt;S&gt;.snap                  state after entry S and the last 1,000 audit entries (absent while S = 0)
 * journal-&lt;S&gt;.log                  entries S+1, S+2, ... each framed: length, CRC32C, JSON ({@link JournalFrame})
 * journal.lock                       held while a controller uses the directory
 * </pre>
 *
 * <p><b>Append</b>: the entry (audit + {@link StateDelta}) is encoded and decoded again to prove it reads back
 * as the state meant; written at the committed end; fsync'd; then a commit naming the new end is written to the
 * other slot and fsync'd; only then does {@link #append} return and the operator get an answer. If a write or
 * fsync fails (disk full, I/O error), the other slot is rewritten with the last good commit and the segment is
 * cut back to the committed end before anything else is written; until that succeeds every append fails (the
 * admin API answers 503) and each append retries it. The segment and commit file are reopened for the retry:
 * after a failed fsync Linux may drop the dirty pages and report success on the next fsync ("fsyncgate"), so
 * nothing written before a failure is trusted; it is cut away and written again.
 *
 * <p><b>Snapshot</b> every {@link Options#snapshotEvery()} entries: written to a temp file, fsync'd, renamed,
 * directory fsync'd; an empty segment is created; a commit names both; then the previous snapshot and segment
 * are deleted. A crash anywhere in between leaves the previous commit pointing at files that still exist.
 *
 * <p><b>Start-up</b> replays the snapshot and the segment the newest valid commit names. Bytes after the
 * committed end that do not form whole valid records are a write cut short by a crash (never acknowledged):
 * they are truncated with a warning. Whole valid records after it were durable but their commit was not (the
 * answer may have been lost): they are kept. A segment that ends before the committed end, a damaged record
 * before it, or a missing snapshot mean acknowledged data is gone: {@link JournalDamagedException} names the
 * file, byte and seq and the way out, and the controller does not start.
 */
public final class EmbeddedStateStore implements StateStore {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedStateStore.class);

  /**
   * Entries between snapshots. Replay cost and disk use are bounded by one snapshot plus this many entries
   * (entries are ~1–2 KB, so a segment stays around a few MB); a snapshot (the state with up to 1,000 stored
   * responses and 1,000 audit entries, about 1 MB) every 1,000 commands costs under 1 KB per command.
   */
  public static final int SNAPSHOT_EVERY = 1000;

  static final String COMMIT = "journal.commit";
  static final String LOCK = "journal.lock";
  /** The journal format before snapshots: one line per entry with the whole state; read once, then renamed. */
  static final String LEGACY = "audit.jsonl";
  /** Created by an operator to start on the readable part of a damaged segment; removed once used. */
  public static final String ACCEPT_DATA_LOSS = "accept-data-loss";
  private static final Pattern JOURNAL_FILE = Pattern.compile("(snapshot-\\d+\\.snap|journal-\\d+\\.log)(\\.tmp)?"
      + "|journal\\.commit\\.tmp");

  /** Opens the files the store writes: the seam tests use to make a write or fsync fail like a full disk. */
  @FunctionalInterface
  public interface FileOpener {
    FileChannel open(Path file, Set<? extends OpenOption> options) throws IOException;
  }

  /**
   * @param snapshotEvery entries between snapshots ({@link #SNAPSHOT_EVERY}; tests use fewer)
   * @param opener        how files are opened for writing
   */
  public record Options(int snapshotEvery, FileOpener opener) {
    public Options {
      if (snapshotEvery < 1) {
        throw new IllegalArgumentException("snapshotEvery: " + snapshotEvery + " (expected: 1 or more)");
      }
    }

    public static Options defaults() {
      return new Options(SNAPSHOT_EVERY, (file, opts) -> FileChannel.open(file, opts));
    }

    public Options withSnapshotEvery(int n) {
      return new Options(n, opener);
    }

    public Options withOpener(FileOpener o) {
      return new Options(snapshotEvery, o);
    }
  }

  private final Path dir;
  private final Options options;
  private final AuditWindow recent = new AuditWindow();
  private FileChannel lockChannel;
  private FileChannel commitFile;
  private FileChannel segment;
  private JournalCommit committed;
  private int committedSlot;
  private AdminState state = AdminState.EMPTY;
  /** The state being rebuilt at start-up, entry by entry. */
  private StateDelta.Replay replaying;
  /** Why nothing can be made durable until the journal is cut back, or null when writable. */
  private String unavailable;
  private boolean closed;

  private EmbeddedStateStore(Path dir, Options options) {
    this.dir = dir;
    this.options = options;
  }

  public static EmbeddedStateStore open(Path dir) throws IOException {
    return open(dir, Options.defaults());
  }

  public static EmbeddedStateStore open(Path dir, Options options) throws IOException {
    EmbeddedStateStore s = new EmbeddedStateStore(dir, options);
    try {
      s.start();
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  // ---------------------------------------------------------------- start-up

  private void start() throws IOException {
    Files.createDirectories(dir);
    lock();
    Path commitPath = dir.resolve(COMMIT);
    Path legacy = dir.resolve(LEGACY);
    if (!Files.exists(commitPath)) {
      List<Path> leftovers = journalFiles();
      if (Files.exists(legacy)) {
        // files without a commit next to the old journal are from a migration a crash interrupted
        for (Path p : leftovers) {
          Files.delete(p);
        }
        migrate(legacy);
      } else if (leftovers.stream().anyMatch(p -> !p.getFileName().toString().endsWith(".tmp"))) {
        throw new JournalDamagedException(commitPath, 0, 1, commitPath + " is missing but " + leftovers
            + " exist: what was acknowledged cannot be checked. " + wayOut(0));
      } else {
        writeFirstCommit(new JournalCommit(1, 0, 0, 0));
      }
    } else if (Files.exists(legacy)) {
      LOG.warn("{} is ignored: {} exists, so it was migrated already (delete the old file)", legacy, commitPath);
    }
    JournalCommit.Slots slots = JournalCommit.read(Files.readAllBytes(commitPath));
    JournalCommit c = slots.best();
    if (c == null) {
      throw new JournalDamagedException(commitPath, 0, 1, commitPath + ": neither slot holds a valid commit"
          + " record: what was acknowledged cannot be checked. " + wayOut(0));
    }
    committed = c;
    committedSlot = slots.bestSlot();
    commitFile = options.opener().open(commitPath, Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
    replay();
    deleteUnreferenced();
    LOG.info("{}: state at revision {} from {}{} (last seq {})", dir, state.revision(),
        committed.snapshotSeq() > 0 ? snapshotPath(committed.snapshotSeq()).getFileName() + " + " : "",
        segmentPath(committed.snapshotSeq()).getFileName(), committed.lastSeq());
  }

  private void lock() throws IOException {
    lockChannel = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock l;
    try {
      l = lockChannel.tryLock();
    } catch (OverlappingFileLockException e) {
      l = null;
    } catch (IOException e) { // a filesystem without locks (some NFS setups) must not keep the controller down
      LOG.warn("{}: cannot lock {} ({}); make sure only one controller uses this directory", dir, LOCK, e.toString());
      return;
    }
    if (l == null) {
      throw new IOException(dir + " is in use by another state store (" + LOCK + " is locked; expected: one"
          + " controller per state directory)");
    }
  }

  /** Loads the snapshot and segment {@link #committed} names, classifying anything after the committed end. */
  private void replay() throws IOException {
    long base = committed.snapshotSeq();
    if (base > 0) {
      Path snap = snapshotPath(base);
      if (!Files.exists(snap)) {
        throw new JournalDamagedException(snap, 0, base, snap + " is missing, but " + dir.resolve(COMMIT)
            + " records it (" + committed + "): the state up to seq " + base + " is gone. " + wayOut(base));
      }
      byte[] bytes = Files.readAllBytes(snap);
      JournalFrame.Read r = JournalFrame.read(bytes, 0);
      JournalSnapshot s;
      try {
        if (!(r instanceof JournalFrame.Whole w) || w.end() != bytes.length) {
          throw new IllegalArgumentException(r instanceof JournalFrame.Damaged d ? d.reason()
              : "file is " + bytes.length + " bytes, not one whole frame");
        }
        s = JournalSnapshot.decode(w.payload());
        if (s.seq() != base) {
          throw new IllegalArgumentException("holds seq " + s.seq() + " (expected: " + base + ")");
        }
      } catch (IllegalArgumentException e) {
        throw new JournalDamagedException(snap, 0, base, snap + " is damaged (" + e.getMessage() + "), but "
            + dir.resolve(COMMIT) + " records it: the state up to seq " + base + " is unreadable. " + wayOut(base));
      }
      state = s.state();
      s.audit().forEach(recent::add);
    }
    replaying = new StateDelta.Replay(state);
    Path seg = segmentPath(base);
    boolean acceptLoss = Files.exists(dir.resolve(ACCEPT_DATA_LOSS));
    if (!Files.exists(seg)) {
      if (committed.endOffset() > 0 && !acceptLoss) {
        throw missing(seg, -1, 0, base + 1);
      }
      // a crash between writing the commit and creating the segment leaves no segment: nothing was in it
      try (FileChannel ch = options.opener().open(seg, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE))) {
        ch.force(true);
      }
      fsyncDirectory();
    }
    segment = options.opener().open(seg, Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
    byte[] bytes = readAll(segment, seg);
    int offset = 0;
    long seq = base + 1;
    // 1. Up to the committed end everything was acknowledged: it must all be there and whole.
    while (offset < committed.endOffset()) {
      JournalFrame.Read r = JournalFrame.read(bytes, offset);
      String damage = null;
      if (r instanceof JournalFrame.Short) {
        if (!acceptLoss) {
          throw missing(seg, bytes.length, offset, seq);
        }
        damage = "it ends at byte " + bytes.length;
      } else if (r instanceof JournalFrame.Damaged d) {
        damage = d.reason();
      } else {
        JournalFrame.Whole w = (JournalFrame.Whole) r;
        if (w.end() > committed.endOffset()) {
          damage = "the record runs to byte " + w.end() + ", past the committed end " + committed.endOffset();
        } else {
          damage = apply(w.payload(), seq);
        }
        if (damage == null) {
          offset = w.end();
          seq++;
          continue;
        }
      }
      if (!acceptLoss) {
        throw new JournalDamagedException(seg, offset, seq, seg + ": the record at byte " + offset + " (seq " + seq
            + " expected) is damaged (" + damage + "), before the committed end at byte " + committed.endOffset()
            + " (" + committed + "): acknowledged entries seq " + seq + ".." + committed.lastSeq()
            + " cannot be read. " + wayOut(seq - 1, seg, offset));
      }
      LOG.error("{}: {} exists: dropping acknowledged entries seq {}..{} (bytes {}..{}) after damage at byte {}"
          + " ({}), as the operator chose", seg, dir.resolve(ACCEPT_DATA_LOSS), seq, committed.lastSeq(), offset,
          committed.endOffset(), offset, damage);
      truncate(offset);
      commitNow(committed.next(base, seq - 1, offset));
      bytes = Arrays.copyOf(bytes, offset);
      break;
    }
    if (seq - 1 != committed.lastSeq()) {
      throw new JournalDamagedException(seg, offset, seq, seg + ": the committed end at byte " + offset
          + " follows seq " + (seq - 1) + ", but " + dir.resolve(COMMIT) + " says seq " + committed.lastSeq()
          + " (" + committed + "). " + wayOut(seq - 1, seg, offset));
    }
    // 2. After it: whole records were durable (their commit or answer was lost: keep them); the rest is a
    //    write cut short, never acknowledged.
    int kept = 0;
    String torn = null;
    while (offset < bytes.length) {
      JournalFrame.Read r = JournalFrame.read(bytes, offset);
      if (r instanceof JournalFrame.Whole w && (torn = apply(w.payload(), seq)) == null) {
        offset = w.end();
        seq++;
        kept++;
        continue;
      }
      torn = torn != null ? torn : r instanceof JournalFrame.Damaged d ? d.reason()
          : "the frame needs " + ((JournalFrame.Short) r).needed() + " more bytes";
      break;
    }
    if (offset < bytes.length) {
      LOG.warn("{}: dropping the last {} bytes (from byte {}): a write cut short by a crash or a full disk, never"
          + " acknowledged ({})", seg, bytes.length - offset, offset, torn);
      truncate(offset);
    }
    if (kept > 0) {
      LOG.warn("{}: keeping {} entries (seq {}..{}) written after the last commit: they were durable, but their"
          + " answer may not have reached the operator", seg, kept, seq - kept, seq - 1);
    }
    if (kept > 0 || offset != committed.endOffset()) {
      commitNow(committed.next(base, seq - 1, offset));
    }
    state = replaying.state();
    replaying = null;
    if (acceptLoss) {
      Files.deleteIfExists(dir.resolve(ACCEPT_DATA_LOSS));
    }
  }

  /** Applies the entry in {@code payload} if it is the one expected; returns why not, or null. */
  private String apply(byte[] payload, long seq) {
    try {
      JournalEntry e = JournalEntry.decode(payload);
      if (e.seq() != seq) {
        return "it holds seq " + e.seq() + " (expected: " + seq + ")";
      }
      replaying.apply(e.delta());
      recent.add(e.audit());
      return null;
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  /** The segment ends (at {@code length}; -1: does not exist) before the committed end. */
  private JournalDamagedException missing(Path seg, long length, long offset, long seq) {
    String what = length < 0 ? "is missing" : length == offset ? "ends at byte " + length + ", where the record of seq "
        + seq + " should start" : "ends at byte " + length + ", inside the record of seq " + seq + " that starts at"
        + " byte " + offset;
    return new JournalDamagedException(seg, offset, seq, seg + " " + what + ", but " + dir.resolve(COMMIT)
        + " records acknowledged entries up to seq " + committed.lastSeq()
        + " ending at byte " + committed.endOffset() + ": acknowledged entries seq " + seq + ".."
        + committed.lastSeq() + " are missing. " + wayOut(seq - 1, seg, offset));
  }

  private String wayOut(long goodSeq) {
    return "Way out: stop the controller and restore " + dir + " from a backup; or move it away (mv " + dir + " "
        + dir + ".damaged) to start with no operators' overrides (the moved files keep the audit trail).";
  }

  private String wayOut(long goodSeq, Path seg, long offset) {
    return wayOut(goodSeq) + " Or, to keep the entries up to seq " + goodSeq + " and drop the rest, create "
        + dir.resolve(ACCEPT_DATA_LOSS) + " and start again (it truncates " + seg.getFileName() + " at byte "
        + offset + "; the file is removed once used).";
  }

  /** Reads the pre-snapshot journal once: its last line's state becomes the first snapshot. */
  private void migrate(Path legacy) throws IOException {
    byte[] bytes = Files.readAllBytes(legacy);
    AdminState last = AdminState.EMPTY;
    Deque<JsonObject> audits = new ArrayDeque<>();
    long lines = 0;
    int start = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] != '\n') {
        continue;
      }
      try {
        JsonObject entry = new JsonObject(new String(bytes, start, i - start, StandardCharsets.UTF_8));
        last = AdminState.fromJson(entry.getJsonObject("state"));
        audits.addLast(legacyAudit(entry.getJsonObject("audit")));
        if (audits.size() > JournalSnapshot.AUDIT_KEPT) {
          audits.removeFirst();
        }
      } catch (RuntimeException e) { // DecodeException, bad field
        throw new IOException(legacy + ": entry at byte " + start + " is corrupt (" + e.getMessage()
            + "); refusing to start on a damaged journal");
      }
      lines++;
      start = i + 1;
    }
    if (start < bytes.length) {
      LOG.warn("{}: ignoring a torn last entry ({} bytes) left by a crash before it was acknowledged", legacy,
          bytes.length - start);
    }
    if (lines > 0) {
      writeSnapshotFile(new JournalSnapshot(lines, last, new ArrayList<>(audits)));
    }
    writeFirstCommit(new JournalCommit(1, lines, lines, 0));
    Path kept = legacy.resolveSibling(LEGACY + ".migrated");
    Files.move(legacy, kept, StandardCopyOption.REPLACE_EXISTING);
    fsyncDirectory();
    LOG.info("{}: migrated {} entries (revision {}) to a snapshot; the old file is kept as {} (delete it at will)",
        legacy, lines, last.revision(), kept);
  }

  /** Old audit entries carried both whole plans; only their versions are kept. */
  private static JsonObject legacyAudit(JsonObject a) {
    JsonObject out = a == null ? new JsonObject() : a.copy();
    for (String which : List.of("before", "after")) {
      Object plan = out.remove("plan_" + which);
      if (plan instanceof JsonObject p && p.getValue("version") != null) {
        out.put("plan_version_" + which, p.getValue("version"));
      }
    }
    return out;
  }

  private void writeFirstCommit(JournalCommit c) throws IOException {
    Path tmp = dir.resolve(COMMIT + ".tmp");
    try (FileChannel ch = options.opener().open(tmp, Set.of(StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE))) {
      // both slots' blocks are allocated now: a later commit overwrites, so a full disk cannot stop it
      writeFully(ch, ByteBuffer.allocate(2 * JournalCommit.SLOT_STRIDE), 0);
      c.writeTo(ch, 0);
    }
    Files.move(tmp, dir.resolve(COMMIT), StandardCopyOption.ATOMIC_MOVE);
    fsyncDirectory();
  }

  // ---------------------------------------------------------------- writing

  @Override
  public synchronized AdminState load() {
    return state;
  }

  /**
   * Appends the audit entry and the change from the last durable state to {@code after}; durable (entry and
   * commit fsync'd) when it returns.
   *
   * @throws IOException              nothing could be made durable (the journal is cut back; retried next call)
   * @throws IllegalArgumentException the entry would not read back as {@code after}: nothing was written
   */
  @Override
  public synchronized void append(JsonObject auditEntry, AdminState after) throws IOException {
    if (closed) {
      throw new IOException(dir + ": the state store is closed");
    }
    if (unavailable != null) {
      repair();
    }
    long seq = committed.lastSeq() + 1;
    JournalEntry entry = new JournalEntry(seq, auditEntry, StateDelta.between(state, after));
    ByteBuffer frame = JournalFrame.frame(entry.encodeVerified(state, after));
    long end = committed.endOffset() + frame.remaining();
    try {
      writeFully(segment, frame, committed.endOffset());
      segment.force(true);
    } catch (IOException e) {
      throw failed("write entry " + seq + " to " + segmentPath(committed.snapshotSeq()), e);
    }
    try {
      commitNow(committed.next(committed.snapshotSeq(), seq, end));
    } catch (IOException e) {
      throw failed("commit entry " + seq + " in " + dir.resolve(COMMIT), e);
    }
    state = after;
    recent.add(auditEntry);
    if (seq - committed.snapshotSeq() >= options.snapshotEvery()) {
      snapshot();
    }
  }

  /** Writes {@code next} to the slot not holding the current commit; it becomes the current one. */
  private void commitNow(JournalCommit next) throws IOException {
    next.writeTo(commitFile, 1 - committedSlot);
    committed = next;
    committedSlot = 1 - committedSlot;
  }

  /** A write or fsync failed: cut the journal back now if possible; the answer is the exception to throw. */
  private IOException failed(String what, IOException cause) {
    unavailable = "could not " + what + " (" + cause + ")";
    String reason = unavailable;
    try {
      repair();
      return new IOException("state store unavailable: " + reason + "; the journal was cut back to seq "
          + committed.lastSeq() + " and nothing of this change was kept", cause);
    } catch (IOException r) {
      return r;
    }
  }

  /**
   * Makes the journal end at the last acknowledged entry again: the other commit slot (possibly half-written, or
   * written but unconfirmed) is overwritten with the current commit, then the segment is truncated to the
   * committed end. In that order: a newer commit must never survive pointing past the end of the segment.
   */
  private void repair() throws IOException {
    Path seg = segmentPath(committed.snapshotSeq());
    try {
      closeQuietly(commitFile);
      closeQuietly(segment);
      commitFile = options.opener().open(dir.resolve(COMMIT), Set.of(StandardOpenOption.READ,
          StandardOpenOption.WRITE));
      segment = options.opener().open(seg, Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
      committed.writeTo(commitFile, 1 - committedSlot);
      long size = segment.size();
      if (size < committed.endOffset()) {
        throw new IOException(seg + " is " + size + " bytes, shorter than its committed end " + committed.endOffset()
            + ": acknowledged entries were removed underneath the controller; restart it for the full diagnosis");
      }
      segment.truncate(committed.endOffset());
      segment.force(true);
    } catch (IOException e) {
      throw new IOException("state store unavailable: " + unavailable + "; cutting the journal back to seq "
          + committed.lastSeq() + " (byte " + committed.endOffset() + " of " + seg + ") failed too (" + e
          + "); retried on the next change (a restart before that succeeds keeps whole entries found after the"
          + " last commit)", e);
    }
    LOG.warn("{}: cut back to seq {} (byte {}) after: {}", seg, committed.lastSeq(), committed.endOffset(),
        unavailable);
    unavailable = null;
  }

  /**
   * Snapshot and compaction. Called after entry {@code S} was committed: its failure does not undo the entry;
   * the journal keeps growing in the current segment and the next append tries again.
   */
  private void snapshot() {
    long s = committed.lastSeq();
    FileChannel next = null;
    try {
      writeSnapshotFile(new JournalSnapshot(s, state, recent.all()));
      Path seg = segmentPath(s);
      next = options.opener().open(seg, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
          StandardOpenOption.WRITE));
      next.truncate(0); // a leftover of an earlier failed attempt is not referenced by any commit
      next.force(true);
      fsyncDirectory();
    } catch (IOException | IllegalArgumentException e) {
      closeQuietly(next);
      LOG.warn("{}: snapshot at seq {} failed; the journal grows in {} until a later one succeeds: {}", dir, s,
          segmentPath(committed.snapshotSeq()).getFileName(), e.toString());
      return;
    }
    try {
      commitNow(committed.next(s, s, 0));
    } catch (IOException e) {
      closeQuietly(next);
      unavailable = "could not commit snapshot " + s + " (" + e + ")";
      try {
        repair();
      } catch (IOException r) {
        LOG.error("{}", r.getMessage());
      }
      return;
    }
    closeQuietly(segment);
    segment = next;
    try {
      deleteUnreferenced();
    } catch (IOException e) {
      LOG.warn("{}: could not delete compacted files (retried after the next snapshot): {}", dir, e.toString());
    }
  }

  private void writeSnapshotFile(JournalSnapshot snap) throws IOException {
    Path target = snapshotPath(snap.seq());
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    ByteBuffer frame = JournalFrame.frame(snap.encodeVerified());
    try (FileChannel ch = options.opener().open(tmp, Set.of(StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE))) {
      writeFully(ch, frame, 0);
      ch.force(true);
    }
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    fsyncDirectory();
  }

  /** Deletes snapshots, segments and temp files the current commit does not name. */
  private void deleteUnreferenced() throws IOException {
    Set<Path> live = Set.of(snapshotPath(committed.snapshotSeq()), segmentPath(committed.snapshotSeq()));
    boolean any = false;
    for (Path p : journalFiles()) {
      if (!live.contains(p)) {
        Files.deleteIfExists(p);
        any = true;
      }
    }
    if (any) {
      fsyncDirectory();
    }
  }

  private List<Path> journalFiles() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> JOURNAL_FILE.matcher(p.getFileName().toString()).matches()).sorted().toList();
    }
  }

  /** Reads the channel's current size, no more (a device file would never end). */
  private static byte[] readAll(FileChannel ch, Path file) throws IOException {
    long size = ch.size();
    if (size > Integer.MAX_VALUE - JournalFrame.HEADER_BYTES) {
      throw new IOException(file + " is " + size + " bytes (expected: a segment under 2 GB)");
    }
    ByteBuffer b = ByteBuffer.allocate((int) size);
    while (b.hasRemaining() && ch.read(b, b.position()) >= 0) {
      // read until full
    }
    return Arrays.copyOf(b.array(), b.position());
  }

  private void truncate(long length) throws IOException {
    segment.truncate(length);
    segment.force(true);
  }

  private static void writeFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
    long pos = position;
    while (b.hasRemaining()) {
      pos += ch.write(b, pos);
    }
  }

  private Path snapshotPath(long seq) {
    return dir.resolve(String.format("snapshot-%020d.snap", seq));
  }

  private Path segmentPath(long seq) {
    return dir.resolve(String.format("journal-%020d.log", seq));
  }

  /** A new or renamed file's directory entry must be durable too, or a crash can lose the file itself. */
  private void fsyncDirectory() throws IOException {
    FileChannel d;
    try {
      d = FileChannel.open(dir, StandardOpenOption.READ);
    } catch (IOException e) {
      LOG.debug("directory fsync not supported here: {}", e.toString());
      return;
    }
    try (d) {
      d.force(true);
    }
  }

  @Override
  public synchronized List<JsonObject> audit(int limit) {
    return recent.last(limit);
  }

  @Override
  public synchronized void close() {
    closed = true;
    closeQuietly(segment);
    closeQuietly(commitFile);
    closeQuietly(lockChannel); // releases the lock
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch == null) {
      return;
    }
    try {
      ch.close();
    } catch (IOException e) {
      LOG.debug("close: {}", e.toString());
    }
  }
}
