package io.meridian.geodns.impl;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollMode;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;
import io.vertx.core.internal.VertxInternal;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * UDP on Netty's native epoll datagram channel, the way gdnsd does it: {@code recvmmsg} reads a burst of queries in
 * one syscall, their answers are written without flushing and flushed once when the burst is done, which Netty
 * turns into one {@code sendmmsg}. One socket per event loop, sharing the port with SO_REUSEPORT.
 *
 * <p>The channels live on Vert.x's own event loops when Vert.x runs on the epoll transport; otherwise (Vert.x on
 * NIO, as in tests) on a small epoll group of their own, closed with the listener. Where epoll is not available at
 * all, {@link DnsListeners} keeps using Vert.x's {@code DatagramSocket}.
 */
final class EpollUdpListener implements UdpListener {
  private static final Logger LOG = LoggerFactory.getLogger(EpollUdpListener.class);
  /**
   * Per-datagram slot of the {@code recvmmsg} buffer. Netty's default receive buffer for datagrams (what the
   * Vert.x path reads with), so the same queries fit; a longer one is cut and then fails to parse (FORMERR).
   */
  static final int MAX_DATAGRAM = 2048;
  /**
   * Datagrams per {@code recvmmsg}: a burst of this many queries costs one syscall in and one out. Not more: Netty's
   * native {@code recvmmsg} sets up every slot through JNI whether a datagram arrives in it or not, so 64 slots cost
   * more user time than they saved in syscalls at the burst sizes dnsperf produces (A/B in docs/PERFORMANCE.md).
   */
  static final int BATCH = 32;
  /**
   * One {@code recvmmsg} per readiness event, on a level-triggered socket: the answers of that burst are flushed
   * at once and the loop goes back to {@code epoll_wait}, which reports the socket again if more queries are
   * queued. Netty's edge-triggered default instead reads until {@code recvmmsg} fails with EAGAIN — one more
   * syscall (and 32 JNI slot set-ups) per burst for nothing. ({@code EpollMode} is deprecated in Netty 4.2 but
   * still honoured; if it goes, the cost is that extra syscall, not correctness.)
   */
  static final int MAX_PER_READ = 1;
  /**
   * The {@code recvmmsg} buffer (BATCH × MAX_DATAGRAM = 64 KiB) comes from the pooled arena allocator: Netty's
   * default adaptive allocator does not pool buffers that large, so every read burst malloc'd and zeroed 64 KiB of
   * direct memory (≈ 5 % of the server's CPU in {@code perf}, page faults included).
   */
  private static final PooledByteBufAllocator ALLOCATOR = PooledByteBufAllocator.DEFAULT;

  private final AnswerPipeline pipeline;
  private final List<Channel> channels = new ArrayList<>();
  private final EventLoopGroup group;
  private final boolean ownGroup;
  private final ContextInternal context;

  private EpollUdpListener(AnswerPipeline pipeline, EventLoopGroup group, boolean ownGroup, ContextInternal ctx) {
    this.pipeline = pipeline;
    this.group = group;
    this.ownGroup = ownGroup;
    this.context = ctx;
  }

  /** True when the native epoll transport can be loaded on this machine. */
  static boolean available() {
    return !UdpListener.requested().equals("vertx") && Epoll.isAvailable();
  }

