package io.meridian.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * A cursor over the YAML tree that knows its file, line and key path, and records problems instead of
 * throwing, so that validation reports every error at once. Section parsers read typed values through it;
 * each read names its default and its check beside the key, as the config reference does.
 */
public final class ConfigNode {
  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");

  private final String file;
  private final String path;
  private final Node node; // null when absent
  private final int line;
  private final List<ConfigProblem> problems;

  private ConfigNode(String file, String path, Node node, int line, List<ConfigProblem> problems) {
    this.file = file;
    this.path = path;
    this.node = node;
    this.line = line;
    this.problems = problems;
  }

  static ConfigNode root(String file, Node node, List<ConfigProblem> problems) {
    return new ConfigNode(file, "", node, node == null ? 1 : lineOf(node), problems);
  }

  private static int lineOf(Node n) {
    return n.getStartMark() == null ? 1 : n.getStartMark().getLine() + 1;
  }

  public String path() {
    return path.isEmpty() ? "(root)" : path;
  }

  public int line() {
    return line;
  }

  public String file() {
    return file;
  }

  public boolean isPresent() {
    return node != null && !isNull(node);
  }

  private static boolean isNull(Node n) {
    return n instanceof ScalarNode s && ("null".equals(s.getTag().getValue()) || s.getTag().getValue().endsWith(":null"));
  }

  /** Records a problem at this node. */
  public void problem(String message) {
    problems.add(new ConfigProblem(file, line, path(), message));
  }

  /** Records a problem about {@code key} of this mapping (at the key's line when present). */
  public void problem(String key, String message) {
    child(key).problem(message);
  }

  private String childPath(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  /** The child at {@code key}; absent children are located at this node's line. */
  public ConfigNode child(String key) {
    if (node instanceof MappingNode m) {
      for (NodeTuple t : m.getValue()) {
        if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
          return new ConfigNode(file, childPath(key), t.getValueNode(), lineOf(t.getValueNode()), problems);
        }
      }
    }
    return new ConfigNode(file, childPath(key), null, line, problems);
  }

  /** Reports keys that this section does not know: a typo must not silently become a default. */
  public void rejectUnknownKeys(Set<String> known) {
    if (node == null || isNull(node)) {
      return;
    }
    if (!(node instanceof MappingNode m)) {
      problem("must be a mapping, got " + describe(node));
      return;
    }
    Set<String> seen = new java.util.HashSet<>();
    for (NodeTuple t : m.getValue()) {
      String k = t.getKeyNode() instanceof ScalarNode s ? s.getValue() : "?";
      ConfigNode at = new ConfigNode(file, childPath(k), t.getKeyNode(), lineOf(t.getKeyNode()), problems);
      if (!seen.add(k)) {
        at.problem("duplicate key");
      } else if (!known.contains(k)) {
        at.problem("unknown key; expected one of " + new java.util.TreeSet<>(known));
      }
    }
  }

  private String scalar() {
    if (node instanceof ScalarNode s && !isNull(s)) {
      return s.getValue();
    }
    return null;
  }

  private static String describe(Node n) {
    if (n instanceof ScalarNode s) {
      return "'" + s.getValue() + "'";
    }
    if (n instanceof SequenceNode) {
      return "a list";
    }
    return "a mapping";
  }

  /** True when this node is present but is not a scalar; reports it. */
  private boolean notScalar(String expected) {
    if (node != null && !isNull(node) && !(node instanceof ScalarNode)) {
      problem("must be " + expected + ", got " + describe(node));
      return true;
    }
    return false;
  }

  public String string(String key, String defaultValue) {
    return child(key).asString(defaultValue);
  }

  public String asString(String defaultValue) {
    if (notScalar("a string")) {
      return defaultValue;
    }
    String s = scalar();
    return s == null ? defaultValue : s;
  }

  public String requiredString(String key) {
    ConfigNode c = child(key);
    String v = c.asString(null);
    if (v == null && !c.notScalarSilently()) {
      c.problem("is required");
    }
    return v;
  }

  private boolean notScalarSilently() {
    return node != null && !isNull(node) && !(node instanceof ScalarNode);
  }

  /** A string matching {@code pattern}; {@code expectation} describes it in the error. */
  public String string(String key, String defaultValue, Pattern pattern, String expectation) {
    ConfigNode c = child(key);
    String v = c.asString(defaultValue);
    if (v != null && !pattern.matcher(v).matches()) {
      c.problem("must be " + expectation + ", got '" + v + "'");
      return defaultValue;
    }
    return v;
  }

  public double number(String key, double defaultValue, double min, double max) {
    return child(key).asNumber(defaultValue, min, max, false);
  }

  public double requiredNumber(String key, double min, double max) {
    return child(key).asNumber(Double.NaN, min, max, true);
  }

  private double asNumber(double defaultValue, double min, double max, boolean required) {
    if (notScalar("a number")) {
      return defaultValue;
    }
    String s = scalar();
    if (s == null) {
      if (required) {
        problem("is required");
      }
      return defaultValue;
    }
    double v;
    try {
      v = Double.parseDouble(s);
    } catch (NumberFormatException e) {
      problem("must be a number, got '" + s + "'");
      return defaultValue;
    }
    if (Double.isNaN(v) || v < min || v > max) {
      problem(rangeMessage(min, max) + ", got " + s);
      return defaultValue;
    }
    return v;
  }

