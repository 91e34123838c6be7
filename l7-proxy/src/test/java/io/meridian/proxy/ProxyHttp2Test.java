package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** HTTP/2 over cleartext on {@code proxy.h2c_listen}; plain HTTP/1.1 there is refused. */
class ProxyHttp2Test {
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed("h2c_listen: 127.0.0.1:0", null);
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  @Test
  void h2cRequestsAreProxied() throws Exception {
    HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    URI uri = URI.create("http://127.0.0.1:" + bed.proxy.h2cPort() + "/hello");
    for (int i = 0; i < 3; i++) { // the first goes through Upgrade: h2c, the next ones on the HTTP/2 connection
      HttpResponse<String> r = h2.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      assertEquals(HttpClient.Version.HTTP_2, r.version());
      assertEquals("hello from eu-west", r.body());
      assertEquals("eu-west", r.headers().firstValue("x-meridian-region").orElseThrow());
    }
    HttpResponse<String> post = h2.send(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString("x".repeat(
        100_000))).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, post.statusCode());
    assertEquals(HttpClient.Version.HTTP_2, post.version());
  }

  @Test
  void http1OnTheH2cListenerIsRefused() throws Exception {
    RawHttp.Result r = RawHttp.exchange(bed.proxy.h2cPort(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2000);
    assertTrue(r.statusLine().startsWith("HTTP/1.1 400"), r.text());
  }

  @Test
  void h2cUpgradeOnThePlainListenerIsAnsweredInHttp11() throws Exception {
    // RFC 9113 §3.1 lets a server ignore Upgrade: h2c; the plain listener answers in HTTP/1.1 and drops the
    // Upgrade and HTTP2-Settings fields (hop-by-hop: named in Connection)
    RawHttp.Result r = RawHttp.exchange(bed.proxy.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n"
        + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
        1500);
    assertTrue(r.statusLine().startsWith("HTTP/1.1 200 "), r.text());
    assertTrue(r.text().endsWith("hello from eu-west"), r.text());
  }
}
