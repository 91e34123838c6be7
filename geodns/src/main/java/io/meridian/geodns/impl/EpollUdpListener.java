package io.meridian.geodns.impl;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
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

/**
 * UDP on Netty's native epoll datagram channel, the way gdnsd does it: {@code recvmmsg} reads a burst of queries in
 * one syscall, their answers are written without flushing and flushed once when the burst is done, which Netty
 * turns into one {@code sendmmsg}. One socket per event loop, sharing the port with SO_REUSEPORT.
 *
 * <p>The channels live on Vert.x's own event loops when Vert.x runs on the epoll transport; otherwise (Vert.x on
 * NIO, as in tests) on a small epoll group of their own, closed with the listener. Where epoll is not available at
 * all, {@link DnsListeners} keeps using Vert.x's {@code DatagramSocket}.
 */
final class EpollUdpListener {
  /**
   * Per-datagram slot of the {@code recvmmsg} buffer. Netty's default receive buffer for datagrams (what the
   * Vert.x path reads with), so the same queries fit; a longer one is cut and then fails to parse (FORMERR).
   */
  static final int MAX_DATAGRAM = 2048;
  /** Datagrams per {@code recvmmsg}: a burst of this many queries costs one syscall in and one out. */
  static final int BATCH = 32;

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
    return !Boolean.getBoolean("meridian.geodns.vertxUdp") && Epoll.isAvailable();
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

  /** Binds {@code sockets} sockets to host:port (port 0: one the kernel picks); the future has the bound port. */
  Future<Integer> bind(String host, int port, int sockets) {
    return bindOne(host, port, sockets > 1).compose(actual -> {
      List<Future<Integer>> more = new ArrayList<>();
      for (int i = 1; i < sockets; i++) {
        more.add(bindOne(host, actual, true));
      }
      return Future.all(more).map(actual);
    });
  }

  private Future<Integer> bindOne(String host, int port, boolean reusePort) {
    PromiseInternal<Integer> promise = context.promise();
    SocketProtocolFamily family = host.contains(":") ? SocketProtocolFamily.INET6 : SocketProtocolFamily.INET;
    Bootstrap b = new Bootstrap().group(group)
        .channelFactory(() -> new EpollDatagramChannel(family))
        .option(ChannelOption.SO_REUSEADDR, true)
        .option(EpollChannelOption.SO_REUSEPORT, reusePort)
        .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_DATAGRAM)
        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM * BATCH))
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
  Future<Void> close() {
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
   */
  private static final class Handler extends ChannelInboundHandlerAdapter {
    private final AnswerPipeline pipeline;
    private boolean unflushed;

    Handler(AnswerPipeline pipeline) {
      this.pipeline = pipeline;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      DatagramPacket packet = (DatagramPacket) msg;
      try {
        InetSocketAddress sender = packet.sender();
        byte[] src = sourceBytes(sender.getAddress());
        if (src == null) {
          return;
        }
        ByteBuf in = packet.content();
        byte[] wire = new byte[in.readableBytes()];
        in.getBytes(in.readerIndex(), wire);
        byte[] out = pipeline.handle(wire, src, Transport.UDP);
        if (out != null && ctx.channel().isWritable()) {
          ByteBuf buf = ctx.alloc().directBuffer(out.length).writeBytes(out);
          ctx.write(new DatagramPacket(buf, sender), ctx.voidPromise());
          unflushed = true;
        }
      } finally {
        packet.release();
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (unflushed) {
        unflushed = false;
        ctx.flush();
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
