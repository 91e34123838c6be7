package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A WebSocket through the proxy to the nearest region's echo server, text frames kept as text. */
class ProxyWebSocketTest {
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed(null, req -> {
      String region = req.response().headers().get("x-served-by");
      if ("websocket".equalsIgnoreCase(req.getHeader("upgrade"))) {
        req.toWebSocket().onSuccess(ws -> ws.textMessageHandler(t -> ws.writeTextMessage(region + " echoes " + t)));
      } else {
        req.response().end("hello from " + region);
      }
    });
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  @Test
  void echoThroughTheProxy() throws Exception {
    LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
    WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
        .buildAsync(URI.create("ws://127.0.0.1:" + bed.proxy.port() + "/chat"), new WebSocket.Listener() {
          @Override
          public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
            got.add(data.toString());
            w.request(1);
            return CompletableFuture.completedFuture(null);
          }
        }).get(10, TimeUnit.SECONDS);
    ws.sendText("hello", true).get(5, TimeUnit.SECONDS);
    assertEquals("eu-west echoes hello", got.poll(5, TimeUnit.SECONDS));
    ws.sendText("again", true).get(5, TimeUnit.SECONDS);
    assertEquals("eu-west echoes again", got.poll(5, TimeUnit.SECONDS));
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
  }

  @Test
  void switchingProtocolsResponseNamesTheRegion() throws Exception {
    // RFC 6455 §1.3 sample key and its accept value: the upstream's handshake answer comes through untouched
    RawHttp.Result r = RawHttp.exchange(bed.proxy.port(), "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        1500);
    String head = r.text().toLowerCase();
    org.junit.jupiter.api.Assertions.assertTrue(head.startsWith("http/1.1 101 "), r.text());
    org.junit.jupiter.api.Assertions.assertTrue(head.contains("x-meridian-region: eu-west\r\n"), r.text());
    org.junit.jupiter.api.Assertions.assertTrue(head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        r.text());
    org.junit.jupiter.api.Assertions.assertTrue(head.contains("upgrade: websocket\r\n"), r.text());
  }
}
