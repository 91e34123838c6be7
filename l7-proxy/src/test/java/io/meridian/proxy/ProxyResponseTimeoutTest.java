package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An upstream that never answers: GETs move to the next region; a POST (body sent) gets 504, not a retry. */
class ProxyResponseTimeoutTest {
  private Testbed bed;

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed("response_timeout: 300ms", req -> {
      String region = req.response().headers().get("x-served-by");
      if (!region.equals("eu-west")) {
        req.body().onSuccess(b -> req.response().end("hello from " + region));
      } // eu-west hangs: never answers
    });
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  @Test
  void idempotentRequestIsRetriedElsewhere() throws Exception {
    HttpResponse<String> r = bed.get("/x");
    assertEquals(200, r.statusCode());
    assertEquals("us-east", r.headers().firstValue("X-Meridian-Region").orElseThrow());
    assertTrue(bed.metric("meridian_proxy_retries_total{region=\"eu-west\"}") >= 1);
  }

  @Test
  void requestWithBodyGets504() throws Exception {
    HttpResponse<String> r = bed.send(HttpRequest.newBuilder(bed.uri("/x"))
        .POST(HttpRequest.BodyPublishers.ofString("payload")).build());
    assertEquals(504, r.statusCode(), r.body());
    assertTrue(r.body().contains("upstream_timeout"), r.body());
  }
}
