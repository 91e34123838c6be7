package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Forwarding headers appended, hop-by-hop headers removed both ways (RFC 9110 §7.6.1), including the ones a
 * Connection header names. The upstream echoes the request headers it received and sends hop-by-hop ones back.
 */
class ProxyHeadersTest {
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed(null, req -> {
      StringBuilder b = new StringBuilder();
      req.headers().forEach(e -> b.append(e.getKey().toLowerCase()).append(": ").append(e.getValue()).append('\n'));
      req.response().putHeader("keep-alive", "timeout=5").putHeader("x-upstream-private", "1")
          .putHeader("connection", "x-upstream-private").end(b.toString());
    });
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  @Test
  void forwardingAndHopByHop() throws Exception {
    RawHttp.Result r = RawHttp.exchange(bed.proxy.port(), "GET /h HTTP/1.1\r\nHost: app.example:8080\r\n"
        + "X-Forwarded-For: 203.0.113.9\r\nVia: 1.1 edge\r\nConnection: x-secret\r\nX-Secret: s\r\n"
        + "Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n", 1500);
    String t = r.text().toLowerCase();
    String body = t.substring(t.indexOf("\r\n\r\n") + 4);
    assertTrue(body.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1\n"), body);
    assertTrue(body.contains("x-forwarded-proto: http\n"), body);
    assertTrue(body.contains("x-forwarded-host: app.example:8080\n"), body);
    assertTrue(body.contains("forwarded: for=127.0.0.1;proto=http;host=\"app.example:8080\"\n"), body);
    assertTrue(body.contains("via: 1.1 edge, 1.1 meridian\n"), body);
    assertTrue(body.contains("host: app.example:8080\n"), body);
    assertTrue(body.contains("x-kept: yes\n"), body);
    for (String gone : new String[] {"x-secret", "keep-alive", "te:", "proxy-connection"}) {
      assertFalse(body.contains(gone), gone + " must not reach the upstream: " + body);
    }
    String head = t.substring(0, t.indexOf("\r\n\r\n"));
    assertFalse(head.contains("x-upstream-private"), head);
    assertFalse(head.contains("keep-alive: timeout"), head);
    assertTrue(head.contains("x-meridian-region: eu-west"), head);
  }
}