  /** A listener on Vert.x's event loops if they are epoll ones, else on {@code threads} epoll threads of its own. */
  static EpollUdpListener create(Vertx vertx, AnswerPipeline pipeline, int threads) {
    VertxInternal vi = (VertxInternal) vertx;
    ContextInternal ctx = vi.getOrCreateContext();
    boolean vertxEpoll = vertx.isNativeTransportEnabled() && vi.transport().getClass().getSimpleName()
        .equals("EpollTransport");
    if (vertxEpoll) {
      return new EpollUdpListener(pipeline, vi.nettyEventLoopGroup(), false, ctx);
    }
    EventLoopGroup own = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("meridian-dns-udp", true),
        EpollIoHandler.newFactory());
    return new EpollUdpListener(pipeline, own, true, ctx);
  }

  @Override
  public String kind() {
    return "epoll";
  }

  @Override
  public Future<Integer> bind(String host, int port, int sockets) {
    return bindOne(host, port, sockets > 1).compose(actual -> {
      List<Future<Integer>> more = new ArrayList<>();
      for (int i = 1; i < sockets; i++) {
        more.add(bindOne(host, actual, true));
      }
      return Future.all(more).map(v -> {
        LOG.info(
            "UDP on {}:{}: {} socket(s), Netty's epoll datagram channel ({} per recvmmsg) on {} event loops",
            host, actual, sockets, BATCH, ownGroup ? "its own" : "Vert.x's");
        return actual;
      });
    });
  }

  private Future<Integer> bindOne(String host, int port, boolean reusePort) {
    PromiseInternal<Integer> promise = context.promise();
    SocketProtocolFamily family = host.contains(":") ? SocketProtocolFamily.INET6 : SocketProtocolFamily.INET;
    Bootstrap b = new Bootstrap().group(group)
        .channelFactory(() -> new EpollDatagramChannel(family))
        // no SO_REUSEADDR: on UDP it would let another server bind the same port and take part of the queries
        .option(EpollChannelOption.SO_REUSEPORT, reusePort)
        .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_DATAGRAM)
        .option(ChannelOption.RCVBUF_ALLOCATOR,
            new FixedRecvByteBufAllocator(MAX_DATAGRAM * BATCH).maxMessagesPerRead(MAX_PER_READ))
        .option(ChannelOption.ALLOCATOR, ALLOCATOR)
        .option(EpollChannelOption.EPOLL_MODE, EpollMode.LEVEL_TRIGGERED)
        .handler(new Handler(pipeline));
    ChannelFuture f = b.bind(new InetSocketAddress(host, port));
    f.addListener(done -> {
      if (done.isSuccess()) {
        synchronized (channels) {
          channels.add(f.channel());
        }
        promise.complete(((InetSocketAddress) f.channel().localAddress()).getPort());
      } else {
        promise.fail(done.cause());
      }
    });
    return promise.future();
  }

  /** Closes the sockets (and the own event loops, if any). */
  @Override
  public Future<Void> close() {
    List<Future<Void>> all = new ArrayList<>();
    synchronized (channels) {
      for (Channel c : channels) {
        PromiseInternal<Void> p = context.promise();
        c.close().addListener(done -> p.complete());
        all.add(p.future());
      }
      channels.clear();
    }
    return Future.join(all).compose(v -> {
      if (!ownGroup) {
        return Future.<Void>succeededFuture();
      }
      PromiseInternal<Void> p = context.promise();
      group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).addListener(done -> p.complete());
      return p.future();
    });
  }

  /**
   * Answers each datagram inline and queues the answer; the queue is flushed once per read burst. A socket whose
   * send buffer is full drops answers rather than queue them without bound (a flood must not grow memory).
   *
   * <p>One handler per channel, so per event loop: the query is copied into, and the answer built in, arrays the
   * handler owns (no per-packet {@code byte[]}s), and the latency histogram is fed once per burst — every answer
   * in a burst leaves with the burst's flush, so the burst's time (first packet read → {@code sendmmsg} done) is
   * what each of its queries waited inside the server.
   */
  private static final class Handler extends ChannelInboundHandlerAdapter {
    private final AnswerPipeline pipeline;
    private final byte[] query = new byte[MAX_DATAGRAM];
    /** The largest UDP answer we send: the EDNS payload size is capped at 65535 by its 16-bit field. */
    private final byte[] answer = new byte[65535];
    /** The fast path's query object, reset for every packet (the handler's, as the arrays above). */
    private final Query scratch = AnswerPipeline.scratch();
    private DnsMetrics.Stripe stripe;
    private long burstStart;
    private int burstAnswers;

    Handler(AnswerPipeline pipeline) {
      this.pipeline = pipeline;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      DatagramPacket packet = (DatagramPacket) msg;
      try {
        if (burstAnswers == 0) {
          burstStart = System.nanoTime();
        }
        InetSocketAddress sender = packet.sender();
        byte[] src = sourceBytes(sender.getAddress());
        if (src == null) {
          return;
        }
        ByteBuf in = packet.content();
        int len = Math.min(in.readableBytes(), query.length);
        in.getBytes(in.readerIndex(), query, 0, len);
        int n = pipeline.answerUdp(scratch, query, len, src, answer);
        if (n >= 0 && ctx.channel().isWritable()) {
          ByteBuf buf = ctx.alloc().directBuffer(n).writeBytes(answer, 0, n);
          ctx.write(new DatagramPacket(buf, sender), ctx.voidPromise());
          burstAnswers++;
        }
      } finally {
        packet.release();
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (burstAnswers > 0) {
        ctx.flush();
        if (stripe == null) {
          stripe = pipeline.metrics().stripe(); // this loop's: handlers never change threads
        }
        DnsMetrics.latency(stripe, Transport.UDP, System.nanoTime() - burstStart, burstAnswers);
        burstAnswers = 0;
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // a UDP socket error (e.g. ICMP unreachable reported on a read) concerns one peer, never the socket
    }
  }

  /** The sender's address bytes, IPv4-mapped IPv6 as 4 bytes (as {@link ClientAddress#parse} does). */
  static byte[] sourceBytes(InetAddress a) {
    if (a == null) {
      return null;
    }
    byte[] b = a.getAddress();
    if (a instanceof Inet4Address || !isV4Mapped(b)) {
      return b;
    }
    return new byte[] {b[12], b[13], b[14], b[15]};
  }

  private static boolean isV4Mapped(byte[] b) {
    if (b.length != 16 || b[10] != (byte) 0xFF || b[11] != (byte) 0xFF) {
      return false;
    }
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }
}
