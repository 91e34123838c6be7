package io.meridian.geodns.impl;

import io.netty.util.concurrent.FastThreadLocalThread;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * UDP the way gdnsd and Knot serve it: one thread per socket blocks in {@code recvmmsg(MSG_WAITFORONE)}, answers
 * the whole burst it got, and sends the answers with one {@code sendmmsg}. Sockets share the port with
 * SO_REUSEPORT. The system calls are made through the JDK's foreign linker ({@link LibcBinding}: Java 17's
 * {@code jdk.incubator.foreign} or Java 22+'s {@code java.lang.foreign}), on buffers set up once per socket: no
 * per-packet object, no JNI per message slot, no {@code epoll_wait} per burst.
 *
 * <p>Why not Netty's epoll channel ({@link EpollUdpListener}, the fallback): at a few hundred thousand queries per
 * second the kernel's own UDP work is ≈ 80 % of a core for any server; gdnsd adds ≈ 0.13 µs of user time per query
 * to it, Netty's channel ≈ 0.5 µs (a {@code DatagramPacket}, an {@code InetSocketAddress} and a pooled buffer per
 * query, JNI field access per {@code recvmmsg}/{@code sendmmsg} slot). Measured in docs/PERFORMANCE.md.
 *
 * <p>Answers are sent with DF set and path-MTU updates ignored ({@code IP_PMTUDISC_PROBE}): RFC 9715 §3.1 asks
 * UDP responders not to fragment (fragments are how cache-poisoning attacks splice answers, and are often dropped),
 * and forged ICMP "fragmentation needed" must not shrink what we send. The default EDNS payload size (1232) keeps
 * answers under any common MTU; an answer larger than the interface MTU is not sent (counted as
 * {@code dropped_packets_total{reason="send_failed"}}) and the resolver retries with a smaller size or TCP. It
 * also spares the kernel a hashed IP ID per packet (RFC 6864 §4.1: atomic datagrams need none).
 *
 * <p>Needs Linux (x86_64 or aarch64) and a JVM with a {@link LibcBinding}: Java 17 started with
 * {@code --add-modules jdk.incubator.foreign --enable-native-access=ALL-UNNAMED}, or Java 22+ started with
 * {@code --enable-native-access=ALL-UNNAMED}; {@link LibcBinding#unavailableReason()} checks before the calls are
 * linked.
 */
final class NativeUdpListener implements UdpListener {
  private static final Logger LOG = LoggerFactory.getLogger(NativeUdpListener.class);

  /**
   * Datagrams per {@code recvmmsg}. Larger than the epoll listener's 32: here a slot costs nothing unless a datagram
   * lands in it, and a deep queue (a saturating load) is drained in fewer system calls.
   */
  static final int BATCH = 64;
  /** Per-datagram receive slot, as the other listeners: a longer query is cut and then fails to parse (FORMERR). */
  static final int QUERY_SLOT = EpollUdpListener.MAX_DATAGRAM;
  /**
   * Per-answer send slot: the largest UDP answer (the EDNS payload field is 16 bits). BATCH × 64 KiB of address
   * space per socket, of which only the pages answers touch are ever resident.
   */
  static final int ANSWER_SLOT = 65536;
  /** Copies up to this many bytes with a word loop rather than a native bulk copy (see {@code Socket.copyIn}). */
  private static final int SMALL_COPY = 512;
  /** byte[] seen as native-order longs: the same order the direct buffers use, so words move unchanged. */
  private static final java.lang.invoke.VarHandle LONGS =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());
  /** How long a blocked receive waits before it looks at the stop flag again (close also wakes it at once). */
  private static final int RECEIVE_TIMEOUT_MILLIS = 500;
  /** How long a send may wait for socket buffer space before the answer is dropped instead. */
  private static final int SEND_TIMEOUT_MILLIS = 1000;

  // <sys/socket.h>, <netinet/in.h> (Linux; the same numbers on x86_64 and aarch64)
  private static final int AF_INET = 2;
  private static final int AF_INET6 = 10;
  private static final int SOCK_DGRAM = 2;
  private static final int SOL_SOCKET = 1;
  private static final int SO_REUSEPORT = 15;
  private static final int SO_RCVTIMEO = 20;
  private static final int SO_SNDTIMEO = 21;
  private static final int IPPROTO_IP = 0;
  private static final int IP_MTU_DISCOVER = 10;
  private static final int IP_PMTUDISC_PROBE = 3;
  private static final int IPPROTO_IPV6 = 41;
  private static final int IPV6_MTU_DISCOVER = 23;
  private static final int IPV6_PMTUDISC_PROBE = 3;
  private static final int SHUT_RDWR = 2;
  private static final int MSG_WAITFORONE = 0x10000;

  // struct mmsghdr on LP64: msghdr {name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48},
  // msg_len 56; 64 bytes. struct iovec {base 0, len 8}; 16 bytes. Names: room for a sockaddr_in6 (28 bytes).
  private static final int MMSG = 64;
  private static final int MSG_NAMELEN = 8;
  private static final int MSG_IOV = 16;
  private static final int MSG_IOVLEN = 24;
  private static final int MSG_LEN = 56;
  private static final int IOVEC = 16;
  private static final int NAME = 32;
  private static final int NAME_CAPACITY = 28;

  /**
   * The libc functions, linked once through this JVM's binding (pointers as {@code long} addresses). Static final
   * handles, so that the JIT inlines {@code invokeExact} into a direct call. Touched only once
   * {@link LibcBinding#unavailableReason()} is null.
   */
  private static final class Libc {
    static final LibcBinding BINDING = LibcBinding.get();
    static final MethodHandle SOCKET = BINDING.downcall("socket", true, int.class, int.class, int.class, int.class);
    static final MethodHandle SETSOCKOPT =
        BINDING.downcall("setsockopt", true, int.class, int.class, int.class, int.class, long.class, int.class);
    static final MethodHandle BIND = BINDING.downcall("bind", true, int.class, int.class, long.class, int.class);
    static final MethodHandle GETSOCKNAME =
        BINDING.downcall("getsockname", true, int.class, int.class, long.class, long.class);
    static final MethodHandle RECVMMSG = BINDING.downcall("recvmmsg", false, int.class, int.class, long.class,
        int.class, int.class, long.class);
    static final MethodHandle SENDMMSG =
        BINDING.downcall("sendmmsg", false, int.class, int.class, long.class, int.class, int.class);
    static final MethodHandle SHUTDOWN = BINDING.downcall("shutdown", false, int.class, int.class, int.class);
    static final MethodHandle CLOSE = BINDING.downcall("close", false, int.class, int.class);

    /** errno of the last failed set-up call on this thread. */
    static int errno() {
      return BINDING.errno();
    }

    static long address(ByteBuffer direct) {
      return BINDING.address(direct);
    }
  }

  static NativeUdpListener create(Vertx vertx, AnswerPipeline pipeline) {
    return new NativeUdpListener(vertx, pipeline);
  }

  private final Vertx vertx;
  private final AnswerPipeline pipeline;
  private final List<Socket> sockets = new ArrayList<>();

  private NativeUdpListener(Vertx vertx, AnswerPipeline pipeline) {
    this.vertx = vertx;
    this.pipeline = pipeline;
  }

  @Override
  public String kind() {
    return "native";
  }

  @Override
  public Future<Integer> bind(String host, int port, int count) {
    // a handful of quick system calls, no I/O wait: done on the caller's thread
    try {
      InetAddress address = InetAddress.getByName(host);
      Socket first = Socket.open(address, port, count > 1, pipeline, 0);
      synchronized (sockets) {
        sockets.add(first);
      }
      for (int i = 1; i < count; i++) {
        Socket more = Socket.open(address, first.port, true, pipeline, i);
        synchronized (sockets) {
          sockets.add(more);
        }
      }
      synchronized (sockets) {
        sockets.forEach(Socket::start);
      }
      LOG.info("UDP on {}:{}: {} socket(s), blocking recvmmsg/sendmmsg ({} per call) on their own threads, "
          + "through {}", host, first.port, count, BATCH, Libc.BINDING.api());
      return Future.succeededFuture(first.port);
    } catch (Exception e) {
      close();
      return Future.failedFuture(e);
    }
  }

  @Override
  public Future<Void> close() {
    List<Socket> all;
    synchronized (sockets) {
      all = new ArrayList<>(sockets);
      sockets.clear();
    }
    if (all.isEmpty()) {
      return Future.succeededFuture();
    }
    all.forEach(Socket::stop);
    // joining the threads blocks: never on an event loop
    return vertx.executeBlocking(() -> {
      for (Socket s : all) {
        s.awaitAndRelease();
      }
      return null;
    }, false);
  }

  /** One socket, its thread and its buffers (native memory set up once). */
  private static final class Socket implements Runnable {
    private final int fd;
    private final int port;
    private final boolean v6;
    private final AnswerPipeline pipeline;
    private final Thread thread;
    private volatile boolean running = true;

    private ByteBuffer receiveHeaders;
    private ByteBuffer sendHeaders;
    private ByteBuffer names;
    private ByteBuffer queries;
    private ByteBuffer answers;
    private ByteBuffer receiveIovecs;
    private ByteBuffer sendIovecs;

    private Socket(int fd, int port, boolean v6, AnswerPipeline pipeline, int index) {
      this.fd = fd;
      this.port = port;
      this.v6 = v6;
      this.pipeline = pipeline;
      this.thread = new FastThreadLocalThread(this, "meridian-dns-udp-" + index);
      thread.setDaemon(true);
    }

    static Socket open(InetAddress address, int port, boolean reusePort, AnswerPipeline pipeline, int index)
        throws Exception {
      boolean v6 = !(address instanceof Inet4Address);
      int fd;
      try {
        fd = (int) Libc.SOCKET.invokeExact(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
      } catch (Throwable t) {
        throw new java.io.IOException("socket() failed", t);
      }
      if (fd < 0) {
        throw new java.io.IOException("socket() failed: errno " + Libc.errno());
      }
      try {
        ByteBuffer tmp = direct(16); // option values and struct timeval, for setsockopt
        // no SO_REUSEADDR: on UDP it would let a second server (or a stray copy of this one) bind the same port
        // and silently take part of the queries; a port in use must fail the start instead
        if (reusePort) {
          setInt(fd, SOL_SOCKET, SO_REUSEPORT, 1, tmp);
        }
        setTimeout(fd, SO_RCVTIMEO, RECEIVE_TIMEOUT_MILLIS, tmp);
        setTimeout(fd, SO_SNDTIMEO, SEND_TIMEOUT_MILLIS, tmp);
        setInt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE, tmp); // v4 and v4-mapped answers
        if (v6) {
          setInt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE, tmp);
        }
        ByteBuffer sa = direct(NAME); // struct sockaddr_in or sockaddr_in6
        sa.putShort(0, (short) (v6 ? AF_INET6 : AF_INET));
        sa.order(ByteOrder.BIG_ENDIAN).putShort(2, (short) port);
        sa.put(v6 ? 8 : 4, address.getAddress());
        int rc = (int) Libc.BIND.invokeExact(fd, Libc.address(sa), v6 ? 28 : 16);
        if (rc != 0) {
          int errno = Libc.errno();
          throw new BindException((errno == 98 ? "Address already in use" : errno == 99
              ? "Cannot assign requested address" : errno == 13 ? "Permission denied" : "bind failed, errno " + errno)
              + ": udp " + address.getHostAddress() + ":" + port);
        }
        ByteBuffer len = direct(4);
        len.putInt(0, NAME);
        rc = (int) Libc.GETSOCKNAME.invokeExact(fd, Libc.address(sa), Libc.address(len));
        int bound = rc == 0 ? sa.getShort(2) & 0xFFFF : port;
        Socket s = new Socket(fd, bound, v6, pipeline, index);
        s.allocate();
        return s;
      } catch (Exception | Error e) {
        closeQuietly(fd);
        throw e;
      } catch (Throwable t) {
        closeQuietly(fd);
        throw new IllegalStateException(t);
      }
    }

    private static void setInt(int fd, int level, int option, int value, ByteBuffer tmp) throws Throwable {
      tmp.putInt(0, value);
      int rc = (int) Libc.SETSOCKOPT.invokeExact(fd, level, option, Libc.address(tmp), 4);
      if (rc != 0) {
        LOG.debug("setsockopt({}, {}) = {} failed: errno {}", level, option, value, Libc.errno());
      }
    }

    private static void setTimeout(int fd, int option, int millis, ByteBuffer tmp) throws Throwable {
      tmp.putLong(0, millis / 1000); // struct timeval {tv_sec, tv_usec}
      tmp.putLong(8, (millis % 1000) * 1000L);
      int rc = (int) Libc.SETSOCKOPT.invokeExact(fd, SOL_SOCKET, option, Libc.address(tmp), 16);
      if (rc != 0) {
        LOG.debug("setsockopt(SOL_SOCKET, {}) failed: errno {}", option, Libc.errno());
      }
    }

    private static void closeQuietly(int fd) {
      try {
        int rc = (int) Libc.CLOSE.invokeExact(fd);
      } catch (Throwable e) {
        // nothing to do: the descriptor is gone either way
      }
    }

    /**
     * The message vectors: receive slot i points at name i and query slot i; send slot k at answer slot k. Plain
     * direct buffers (malloc'd, 16-byte aligned): their accesses carry no memory-scope liveness check, and they
     * are freed by the collector only once nothing — the socket's thread included — can reach them.
     */
    private void allocate() {
      receiveHeaders = direct(MMSG * BATCH);
      sendHeaders = direct(MMSG * BATCH);
      names = direct(NAME * BATCH).order(ByteOrder.BIG_ENDIAN); // addresses and ports are in network order
      queries = direct(QUERY_SLOT * BATCH);
      answers = direct(ANSWER_SLOT * BATCH);
      receiveIovecs = direct(IOVEC * BATCH);
      sendIovecs = direct(IOVEC * BATCH);
      long namesAt = addressOf(names);
      long queriesAt = addressOf(queries);
      long answersAt = addressOf(answers);
      for (int i = 0; i < BATCH; i++) {
        receiveIovecs.putLong(i * IOVEC, queriesAt + (long) i * QUERY_SLOT);
        receiveIovecs.putLong(i * IOVEC + 8, QUERY_SLOT);
        receiveHeaders.putLong(i * MMSG, namesAt + (long) i * NAME);
        receiveHeaders.putInt(i * MMSG + MSG_NAMELEN, NAME_CAPACITY);
        receiveHeaders.putLong(i * MMSG + MSG_IOV, addressOf(receiveIovecs) + (long) i * IOVEC);
        receiveHeaders.putLong(i * MMSG + MSG_IOVLEN, 1);
        sendIovecs.putLong(i * IOVEC, answersAt + (long) i * ANSWER_SLOT);
        sendHeaders.putLong(i * MMSG + MSG_IOV, addressOf(sendIovecs) + (long) i * IOVEC);
        sendHeaders.putLong(i * MMSG + MSG_IOVLEN, 1);
      }
    }

    private static ByteBuffer direct(int size) {
      return ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
    }

    private static long addressOf(ByteBuffer b) {
      return Libc.address(b);
    }

    void start() {
      thread.start();
    }

    void stop() {
      running = false;
      try {
        // wakes a thread blocked in recvmmsg at once (Linux does so even on unconnected UDP sockets, where the
        // call itself reports ENOTCONN); the receive timeout is the backstop
        int rc = (int) Libc.SHUTDOWN.invokeExact(fd, SHUT_RDWR);
      } catch (Throwable e) {
        // the timeout still ends the loop
      }
    }

    /** Waits for the thread, then closes the socket (never while the thread may still use its number). */
    void awaitAndRelease() throws InterruptedException {
      thread.join(RECEIVE_TIMEOUT_MILLIS + SEND_TIMEOUT_MILLIS + 1000L);
      if (thread.isAlive()) {
        LOG.warn("UDP thread {} did not stop; leaving its socket and buffers allocated", thread.getName());
        return;
      }
      closeQuietly(fd);
    }

    @Override
    public void run() {
      ByteBuffer rh = receiveHeaders;
      ByteBuffer sh = sendHeaders;
      ByteBuffer sendLengths = sendIovecs;
      ByteBuffer nameBytes = names;
      ByteBuffer in = queries;
      ByteBuffer out = answers;
      long namesAt = addressOf(names);
      long receiveAt = addressOf(receiveHeaders);
      long sendAt = addressOf(sendHeaders);
      byte[] query = new byte[QUERY_SLOT];
      byte[] answer = new byte[ANSWER_SLOT - 1];
      byte[] source4 = new byte[4];
      byte[] source16 = new byte[16];
      Query scratch = AnswerPipeline.scratch(); // this thread's: the fast path reuses it for every packet
      DnsMetrics metrics = pipeline.metrics();
      DnsMetrics.Stripe stripe = metrics.stripe(); // this thread's, for its whole life
      int used = BATCH;
      while (running) {
        try {
          for (int i = 0; i < used; i++) {
            rh.putInt(i * MMSG + MSG_NAMELEN, NAME_CAPACITY); // in/out: the kernel wrote the last sender's length
          }
          int n = (int) Libc.RECVMMSG.invokeExact(fd, receiveAt, BATCH, MSG_WAITFORONE, 0L);
          if (n <= 0) {
            used = 0; // the receive timeout, a signal, or close: look at the flag and wait again
            continue;
          }
          used = n;
          long start = System.nanoTime();
          int k = 0;
          for (int i = 0; i < n; i++) {
            byte[] source = source(nameBytes, i, rh.getInt(i * MMSG + MSG_NAMELEN), source4, source16);
            if (source == null) {
              continue;
            }
            int length = Math.min(rh.getInt(i * MMSG + MSG_LEN), QUERY_SLOT);
            copyIn(in, i * QUERY_SLOT, query, length);
            int answerLength = pipeline.answerUdp(scratch, query, length, source, answer);
            if (answerLength < 0) {
              continue;
            }
            copyOut(answer, answerLength, out, k * ANSWER_SLOT);
            sh.putLong(k * MMSG, namesAt + (long) i * NAME); // the answer goes back to where the query came from
            sh.putInt(k * MMSG + MSG_NAMELEN, rh.getInt(i * MMSG + MSG_NAMELEN));
            sendLengths.putLong(k * IOVEC + 8, answerLength);
            k++;
          }
          send(sendAt, k, metrics);
          if (k > 0) {
            DnsMetrics.latency(stripe, Transport.UDP, System.nanoTime() - start, k);
          }
        } catch (Throwable e) {
          // the pipeline answers SERVFAIL on its own bugs; anything reaching here must not end the socket's thread
          LOG.warn("UDP thread {}: {}", thread.getName(), e.toString());
        }
      }
    }

    /**
     * Sends answers [0, count): sendmmsg stops at the first message it cannot send (an answer over the interface
     * MTU, a full buffer after the send timeout); that one is dropped and the rest still go.
     */
    private void send(long sendAt, int count, DnsMetrics metrics) throws Throwable {
      int sent = 0;
      while (sent < count) {
        int n = (int) Libc.SENDMMSG.invokeExact(fd, sendAt + (long) sent * MMSG, count - sent, 0);
        if (n > 0) {
          sent += n;
        } else {
          metrics.dropped("send_failed");
          sent++;
        }
      }
    }

    /**
     * {@code src[at, at + length)} into {@code dst[0, length)}. A DNS query is tens of bytes: copied 8 at a time
     * with plain loads and stores, because {@code ByteBuffer}'s bulk copy between a direct buffer and an array is
     * {@code Unsafe.copyMemory}, a native call with a thread-state transition (≈ 1.5 % of the server's CPU, twice
     * per query); long ones still take the bulk copy.
     */
    private static void copyIn(ByteBuffer src, int at, byte[] dst, int length) {
      if (length > SMALL_COPY) {
        src.get(at, dst, 0, length);
        return;
      }
      int i = 0;
      for (; i + 8 <= length; i += 8) {
        LONGS.set(dst, i, src.getLong(at + i));
      }
      for (; i < length; i++) {
        dst[i] = src.get(at + i);
      }
    }

    /** {@code src[0, length)} into {@code dst[at, at + length)}; see {@link #copyIn}. */
    private static void copyOut(byte[] src, int length, ByteBuffer dst, int at) {
      if (length > SMALL_COPY) {
        dst.put(at, src, 0, length);
        return;
      }
      int i = 0;
      for (; i + 8 <= length; i += 8) {
        dst.putLong(at + i, (long) LONGS.get(src, i));
      }
      for (; i < length; i++) {
        dst.put(at + i, src[i]);
      }
    }

    /** The sender's address (IPv4-mapped IPv6 as 4 bytes, as {@link ClientAddress#parse} does) in a reused array. */
    private byte[] source(ByteBuffer nameBytes, int slot, int nameLength, byte[] source4, byte[] source16) {
      int at = slot * NAME;
      if (!v6) {
        if (nameLength < 16) {
          return null;
        }
        nameBytes.get(at + 4, source4);
        return source4;
      }
      if (nameLength < 28) {
        return null;
      }
      nameBytes.get(at + 8, source16);
      if (nameBytes.getLong(at + 8) == 0 && nameBytes.getShort(at + 16) == 0 && nameBytes.getShort(at + 18) == -1) {
        nameBytes.get(at + 20, source4);
        return source4;
      }
      return source16;
    }
  }
}
