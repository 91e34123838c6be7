package io.meridian.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpServerRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 on the proxy's own engine (h2c with prior knowledge here; TLS in {@code ProxyTlsFastPathTest}, protocol
 * conformance in {@code ProxyH2specTest}): what an HTTP/1.1 upstream receives for an h2 request (Host from
 * :authority, cookies joined, forwarding fields, a body without Content-Length sent chunked), a chunked upstream
 * response turned into DATA frames, and a request body that stalls cut by the body idle timeout with 408.
 */
class ProxyHttp2EngineTest {
  @TempDir
  Path dir;
  private Testbed bed;
  private final AtomicInteger completeBodies = new AtomicInteger();

  @BeforeEach
  void start() throws Exception {
    bed = new Testbed("h2c_listen: 127.0.0.1:0\nlimits: {body_idle_timeout: 500ms}", this::report);
  }

  @AfterEach
  void stop() throws Exception {
    bed.close();
  }

  /** The upstream answers in chunks with what reached it. */
  private void report(HttpServerRequest req) {
    req.body().onSuccess(b -> {
      completeBodies.incrementAndGet();
      req.response().setChunked(true);
      req.response().write("host=" + req.getHeader("host") + "\n");
      req.response().write("cookie=" + req.getHeader("cookie") + "\nproto=" + req.getHeader("x-forwarded-proto")
          + "\nvia=" + req.getHeader("via") + "\nte=" + req.getHeader("transfer-encoding") + "\nlength="
          + req.getHeader("content-length") + "\nbody=" + b.length() + "\n");
      if (req.path().equals("/trailers")) {
        req.response().putTrailer("x-checksum", "abc"); // in the chunked trailer section
      }
      req.response().end("end\n");
    });
  }

