package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Server-sent events pass through as they are produced: the client reads the first event while the upstream
 * is still holding the stream open (a buffering proxy would deliver nothing until the end).
 */
class ProxyServerSentEventsTest {
  private Testbed bed;
  private final CompletableFuture<Void> release = new CompletableFuture<>();

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed(null, req -> {
      req.response().setChunked(true).putHeader("content-type", "text/event-stream");
      req.response().write("data: first\n\n");
      release.thenRun(() -> req.response().end("data: last\n\n"));
    });
  }

  @AfterEach
  void stop() throws Exception {
    release.complete(null);
    bed.close();
  }

  @Test
  void eventsArriveBeforeTheStreamEnds() throws Exception {
    HttpResponse<Stream<String>> r = bed.http.send(HttpRequest.newBuilder(bed.uri("/events")).build(),
        HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, r.statusCode());
    assertEquals("text/event-stream", r.headers().firstValue("content-type").orElseThrow());
    Iterator<String> lines = r.body().iterator();
    CompletableFuture<String> first = CompletableFuture.supplyAsync(lines::next);
    assertEquals("data: first", first.get(5, TimeUnit.SECONDS));
    assertTrue(!release.isDone());
    release.complete(null);
    assertEquals("", lines.next());
    assertEquals("data: last", lines.next());
  }
}
