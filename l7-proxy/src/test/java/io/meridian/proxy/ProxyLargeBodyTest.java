package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A 1 GiB request body streams through the proxy to an upstream that counts it, generated on the fly (never
 * stored), and heap use stays flat: the proxy holds only what back-pressure lets through, not the body.
 * Proxy, upstream and client share this JVM, so the heap bound covers all three.
 */
class ProxyLargeBodyTest {
  static final long SIZE = 1L << 30;
  private Testbed bed;
  private final AtomicLong peakHeap = new AtomicLong();

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed("limits: {max_body_bytes: 0}", req -> {
      AtomicLong n = new AtomicLong();
      req.handler(b -> n.addAndGet(b.length()));
      req.endHandler(v -> req.response().end(Long.toString(n.get())));
    });
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  @Test
  void oneGibStreamedWithFlatHeap() throws Exception {
    MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
    System.gc();
    long baseline = mem.getHeapMemoryUsage().getUsed();
    HttpRequest.BodyPublisher generated = HttpRequest.BodyPublishers.fromPublisher(new Generator(SIZE, mem), SIZE);
    HttpResponse<String> r = bed.send(HttpRequest.newBuilder(bed.uri("/upload")).POST(generated).build());
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(Long.toString(SIZE), r.body());
    long growth = peakHeap.get() - baseline;
    // A buffered body would need > 1 GiB. Garbage from 64 KiB chunks between collections is allowed for; the
    // bound is far below the body size, not a tuned figure.
    assertTrue(growth < 256L << 20, "heap grew by " + (growth >> 20) + " MiB while streaming 1 GiB");
  }

  /** Publishes {@code size} bytes in 64 KiB chunks on demand, sampling heap use as it goes. */
  private final class Generator implements Flow.Publisher<ByteBuffer> {
    private final long size;
    private final MemoryMXBean mem;

    Generator(long size, MemoryMXBean mem) {
      this.size = size;
      this.mem = mem;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super ByteBuffer> s) {
      byte[] chunk = new byte[64 * 1024];
      s.onSubscribe(new Flow.Subscription() {
        long sent;
        long chunks;
        boolean done;

        @Override
        public synchronized void request(long n) {
          for (long i = 0; i < n && !done; i++) {
            int len = (int) Math.min(chunk.length, size - sent);
            sent += len;
            s.onNext(ByteBuffer.wrap(chunk, 0, len));
            if (++chunks % 256 == 0) {
              peakHeap.accumulateAndGet(mem.getHeapMemoryUsage().getUsed(), Math::max);
            }
            if (sent == size) {
              done = true;
              s.onComplete();
            }
          }
        }

        @Override
        public void cancel() {
          done = true;
        }
      });
    }
  }
}
