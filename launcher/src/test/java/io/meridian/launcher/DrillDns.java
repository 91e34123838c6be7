package io.meridian.launcher;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * DNS clients on three continents asking every DNS server of the drill, each every {@code periodMs}: an A query for
 * the drill's geo name over UDP with EDNS Client Subnet naming one of the continent's client /24s (the same
 * networks {@link DrillLoad}'s clients come from), as a resolver serving those clients would. Every query is
 * recorded with the region its answer names (by the regions' DNS addresses), "all" for the fallback answer (every
 * region), or the failure: no answer within {@link #TIMEOUT_MS}, or an rcode other than NOERROR.
 */
final class DrillDns {
  static final long TIMEOUT_MS = 2000;
  static final String NAME = "www.drill.meridian.test.";

  /**
   * One query.
   *
   * @param micros  when it was answered (or given up)
   * @param region  the region the answer names, "all" for every region, null on failure
   */
  record Answer(long sentMicros, long micros, int server, int continent, String region, String failure) {
    boolean failed() {
      return failure != null;
    }
  }

  private record Pending(long sentMicros, int continent) {}

  private final List<Integer> serverPorts;
  private final Map<String, String> regionByAddress;
  private final long periodMs;
  private final List<DatagramSocket> sockets = new ArrayList<>();
  private final List<Map<Integer, Pending>> pending = new ArrayList<>();
  private final List<Answer> answers = new ArrayList<>();
  private final List<Thread> receivers = new ArrayList<>();
  private final ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "drill-dns-sender");
    t.setDaemon(true);
    return t;
  });
  private volatile boolean running;
  private int nextId;
  private long round;

  /** @param regionByAddress each region's DNS address (its {@code dns.a}) → the region */
  DrillDns(List<Integer> serverPorts, Map<String, String> regionByAddress, long periodMs) {
    this.serverPorts = List.copyOf(serverPorts);
    this.regionByAddress = Map.copyOf(regionByAddress);
    this.periodMs = periodMs;
  }

  void start() throws IOException {
    running = true;
    for (int s = 0; s < serverPorts.size(); s++) {
      DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), serverPorts.get(s)));
      socket.setSoTimeout(200);
      sockets.add(socket);
      pending.add(new ConcurrentHashMap<>());
      int server = s;
      Thread t = new Thread(() -> receive(server), "drill-dns-receiver-" + s);
      t.setDaemon(true);
      t.start();
      receivers.add(t);
    }
    sender.scheduleAtFixedRate(this::sendRound, 0, periodMs, TimeUnit.MILLISECONDS);
  }

  private void sendRound() {
    long now = DrillClock.now();
    for (int s = 0; s < sockets.size(); s++) {
      // queries unanswered past the timeout are failures
      for (Iterator<Map.Entry<Integer, Pending>> it = pending.get(s).entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<Integer, Pending> e = it.next();
        if (now - e.getValue().sentMicros() > TIMEOUT_MS * 1000) {
          it.remove();
          record(new Answer(e.getValue().sentMicros(), now, s, e.getValue().continent(), null,
              "no answer within " + TIMEOUT_MS + " ms"));
        }
      }
      for (int c = 0; c < DrillLoad.CONTINENTS.size(); c++) {
        int id = nextId = (nextId + 1) & 0xffff;
        String subnet = "10." + (c + 1) + "." + (round % DrillLoad.SUBNETS_PER_CONTINENT) + ".0";
        try {
          Message q = Message.newQuery(Record.newRecord(Name.fromConstantString(NAME), Type.A, DClass.IN));
          q.getHeader().setID(id);
          q.addRecord(new OPTRecord(1232, 0, 0, 0,
              new ClientSubnetOption(24, InetAddress.getByName(subnet))), Section.ADDITIONAL);
          byte[] wire = q.toWire();
          pending.get(s).put(id, new Pending(DrillClock.now(), c));
          sockets.get(s).send(new DatagramPacket(wire, wire.length));
        } catch (IOException e) {
          pending.get(s).remove(id);
          record(new Answer(now, now, s, c, null, "send: " + e.getMessage()));
        }
      }
    }
    round++;
  }

  private void receive(int server) {
    byte[] buf = new byte[2048];
    DatagramSocket socket = sockets.get(server);
    while (running) {
      DatagramPacket p = new DatagramPacket(buf, buf.length);
      try {
        socket.receive(p);
      } catch (SocketTimeoutException idle) {
        continue;
      } catch (IOException e) {
        // ICMP port unreachable (the server is not listening) surfaces here on a connected socket: the query
        // stays pending and times out
        continue;
      }
      long now = DrillClock.now();
      try {
        Message r = new Message(Arrays.copyOf(buf, p.getLength()));
        Pending q = pending.get(server).remove(r.getHeader().getID());
        if (q == null) {
          continue; // answered after its timeout was recorded
        }
        if (r.getRcode() != Rcode.NOERROR) {
          record(new Answer(q.sentMicros(), now, server, q.continent(), null, "rcode " + Rcode.string(r.getRcode())));
          continue;
        }
        TreeSet<String> regions = new TreeSet<>();
        for (Record rec : r.getSection(Section.ANSWER)) {
          if (rec instanceof ARecord a) {
            regions.add(regionByAddress.getOrDefault(a.getAddress().getHostAddress(), "?"));
          }
        }
        String region = regions.size() == 1 ? regions.first()
            : regions.size() == new TreeSet<>(regionByAddress.values()).size() ? "all" : String.join("+", regions);
        record(new Answer(q.sentMicros(), now, server, q.continent(), regions.isEmpty() ? null : region,
            regions.isEmpty() ? "no A record" : null));
      } catch (IOException malformed) {
        record(new Answer(now, now, server, -1, null, "malformed answer: " + malformed.getMessage()));
      }
    }
  }

  private void record(Answer a) {
    synchronized (answers) {
      answers.add(a);
    }
  }

  void stop() throws InterruptedException {
    sender.shutdown();
    sender.awaitTermination(5, TimeUnit.SECONDS);
    // let the last round's answers arrive, then stop the receivers
    Thread.sleep(Math.min(TIMEOUT_MS, 500));
    running = false;
    for (Thread t : receivers) {
      t.join(2000);
    }
    sockets.forEach(DatagramSocket::close);
  }

  List<Answer> answers() {
    synchronized (answers) {
      return new ArrayList<>(answers);
    }
  }

  /** Queries sent since {@code sinceMicros} whose outcome matches {@code p} (for the drill's waits). */
  long count(long sinceMicros, java.util.function.Predicate<Answer> p) {
    long n = 0;
    synchronized (answers) {
      for (int i = answers.size() - 1; i >= 0; i--) {
        Answer a = answers.get(i);
        if (a.micros() < sinceMicros - TIMEOUT_MS * 1000) {
          break;
        }
        if (a.sentMicros() >= sinceMicros && p.test(a)) {
          n++;
        }
      }
    }
    return n;
  }
}
