package io.meridian.geodns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Message;
import org.xbill.DNS.Type;

/**
 * The per-query series (counted per event loop, summed at scrape time) add up to what real clients were answered:
 * UDP queries from dnsjava, one over TCP from dig, one malformed packet; the UDP latency histogram (observed per
 * read burst) counts every UDP answer once.
 */
class GeoDnsMetricsTest {
  @Test
  void perQuerySeriesCountWhatWasAnswered() throws Exception {
    try (DnsFixture dns = DnsFixture.start()) {
      for (int i = 0; i < 5; i++) {
        assertNotNull(dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.A, DnsFixture.LONDON)));
      }
      for (int i = 0; i < 3; i++) {
        assertNotNull(dns.udp(Message.newQuery(org.xbill.DNS.Record.newRecord(
            org.xbill.DNS.Name.fromConstantString("www.example.test."), Type.AAAA, org.xbill.DNS.DClass.IN))));
      }
      // a header and garbage: FORMERR, counted once
      byte[] bad = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w'};
      assertNotNull(dns.udpRaw(bad));
      List<String> tcp = dns.digShort("+tcp", "www.example.test", "A", "+subnet=" + DnsFixture.MUMBAI);
      assertEquals(List.of(DnsFixture.AP), tcp);

      String text = scrape(dns);
      assertEquals(5, value(text, "meridian_geodns_queries_total{qtype=\"A\",rcode=\"NOERROR\",transport=\"udp\"}"));
      assertEquals(3, value(text, "meridian_geodns_queries_total{qtype=\"AAAA\",rcode=\"NOERROR\",transport=\"udp\"}"));
      assertEquals(1, value(text, "meridian_geodns_queries_total{qtype=\"OTHER\",rcode=\"FORMERR\",transport=\"udp\"}"));
      assertEquals(1, value(text, "meridian_geodns_queries_total{qtype=\"A\",rcode=\"NOERROR\",transport=\"tcp\"}"));
      assertEquals(5, value(text, "meridian_geodns_geo_answers_total{region=\"eu-west\"}"));
      assertEquals(1, value(text, "meridian_geodns_geo_answers_total{region=\"ap-south\"}"));
      assertEquals(3, value(text, "meridian_geodns_geo_answers_total{region=\"us-east\"}"), text);
      assertEquals(6, value(text, "meridian_geodns_ecs_queries_total{ecs=\"present\"}"));
      assertEquals(3, value(text, "meridian_geodns_ecs_queries_total{ecs=\"absent\"}"));
      assertEquals(9, value(text, "meridian_geodns_query_duration_seconds_count{transport=\"udp\"}"));
      assertEquals(9, value(text, "meridian_geodns_query_duration_seconds_bucket{transport=\"udp\",le=\"+Inf\"}"));
      assertEquals(1, value(text, "meridian_geodns_query_duration_seconds_count{transport=\"tcp\"}"));
      assertTrue(value(text, "meridian_geodns_query_duration_seconds_sum{transport=\"udp\"}") > 0);
    }
  }

  static String scrape(DnsFixture dns) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.builder().setIncludeCreatedTimestamps(false).build().write(out, dns.ops.registry().scrape());
    return out.toString(StandardCharsets.UTF_8);
  }

  static double value(String text, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)").matcher(text);
    assertTrue(m.find(), series + " missing in\n" + text);
    return Double.parseDouble(m.group(1));
  }
}