  private static String rangeMessage(double min, double max) {
    if (max == Double.MAX_VALUE) {
      return min == Double.MIN_VALUE ? "must be > 0" : "must be >= " + fmt(min);
    }
    return "must be between " + fmt(min) + " and " + fmt(max);
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  public int integer(String key, int defaultValue, int min, int max) {
    ConfigNode c = child(key);
    if (c.notScalar("an integer")) {
      return defaultValue;
    }
    String s = c.scalar();
    if (s == null) {
      return defaultValue;
    }
    int v;
    try {
      v = Integer.parseInt(s);
    } catch (NumberFormatException e) {
      c.problem("must be an integer, got '" + s + "'");
      return defaultValue;
    }
    if (v < min || v > max) {
      c.problem((max == Integer.MAX_VALUE ? "must be >= " + min : "must be between " + min + " and " + max)
          + ", got " + v);
      return defaultValue;
    }
    return v;
  }

  public boolean bool(String key, boolean defaultValue) {
    ConfigNode c = child(key);
    if (c.notScalar("true or false")) {
      return defaultValue;
    }
    String s = c.scalar();
    if (s == null) {
      return defaultValue;
    }
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on" -> true;
      case "false", "no", "off" -> false;
      default -> {
        c.problem("must be true or false, got '" + s + "'");
        yield defaultValue;
      }
    };
  }

  /** A duration written as {@code 500ms}, {@code 30s}, {@code 5m} or {@code 1h}, at least {@code min}. */
  public Duration duration(String key, Duration defaultValue, Duration min) {
    ConfigNode c = child(key);
    if (c.notScalar("a duration")) {
      return defaultValue;
    }
    String s = c.scalar();
    if (s == null) {
      return defaultValue;
    }
    Duration d = parseDuration(s);
    if (d == null) {
      c.problem("must be a duration like 500ms, 30s, 5m or 1h, got '" + s + "'");
      return defaultValue;
    }
    if (d.compareTo(min) < 0) {
      c.problem("must be at least " + formatDuration(min) + ", got " + s);
      return defaultValue;
    }
    return d;
  }

  public static Duration parseDuration(String s) {
    Matcher m = DURATION.matcher(s.trim());
    if (!m.matches()) {
      return null;
    }
    double n = Double.parseDouble(m.group(1));
    double millis = switch (m.group(2)) {
      case "ms" -> n;
      case "s" -> n * 1000;
      case "m" -> n * 60_000;
      default -> n * 3_600_000;
    };
    return Duration.ofNanos(Math.round(millis * 1_000_000));
  }

  public static String formatDuration(Duration d) {
    long ms = d.toMillis();
    if (ms % 3_600_000 == 0 && ms > 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms % 60_000 == 0 && ms > 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0 && ms > 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  /** One of the named values (case-insensitive), mapped to an enum or similar. */
  public <E extends Enum<E>> E enumValue(String key, Class<E> type, E defaultValue) {
    ConfigNode c = child(key);
    String s = c.asString(null);
    if (s == null) {
      return defaultValue;
    }
    for (E e : type.getEnumConstants()) {
      if (e.name().equalsIgnoreCase(s.replace('-', '_'))) {
        return e;
      }
    }
    List<String> names = new ArrayList<>();
    for (E e : type.getEnumConstants()) {
      names.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
    }
    c.problem("must be one of " + names + ", got '" + s + "'");
    return defaultValue;
  }

  public ListenAddress listen(String key, String defaultValue) {
    ConfigNode c = child(key);
    String s = c.asString(defaultValue);
    ListenAddress a = ListenAddress.parse(s);
    if (a == null) {
      c.problem("must be host:port (e.g. 127.0.0.1:8053 or [::1]:8053), got '" + s + "'");
      return ListenAddress.parse(defaultValue);
    }
    return a;
  }

  /** The elements of a list; an absent key is an empty list. */
  public List<ConfigNode> list(String key) {
    return child(key).asList();
  }

  /** Whether this node is a list (a key that takes a scalar or a list, like {@code dns.explain}). */
  public boolean isList() {
    return node instanceof SequenceNode;
  }

  public List<ConfigNode> asList() {
    if (node == null || isNull(node)) {
      return List.of();
    }
    if (!(node instanceof SequenceNode seq)) {
      problem("must be a list, got " + describe(node));
      return List.of();
    }
    List<ConfigNode> out = new ArrayList<>(seq.getValue().size());
    int i = 0;
    for (Node n : seq.getValue()) {
      out.add(new ConfigNode(file, path + "[" + i++ + "]", n, lineOf(n), problems));
    }
    return out;
  }

  public List<String> stringList(String key) {
    List<String> out = new ArrayList<>();
    ConfigNode c = child(key);
    if (c.node instanceof ScalarNode && c.isPresent()) {
      // a single value where a list is expected is accepted: `a: 192.0.2.1`
      out.add(c.scalar());
      return out;
    }
    for (ConfigNode e : c.asList()) {
      String s = e.asString(null);
      if (s == null) {
        e.problem("must be a string");
      } else {
        out.add(s);
      }
    }
    return out;
  }

  /** Parses each element of a list with {@code parser}, dropping those that failed (already reported). */
  public <T> List<T> list(String key, Function<ConfigNode, T> parser) {
    List<T> out = new ArrayList<>();
    for (ConfigNode e : list(key)) {
      T t = parser.apply(e);
      if (t != null) {
        out.add(t);
      }
    }
    return List.copyOf(out);
  }

  /** The entries of a mapping as ordered key → child. */
  public Map<String, ConfigNode> entries() {
    Map<String, ConfigNode> out = new LinkedHashMap<>();
    if (node instanceof MappingNode m) {
      for (NodeTuple t : m.getValue()) {
        if (t.getKeyNode() instanceof ScalarNode k) {
          out.put(k.getValue(), new ConfigNode(file, childPath(k.getValue()), t.getValueNode(),
              lineOf(t.getValueNode()), problems));
        }
      }
    } else if (isPresent()) {
      problem("must be a mapping, got " + describe(node));
    }
    return out;
  }
}
