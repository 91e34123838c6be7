package io.meridian.checker.impl;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Replication watermarks a regional app publishes on its health response: {@code {"applied": {"eu-west": 123}}}
 * — how far it has applied each other region's writes. Anything else (not JSON, no {@code applied}, non-integer
 * positions) yields no watermarks: a health response is not required to carry them.
 */
public final class Watermarks {
  private Watermarks() {}

  public static Map<String, Long> parse(String body) {
    String t = body.strip();
    if (!t.startsWith("{") || !t.contains("\"applied\"")) {
      return Map.of();
    }
    try {
      Object applied = new JsonObject(t).getValue("applied");
      if (!(applied instanceof JsonObject obj)) {
        return Map.of();
      }
      Map<String, Long> out = new LinkedHashMap<>();
      for (Map.Entry<String, Object> e : obj) {
        if (e.getValue() instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
          out.put(e.getKey(), n.longValue());
        }
      }
      return out;
    } catch (DecodeException | ClassCastException e) {
      return Map.of();
    }
  }
}