  private String curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "--http2-prior-knowledge"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "curl hung");
    assertEquals(0, p.exitValue(), cmd + "\n" + out);
    return out;
  }

  @Test
  void requestsAreTranslatedForTheHttp11UpstreamAndChunkedResponsesComeBackAsData() throws Exception {
    String url = "http://127.0.0.1:" + bed.proxy.h2cPort() + "/a?q=1";
    String get = curl("-D", "-", "-H", "cookie: a=1", "-H", "cookie: b=2", "-w", "version=%{http_version}\n", url);
    assertTrue(get.contains("host=127.0.0.1:" + bed.proxy.h2cPort() + "\n"), get);
    assertTrue(get.contains("cookie=a=1; b=2\n"), get); // RFC 9113 §8.2.3: joined for HTTP/1.1
    assertTrue(get.contains("proto=http\nvia=2 meridian\n"), get);
    assertTrue(get.contains("body=0\nend\nversion=2\n"), get); // the chunks, without their framing
    assertTrue(get.contains("x-meridian-region: eu-west"), get);
    assertTrue(!get.contains("transfer-encoding"), get); // connection-specific in HTTP/2 (RFC 9113 §8.2.2)

    Path body = dir.resolve("body.bin");
    Files.write(body, new byte[300_000]);
    String sized = curl("--data-binary", "@" + body, url);
    assertTrue(sized.contains("te=null\nlength=300000\nbody=300000\n"), sized);
    // no Content-Length from the client: chunked towards the HTTP/1.1 upstream
    String unsized = curl("-H", "content-length:", "-H", "transfer-encoding:", "--data-binary", "@" + body,
        "-X", "POST", url);
    assertTrue(unsized.contains("te=chunked\nlength=null\nbody=300000\n"), unsized);
    assertEquals(3, completeBodies.get());
  }

  /** A Netty HTTP/2 client with prior knowledge: one stream per call, its frames and reset in a queue. */
  private static final class H2Client implements AutoCloseable {
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    final Channel conn;

    H2Client(int port) throws Exception {
      conn = new Bootstrap().group(group).channel(NioSocketChannel.class)
          .handler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                  new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
            }
          }).connect("127.0.0.1", port).sync().channel();
    }

    /** Opens a stream; what arrives on it (HEADERS frames as they are, "data", "reset CODE") goes to {@code got}. */
    Http2StreamChannel open(BlockingQueue<Object> got) throws Exception {
      return new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          got.add(msg instanceof Http2HeadersFrame h ? h : "data");
          ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
          if (evt instanceof Http2ResetFrame r) {
            got.add("reset " + r.errorCode());
          }
        }
      }).open().sync().getNow();
    }

    @Override
    public void close() throws Exception {
      conn.close().sync();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  @Test
  void stalledBodyIsCutWith408AndNeverReachesTheUpstreamWhole() throws Exception {
    try (H2Client client = new H2Client(bed.proxy.h2cPort())) {
      BlockingQueue<Object> got = new LinkedBlockingQueue<>();
      Http2StreamChannel stream = client.open(got);
      stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST").scheme("http")
          .path("/stall").authority("x").addInt("content-length", 1000), false)).sync();
      stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(new byte[100]), false)).sync();
      Object first = got.poll(30, TimeUnit.SECONDS); // the rest of the body never comes
      assertNotNull(first, "no answer to a stalled body");
      Http2HeadersFrame head = assertInstanceOf(Http2HeadersFrame.class, first);
      assertEquals("408", head.headers().status().toString());
    }
    assertEquals(0, completeBodies.get(), "the upstream got no complete body");
    assertEquals(1, bed.metric("meridian_proxy_refused_total{outcome=\"body_timeout\"}"));
  }

  /** A Content-Length over {@code limits.max_body_bytes} (100 MiB): 413 before any DATA, the body not wanted. */
  @Test
  void oversizedBodyIsRefusedWith413() throws Exception {
    try (H2Client client = new H2Client(bed.proxy.h2cPort())) {
      BlockingQueue<Object> got = new LinkedBlockingQueue<>();
      client.open(got).writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST")
          .scheme("http").path("/big").authority("x").addLong("content-length", 200_000_000L), false)).sync();
      Http2HeadersFrame head = assertInstanceOf(Http2HeadersFrame.class, got.poll(30, TimeUnit.SECONDS));
      assertEquals("413", head.headers().status().toString());
      assertEquals("data", got.poll(30, TimeUnit.SECONDS)); // the JSON error body
      assertEquals("reset 0", got.poll(30, TimeUnit.SECONDS)); // RST_STREAM(NO_ERROR): send no more (§8.1)
    }
    assertEquals(0, completeBodies.get());
  }

  /** A chunked response's trailer section becomes a trailing HEADERS frame that ends the stream. */
  @Test
  void responseTrailersArriveAsTheLastHeadersFrame() throws Exception {
    try (H2Client client = new H2Client(bed.proxy.h2cPort())) {
      BlockingQueue<Object> got = new LinkedBlockingQueue<>();
      Http2StreamChannel stream = client.open(got);
      stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("GET").scheme("http")
          .path("/trailers").authority("x"), true)).sync();
      Http2HeadersFrame head = assertInstanceOf(Http2HeadersFrame.class, got.poll(30, TimeUnit.SECONDS));
      assertEquals("200", head.headers().status().toString());
      Object f;
      while ((f = got.poll(30, TimeUnit.SECONDS)) != null && !(f instanceof Http2HeadersFrame)) {
        assertEquals("data", f);
      }
      Http2HeadersFrame trailers = assertInstanceOf(Http2HeadersFrame.class, f);
      assertTrue(trailers.isEndStream());
      assertEquals("abc", trailers.headers().get("x-checksum").toString());
      assertEquals(null, trailers.headers().status());
    }
  }

  /**
   * HPACK carries any byte; CR LF in a field value or a space in :path would split the HTTP/1.1 head the upstream
   * reads (a second request smuggled behind the first). Such a request is malformed (RFC 9113 §8.1.1, §8.2.1):
   * RST_STREAM(PROTOCOL_ERROR), nothing sent upstream.
   */
  @Test
  void requestsThatWouldSplitTheUpstreamHeadAreReset() throws Exception {
    List<Http2Headers> bad = List.of(
        new DefaultHttp2Headers(false).method("GET").scheme("http").authority("x")
            .path("/a HTTP/1.1\r\nHost: x\r\n\r\nGET /smuggled"),
        new DefaultHttp2Headers(false).method("GET").scheme("http").authority("x").path("/a")
            .add("x-test", "1\r\nx-injected: 1"),
        new DefaultHttp2Headers(false).method("GET").scheme("http").authority("x y").path("/a"));
    try (H2Client client = new H2Client(bed.proxy.h2cPort())) {
      for (Http2Headers h : bad) {
        BlockingQueue<Object> got = new LinkedBlockingQueue<>();
        client.open(got).writeAndFlush(new DefaultHttp2HeadersFrame(h, true)).sync();
        assertEquals("reset 1", got.poll(30, TimeUnit.SECONDS), h.toString()); // PROTOCOL_ERROR
      }
      // the connection still serves a well-formed request
      BlockingQueue<Object> got = new LinkedBlockingQueue<>();
      client.open(got).writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("GET")
          .scheme("http").authority("x").path("/ok"), true)).sync();
      Http2HeadersFrame head = assertInstanceOf(Http2HeadersFrame.class, got.poll(30, TimeUnit.SECONDS));
      assertEquals("200", head.headers().status().toString());
    }
    assertEquals(1, completeBodies.get(), "only the well-formed request reached the upstream");
  }
}
