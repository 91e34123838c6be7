package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.core.geo.MmdbWriter;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * Live changes on disk under query load: a replaced zone file and a replaced GeoIP database are picked up without
 * a single query going unanswered; a broken zone file is rejected and the previous zone keeps serving.
 */
class GeoDnsReloadTest {
  static final String ZONE = """
      $ORIGIN example.test.
      $TTL 60
      @    IN SOA ns1 hostmaster 1 3600 600 604800 30
      @    IN NS  ns1
      ns1  IN A   192.0.2.53
      mail IN A   %s
      """;

  /** Sends queries back to back from one thread until stopped, counting answers and timeouts. */
  static final class Load implements AutoCloseable {
    final AtomicInteger answered = new AtomicInteger();
    final AtomicInteger lost = new AtomicInteger();
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread thread;

    Load(int port, Supplier<byte[]> query) {
      thread = new Thread(() -> {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
          s.setSoTimeout(1000);
          byte[] buf = new byte[4096];
          while (!stop.get()) {
            byte[] q = query.get();
            s.send(new DatagramPacket(q, q.length, InetAddress.getLoopbackAddress(), port));
            try {
              s.receive(new DatagramPacket(buf, buf.length));
              answered.incrementAndGet();
            } catch (SocketTimeoutException e) {
              lost.incrementAndGet();
            }
          }
        } catch (Exception e) {
          lost.incrementAndGet();
        }
      });
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join(5000);
    }
  }

  static void replace(Path target, String content) throws Exception {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    Files.writeString(tmp, content);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  static String waitFor(Supplier<String> probe, String expected) throws InterruptedException {
    String last = null;
    for (int i = 0; i < 100 && !expected.equals(last); i++) { // ≤ 10 s
      last = probe.get();
      if (!expected.equals(last)) {
        Thread.sleep(100);
      }
    }
    return last;
  }

  @Test
  void zoneFileReplacedUnderLoadIsServedWithoutDroppingQueries() throws Exception {
    Path dir = Files.createTempDirectory("geodns-reload");
    Path zone = dir.resolve("example.test.zone");
    Files.writeString(zone, ZONE.formatted("192.0.2.25"));
    try (DnsFixture dns = DnsFixture.start(dir, """
        dns:
          listen: 127.0.0.1:0
          ops_listen: 127.0.0.1:0
          zone_reload_check_interval: 100ms
          rrl: {responses_per_second: 0}
          zones:
            - origin: example.test.
              file: example.test.zone
              names: [{name: www}]
        """)) {
      Message q = Message.newQuery(Record.newRecord(Name.fromConstantString("mail.example.test."), Type.A, DClass.IN));
      Supplier<String> mail = () -> {
        try {
          return DnsFixture.addresses(dns.udp(q)).toString();
        } catch (Exception e) {
          return e.toString();
        }
      };
      assertEquals("[192.0.2.25]", mail.get());
      try (Load load = new Load(dns.port(), q::toWire)) {
        Thread.sleep(200);
        Files.setLastModifiedTime(zone, java.nio.file.attribute.FileTime.fromMillis(0)); // a distinct stamp
        replace(zone, ZONE.formatted("192.0.2.26"));
        assertEquals("[192.0.2.26]", waitFor(mail, "[192.0.2.26]"));

        replace(zone, ZONE.formatted("192.0.2.27") + "broken IN A not-an-address\n");
        Thread.sleep(600); // several check intervals
        assertEquals("[192.0.2.26]", mail.get(), "a bad file is rejected; the previous zone keeps serving");
        load.close();
        assertEquals(0, load.lost.get(), "queries lost during reloads");
        assertTrue(load.answered.get() > 100, "load ran: " + load.answered.get());
      }
      String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + dns.role.opsPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(metrics.contains("meridian_geodns_zone_loads_total{result=\"rejected\"} 1.0"), metrics);
    }
  }

  static byte[] cityDb(double lat, double lon, String country, String continent) {
    return MmdbWriter.create("GeoIP2-City").insert("100.70.0.0/16", Map.of(
        "location", Map.of("latitude", lat, "longitude", lon),
        "country", Map.of("iso_code", country),
        "continent", Map.of("code", continent))).toBytes();
  }

  @Test
  void geoIpDatabaseReplacedUnderLoadMovesClientsWithoutDroppingQueries() throws Exception {
    Path dir = Files.createTempDirectory("geodns-geoip");
    Path db = dir.resolve("geo.mmdb");
    Files.write(db, cityDb(51.51, -0.13, "GB", "EU"));
    try (DnsFixture dns = DnsFixture.startWithGeoIp(dir, "geo.mmdb", DnsFixture.DEFAULT_DNS)) {
      Message q = DnsFixture.ecsQuery("www.example.test.", Type.A, "100.70.1.0/24");
      Supplier<String> www = () -> {
        try {
          return DnsFixture.addresses(dns.udp(q)).toString();
        } catch (Exception e) {
          return e.toString();
        }
      };
      assertEquals("[" + DnsFixture.EU + "]", www.get(), "located by the GeoIP database");
      try (Load load = new Load(dns.port(), q::toWire)) {
        Path tmp = dir.resolve("geo.mmdb.tmp");
        Files.write(tmp, cityDb(19.08, 72.88, "IN", "AS"));
        Files.move(tmp, db, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        assertEquals("[" + DnsFixture.AP + "]", waitFor(www, "[" + DnsFixture.AP + "]"));
        load.close();
        assertEquals(0, load.lost.get(), "queries lost during the database swap");
        assertTrue(load.answered.get() > 50, "load ran: " + load.answered.get());
      }
      Message m = dns.udp(q);
      assertEquals(16, ((org.xbill.DNS.ClientSubnetOption) m.getOPT().getOptions().get(0)).getScopePrefixLength(),
          "ECS scope is the GeoIP network's prefix");
    }
  }
}
