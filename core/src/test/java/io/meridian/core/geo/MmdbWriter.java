package io.meridian.core.geo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes MaxMind DB files (MaxMind DB File Format Spec 2.0), so tests and benchmarks can build the small GeoIP
 * databases they need instead of shipping licensed ones. No Java library writes this format; the files produced
 * here are read by the standard {@code com.maxmind.db.Reader}.
 *
 * <p>Layout (spec "Overview"): binary search tree over the 128-bit IPv6 space, 16 zero bytes, the data
 * section, the metadata marker {@code \xAB\xCD\xEFMaxMind.com}, the metadata map.
 *
 * <p>IPv4 networks live in the {@code ::/96} subtree ("IPv4 addresses in an IPv6 tree"), which is where readers
 * start IPv4 lookups. Like MaxMind's own databases, {@code ::ffff:0:0/96} (IPv4-mapped) and {@code 2002::/16}
 * (6to4) are aliased to that subtree unless {@link #ipv4Aliasing(boolean)} turns it off; networks inside those two
 * ranges can then not be inserted.
 *
 * <p><b>Overlapping inserts:</b> a lookup returns the data of the <em>longest</em> inserted prefix containing the
 * address, whatever the insertion order. A later more-specific insert splits the shorter network; a later shorter
 * insert fills only the space not covered by more-specific networks; inserting the same prefix again replaces its
 * data. The network a reader reports is the tree node the lookup ended on, so addresses of a shorter network that
 * was split come back with a longer prefix, as in MaxMind's databases.
 *
 * <p>Values: String → utf8_string, Double/Float → double, Integer → uint32 (int32 if negative), Long → uint64,
 * BigInteger → uint128, Boolean → boolean, Map&lt;String,?&gt; → map, List → array; use
 * {@link #uint16}, {@link #uint32} or {@link #int32} for an explicit type (GeoIP2 models expect uint16 for e.g.
 * {@code accuracy_radius}). Readers decode uint32 to Long and uint64/uint128 to BigInteger. Identical values, at
 * any depth, are stored once and referenced by pointers. Map keys are written sorted, so with a fixed
 * {@link #buildEpoch} the output is byte-for-byte reproducible. Not thread-safe.
 */
public final class MmdbWriter {
  // Data field types (spec "Output Data Section").
  private static final int POINTER = 1, UTF8_STRING = 2, DOUBLE = 3, UINT16 = 5, UINT32 = 6, MAP = 7,
      INT32 = 8, UINT64 = 9, UINT128 = 10, ARRAY = 11, BOOLEAN = 14;
  private static final byte[] METADATA_MARKER =
      {(byte) 0xAB, (byte) 0xCD, (byte) 0xEF, 'M', 'a', 'x', 'M', 'i', 'n', 'd', '.', 'c', 'o', 'm'};
  /** Spec "Data Section Separator": 16 zero bytes, which is also why data records are node_count + 16 + offset. */
  private static final int DATA_SEPARATOR = 16;
  private static final int IPV4_DEPTH = 96;
  private static final byte[] ZERO = new byte[16];
  private static final byte[] IPV4_MAPPED = parse("::ffff:0:0/96").address();
  private static final byte[] SIX_TO_FOUR = parse("2002::/16").address();

  /** A search-tree node; each record is null (no data), a {@link Node}, a {@link Leaf} or {@link #ALIAS}. */
  private static final class Node {
    Object left;
    Object right;
    int id;

    Node(Object both) {
      left = both;
      right = both;
    }

    Object get(int bit) {
      return bit == 0 ? left : right;
    }

    void set(int bit, Object value) {
      if (bit == 0) {
        left = value;
      } else {
        right = value;
      }
    }
  }

  /** Data of an inserted network; {@code prefixLength} (IPv6 space) decides which insert wins an address. */
  private record Leaf(int valueId, int prefixLength) {}

  /** Record that points back at the IPv4 subtree root (spec "IPv4 addresses in an IPv6 tree"). */
  private static final Object ALIAS = new Object();

  private record Typed(int type, BigInteger value) {}

  private record Prefix(byte[] address, int length) {}

  private final String databaseType;
  private final List<String> languages = new ArrayList<>(List.of("en"));
  private final Map<String, String> description = new LinkedHashMap<>();
  private final Node root = new Node(null);
  /** Distinct (normalized) data values, so identical records are stored once however often they are inserted. */
  private final Map<Object, Integer> valueIds = new HashMap<>();
  private final List<Object> values = new ArrayList<>();
  private Long buildEpoch;
  private int recordSize;
  private boolean ipv4Aliasing = true;
  private boolean aliasesApplied;

  private MmdbWriter(String databaseType) {
    this.databaseType = databaseType;
    description.put("en", "Meridian generated " + databaseType + " database");
  }

  /**
   * A writer for a database whose metadata {@code database_type} is {@code databaseType}, e.g. "Meridian-Test-City"
   * (the spec reserves names starting with "GeoIP" for MaxMind).
   */
  public static MmdbWriter create(String databaseType) {
    if (databaseType == null || databaseType.isEmpty()) {
      throw new IllegalArgumentException("database type must be non-empty");
    }
    return new MmdbWriter(databaseType);
  }

  public static Object uint16(int value) {
    return typed(UINT16, value, 16);
  }

  public static Object uint32(long value) {
    return typed(UINT32, value, 32);
  }

  public static Object int32(int value) {
    return new Typed(INT32, BigInteger.valueOf(value));
  }

  private static Typed typed(int type, long value, int bits) {
    if (value < 0 || value >= 1L << bits) {
      throw new IllegalArgumentException(value + " does not fit an unsigned " + bits + "-bit integer");
    }
    return new Typed(type, BigInteger.valueOf(value));
  }

  /** Metadata {@code languages}; defaults to ["en"]. */
  public MmdbWriter languages(String... langs) {
    languages.clear();
    languages.addAll(List.of(langs));
    return this;
  }

  /** Adds a metadata {@code description} entry (language → text). */
  public MmdbWriter description(String language, String text) {
    description.put(language, text);
    return this;
  }

  /** Fixes metadata {@code build_epoch} (seconds), for byte-identical output; defaults to the time of writing. */
  public MmdbWriter buildEpoch(long epochSeconds) {
    buildEpoch = epochSeconds;
    return this;
  }

  /** Forces record size 24, 28 or 32; 0 (default) picks the smallest that can hold every record value. */
  public MmdbWriter recordSize(int bits) {
    if (bits != 0 && bits != 24 && bits != 28 && bits != 32) {
      throw new IllegalArgumentException("record size must be 24, 28 or 32, not " + bits);
    }
    recordSize = bits;
    return this;
  }

  /** Whether ::ffff:0:0/96 and 2002::/16 point to the IPv4 subtree (default true); set before writing. */
  public MmdbWriter ipv4Aliasing(boolean enabled) {
    if (aliasesApplied && !enabled) {
      throw new IllegalStateException("IPv4 aliases are already in the tree; disable aliasing before writing");
    }
    ipv4Aliasing = enabled;
    return this;
  }

  /**
   * Associates {@code data} with a network such as "203.0.113.0/24" or "2001:db8::/32" (a bare address means a
   * host route). Host bits must be zero. See the class comment for what happens to overlapping networks.
   */
  public MmdbWriter insert(String cidr, Map<String, ?> data) {
    Prefix p = parse(cidr);
    if (ipv4Aliasing && (within(p, IPV4_MAPPED, IPV4_DEPTH) || within(p, SIX_TO_FOUR, 16))) {
      throw new IllegalArgumentException(cidr + " lies in a range aliased to the IPv4 subtree (::ffff:0:0/96 or "
          + "2002::/16); insert the IPv4 network instead or disable ipv4Aliasing");
    }
    Object value = normalize(data, "data");
    Integer id = valueIds.get(value);
    if (id == null) {
      id = values.size();
      values.add(value);
      valueIds.put(value, id);
    }
    Leaf leaf = new Leaf(id, p.length());
    if (p.length() == 0) {
      fill(root, leaf);
      return this;
    }
    Node node = descend(p.address(), p.length() - 1);
    int bit = bit(p.address(), p.length() - 1);
    if (node.get(bit) instanceof Node covered) {
      fill(covered, leaf); // more-specific networks already below: keep them, take the rest
    } else {
      node.set(bit, leaf); // empty, or data of an equal/shorter prefix (a leaf never sits above its own length)
    }
    return this;
  }

  /** Gives the new network every address below {@code node} not held by a longer prefix. */
  private static void fill(Node node, Leaf leaf) {
    for (int bit = 0; bit <= 1; bit++) {
      Object child = node.get(bit);
      if (child instanceof Node n) {
        fill(n, leaf);
      } else if (child == null || child instanceof Leaf l && l.prefixLength() <= leaf.prefixLength()) {
        node.set(bit, leaf);
      } // ALIAS: the aliased range is not part of the network's own subtree
    }
  }

  /** The node at depth {@code depth} on the path of {@code address}, splitting leaves on the way. */
  private Node descend(byte[] address, int depth) {
    Node node = root;
    for (int i = 0; i < depth; i++) {
      int bit = bit(address, i);
      Object child = node.get(bit);
      if (!(child instanceof Node)) {
        // Splitting a leaf gives both halves the same data and prefix length, so lookups are unchanged.
        child = new Node(child);
        node.set(bit, child);
      }
      node = (Node) child;
    }
    return node;
  }

  /** Writes the database to {@code file} atomically: a temp file in the same directory, then a rename. */
  public void write(Path file) throws IOException {
    byte[] bytes = toBytes();
    Path target = file.toAbsolutePath();
    Files.createDirectories(target.getParent());
    Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName() + ".", ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      try { // createTempFile makes it owner-only; a database is not secret
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException notPosix) {
        // keep the default permissions
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
  }

  /** The complete database file. */
  public byte[] toBytes() {
    Node ipv4Root = null;
    if (ipv4Aliasing) {
      ipv4Root = descend(ZERO, IPV4_DEPTH);
      descend(IPV4_MAPPED, IPV4_DEPTH - 1).set(bit(IPV4_MAPPED, IPV4_DEPTH - 1), ALIAS);
      descend(SIX_TO_FOUR, 15).set(bit(SIX_TO_FOUR, 15), ALIAS);
      aliasesApplied = true;
    }
    // Breadth-first numbering; the root must be node 0 (spec "Binary Search Tree Section"). ALIAS is an edge to an
    // existing node, so the walk is still a tree walk and visits every node once.
    List<Node> nodes = new ArrayList<>();
    root.id = 0;
    nodes.add(root);
    for (int i = 0; i < nodes.size(); i++) {
      Node n = nodes.get(i);
      for (Object child : new Object[] {n.left, n.right}) {
        if (child instanceof Node c) {
          c.id = nodes.size();
          nodes.add(c);
        }
      }
    }
    // Data section: only values some record still points to, in tree order.
    DataEncoder data = new DataEncoder(true);
    int[] offsets = new int[values.size()];
    Arrays.fill(offsets, -1);
    for (Node n : nodes) {
      for (Object child : new Object[] {n.left, n.right}) {
        if (child instanceof Leaf l && offsets[l.valueId()] < 0) {
          offsets[l.valueId()] = data.writeTop(values.get(l.valueId()));
        }
      }
    }
    long nodeCount = nodes.size();
    long maxRecord = nodeCount + DATA_SEPARATOR + data.out.size();
    int size = recordSize != 0 ? recordSize : maxRecord < 1L << 24 ? 24 : maxRecord < 1L << 28 ? 28 : 32;
    if (maxRecord >= 1L << size) {
      throw new IllegalStateException("record size " + size + " cannot address " + maxRecord + " (node count "
          + nodeCount + ", data section " + data.out.size() + " bytes)");
    }

    // Spec "Node Layout": two records per node, big-endian; with 28 bits the middle byte holds the high nibble
    // of the left record (upper 4 bits) and of the right record (lower 4 bits).
    ByteBuffer tree = ByteBuffer.allocate(Math.toIntExact(nodeCount * size / 4));
    for (Node n : nodes) {
      long left = recordValue(n.left, nodeCount, offsets, ipv4Root);
      long right = recordValue(n.right, nodeCount, offsets, ipv4Root);
      if (size == 24) {
        put(tree, left, 3);
        put(tree, right, 3);
      } else if (size == 28) {
        put(tree, left & 0xFFFFFF, 3);
        tree.put((byte) ((left >>> 24 & 0x0F) << 4 | (right >>> 24 & 0x0F)));
        put(tree, right & 0xFFFFFF, 3);
      } else {
        put(tree, left, 4);
        put(tree, right, 4);
      }
    }

    // Spec "Database Metadata": integer fields carry the types readers bind them to.
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("node_count", new Typed(UINT32, BigInteger.valueOf(nodeCount)));
    metadata.put("record_size", new Typed(UINT16, BigInteger.valueOf(size)));
    metadata.put("ip_version", new Typed(UINT16, BigInteger.valueOf(6)));
    metadata.put("database_type", databaseType);
    metadata.put("languages", List.copyOf(languages));
    metadata.put("binary_format_major_version", new Typed(UINT16, BigInteger.TWO));
    metadata.put("binary_format_minor_version", new Typed(UINT16, BigInteger.ZERO));
    metadata.put("build_epoch", buildEpoch != null ? buildEpoch : Instant.now().getEpochSecond());
    metadata.put("description", new TreeMap<>(description));
    DataEncoder meta = new DataEncoder(false); // pointers in metadata would need their own base; avoid them
    meta.writeTop(metadata);

    byte[] dataBytes = data.out.toByteArray();
    byte[] metaBytes = meta.out.toByteArray();
    ByteBuffer file = ByteBuffer.allocate(
        tree.capacity() + DATA_SEPARATOR + dataBytes.length + METADATA_MARKER.length + metaBytes.length);
    file.put(tree.array()).put(new byte[DATA_SEPARATOR]).put(dataBytes).put(METADATA_MARKER).put(metaBytes);
    return file.array();
  }

  /** Spec "Search Lookup Algorithm": node number, node_count for "no data", or node_count + 16 + data offset. */
  private static long recordValue(Object record, long nodeCount, int[] offsets, Node ipv4Root) {
    if (record == null) {
      return nodeCount;
    } else if (record instanceof Node n) {
      return n.id;
    } else if (record instanceof Leaf l) {
      return nodeCount + DATA_SEPARATOR + offsets[l.valueId()];
    }
    return ipv4Root.id; // ALIAS
  }

  private static void put(ByteBuffer buf, long value, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) {
      buf.put((byte) (value >>> (8 * i)));
    }
  }

  /** Encodes values in the data-section format; with {@code dedupe}, repeats become pointers (spec "pointer - 1"). */
  private static final class DataEncoder {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    /** Offset and encoded length of every value written in full, by value equality. */
    private final Map<Object, int[]> written;

    DataEncoder(boolean dedupe) {
      written = dedupe ? new HashMap<>() : null;
    }

    /** Writes a record's data and returns its offset; never a pointer, which readers must not chase twice. */
    int writeTop(Object value) {
      int[] prev = written == null ? null : written.get(value);
      if (prev != null) {
        return prev[0];
      }
      int start = out.size();
      writeFull(value);
      return start;
    }

    private void write(Object value) {
      int[] prev = written == null ? null : written.get(value);
      if (prev != null && pointerSize(prev[0]) < prev[1]) {
        writePointer(prev[0]);
      } else {
        writeFull(value);
      }
    }

    private void writeFull(Object value) {
      int start = out.size();
      if (value instanceof String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        control(UTF8_STRING, utf8.length);
        out.writeBytes(utf8);
      } else if (value instanceof Double d) {
        control(DOUBLE, 8);
        unsigned(Double.doubleToLongBits(d), 8);
      } else if (value instanceof Boolean b) {
        control(BOOLEAN, b ? 1 : 0); // spec "boolean": the value is the size field, no payload
      } else if (value instanceof Integer i) {
        integer(UINT32, BigInteger.valueOf(i)); // normalize() turned negative ones into int32
      } else if (value instanceof Long l) {
        integer(UINT64, BigInteger.valueOf(l));
      } else if (value instanceof BigInteger b) {
        integer(UINT128, b);
      } else if (value instanceof Typed t) {
        if (t.value().signum() < 0) { // int32: a negative value needs all four bytes of its two's complement
          control(INT32, 4);
          unsigned(t.value().intValue(), 4);
        } else {
          integer(t.type(), t.value());
        }
      } else if (value instanceof Map<?, ?> m) {
        control(MAP, m.size());
        for (Map.Entry<?, ?> e : m.entrySet()) {
          write(e.getKey()); // keys may be pointers to strings, too (spec "Maps")
          write(e.getValue());
        }
      } else if (value instanceof List<?> list) {
        control(ARRAY, list.size());
        for (Object element : list) {
          write(element);
        }
      } else {
        throw new IllegalStateException("unnormalized value " + value.getClass());
      }
      if (written != null) {
        written.putIfAbsent(value, new int[] {start, out.size() - start});
      }
    }

    /** Unsigned integers drop leading zero bytes; the byte count is the size field (spec "integer formats"). */
    private void integer(int type, BigInteger value) {
      int bytes = (value.bitLength() + 7) / 8;
      control(type, bytes);
      byte[] twos = value.toByteArray(); // may carry one extra leading sign byte
      out.write(twos, twos.length - bytes, bytes);
    }

    private void unsigned(long value, int bytes) {
      for (int i = bytes - 1; i >= 0; i--) {
        out.write((int) (value >>> (8 * i)));
      }
    }

    /**
     * Spec "Data Field Format" and "Payload Size": 3 type bits and 5 size bits; types above 7 put 0 in the type
     * bits and (type - 7) in the next byte; sizes of 29 and more continue in 1-3 bytes after that.
     */
    private void control(int type, int size) {
      int sizeBits = size < 29 ? size : size < 285 ? 29 : size < 65_821 ? 30 : 31;
      out.write((type <= 7 ? type : 0) << 5 | sizeBits);
      if (type > 7) {
        out.write(type - 7);
      }
      if (sizeBits == 29) {
        unsigned(size - 29, 1);
      } else if (sizeBits == 30) {
        unsigned(size - 285, 2);
      } else if (sizeBits == 31) {
        if (size >= 65_821 + (1 << 24)) {
          throw new IllegalArgumentException("value too large for the MaxMind DB format: " + size);
        }
        unsigned(size - 65_821, 3);
      }
    }

    private static int pointerSize(int offset) {
      return offset < 2048 ? 2 : offset < 526_336 ? 3 : offset < 134_744_064 ? 4 : 5;
    }

    /** Spec "Pointers": 001SSVVV; SS picks 11, 19 (+2048), 27 (+526336) or 32 bits of data-section offset. */
    private void writePointer(int offset) {
      int ss = pointerSize(offset) - 2;
      long v = switch (ss) {
        case 0 -> offset;
        case 1 -> offset - 2048;
        case 2 -> offset - 526_336;
        default -> offset & 0xFFFFFFFFL;
      };
      int extraBytes = ss + 1;
      out.write(POINTER << 5 | ss << 3 | (ss == 3 ? 0 : (int) (v >>> (8 * extraBytes)) & 0x07));
      unsigned(v, extraBytes);
    }
  }

  /** Validates a value and makes an immutable copy, so later changes by the caller cannot alter the database. */
  private static Object normalize(Object v, String path) {
    if (v == null) {
      throw new IllegalArgumentException(path + " is null; the MaxMind DB format has no null");
    } else if (v instanceof String || v instanceof Boolean || v instanceof Typed) {
      return v;
    } else if (v instanceof Integer i) {
      return i >= 0 ? i : int32(i);
    } else if (v instanceof Double || v instanceof Float) {
      return ((Number) v).doubleValue();
    } else if (v instanceof Long l && l >= 0) {
      return l;
    } else if (v instanceof BigInteger b && b.signum() >= 0 && b.bitLength() <= 128) {
      return b;
    } else if (v instanceof Map<?, ?> m) {
      // Sorted keys: the output is then byte-reproducible whatever the iteration order of the caller's maps
      // (Map.of's changes from one JVM run to the next). Readers do not care about key order.
      Map<String, Object> copy = new TreeMap<>();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!(e.getKey() instanceof String key)) {
          throw new IllegalArgumentException(path + " has a non-string key " + e.getKey());
        }
        copy.put(key, normalize(e.getValue(), path + "." + key));
      }
      return Collections.unmodifiableMap(copy);
    } else if (v instanceof List<?> list) {
      List<Object> copy = new ArrayList<>(list.size());
      for (int i = 0; i < list.size(); i++) {
        copy.add(normalize(list.get(i), path + "[" + i + "]"));
      }
      return Collections.unmodifiableList(copy);
    }
    throw new IllegalArgumentException(path + ": unsupported value " + v + " (" + v.getClass().getName()
        + "); negative Long and BigInteger have no MaxMind DB type");
  }

  /** Parses a CIDR into the 128-bit tree space: IPv4 a.b.c.d/n becomes ::a.b.c.d/(96+n). */
  private static Prefix parse(String cidr) {
    String s = cidr.strip();
    int slash = s.indexOf('/');
    String host = slash < 0 ? s : s.substring(0, slash);
    byte[] address = new byte[16];
    int offset;
    if (host.indexOf(':') < 0) {
      String[] parts = host.split("\\.", -1);
      if (parts.length != 4) {
        throw new IllegalArgumentException("not an IPv4 or IPv6 network: " + cidr);
      }
      for (int i = 0; i < 4; i++) {
        int octet = decimal(parts[i]);
        if (octet > 255) {
          throw new IllegalArgumentException("not an IPv4 or IPv6 network: " + cidr);
        }
        address[12 + i] = (byte) octet;
      }
      offset = IPV4_DEPTH;
    } else {
      if (host.contains("%") || host.contains("[")) {
        throw new IllegalArgumentException("not an IPv4 or IPv6 network: " + cidr);
      }
      try {
        // A literal with ':' is parsed, never resolved. Java turns ::ffff:a.b.c.d into an Inet4Address.
        InetAddress ip = InetAddress.getByName(host);
        byte[] raw = ip.getAddress();
        if (ip instanceof Inet4Address) {
          address[10] = (byte) 0xFF;
          address[11] = (byte) 0xFF;
          System.arraycopy(raw, 0, address, 12, 4);
        } else {
          address = raw;
        }
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("not an IPv4 or IPv6 network: " + cidr, e);
      }
      offset = 0;
    }
    int max = 128 - offset;
    int length;
    try {
      length = slash < 0 ? max : Integer.parseInt(s.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad prefix length in " + cidr, e);
    }
    if (length < 0 || length > max) {
      throw new IllegalArgumentException("prefix length must be 0.." + max + " in " + cidr);
    }
    for (int i = offset + length; i < 128; i++) {
      if (bit(address, i) != 0) {
        throw new IllegalArgumentException(cidr + " has host bits set beyond /" + length);
      }
    }
    return new Prefix(address, offset + length);
  }

  /** 1-3 ASCII digits as a number, else 256 (Integer.parseInt would also take signs and non-ASCII digits). */
  private static int decimal(String s) {
    int value = s.isEmpty() || s.length() > 3 ? 256 : 0;
    for (int i = 0; i < s.length() && value < 256; i++) {
      char c = s.charAt(i);
      value = c >= '0' && c <= '9' ? value * 10 + (c - '0') : 256;
    }
    return value;
  }

  private static boolean within(Prefix p, byte[] range, int rangeLength) {
    if (p.length() < rangeLength) {
      return false; // a covering network is fine: the alias takes precedence inside the range
    }
    for (int i = 0; i < rangeLength; i++) {
      if (bit(p.address(), i) != bit(range, i)) {
        return false;
      }
    }
    return true;
  }

  private static int bit(byte[] address, int index) {
    return address[index >> 3] >> (7 - (index & 7)) & 1;
  }
}
