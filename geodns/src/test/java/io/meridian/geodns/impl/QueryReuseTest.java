package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.geodns.DnsFixture;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Type;

/**
 * A UDP thread answers every packet on one {@link Query} ({@link Query#reuse}): after a packet has been through
 * the fast path or the full pipeline's stages, a reset query must hold exactly what a new one holds, field by
 * field — including fields added to Query later, which this test finds by reflection.
 */
class QueryReuseTest {
  /** Query's per-packet state: every instance field but what the thread keeps (scratch arrays, metrics stripe). */
  private static List<Field> stateFields() {
    List<Field> out = new ArrayList<>();
    for (Field f : Query.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers())
          || java.util.Set.of("client4", "client16", "stripe", "stripeOf").contains(f.getName())) {
        continue;
      }
      f.setAccessible(true);
      out.add(f);
    }
    return out;
  }

  @Test
  void aReusedQueryHoldsWhatANewOneHolds() throws Exception {
    try (DnsFixture dns = DnsFixture.start()) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      byte[] src = {127, 0, 0, 1};
      byte[] wire = AnswerPipelineFastPathTest.query("www.example.test.", Type.A,
          AnswerPipelineFastPathTest.ecs(24, "198.51.100.0"));
      List<Field> fields = stateFields();
      // a query through the fast path, and one through the full pipeline's stages: between them they set
      // almost every field to something other than its initial value
      Query fast = AnswerPipeline.scratch().reuse(wire, wire.length, src, Transport.UDP);
      assertTrue(p.fast(fast), "the fast path takes an ECS query for a geo name");
      Query full = new Query(wire, src, Transport.UDP);
      Stage.full(full, p.context());
      int changed = 0;
      Query fresh = new Query(new byte[12], new byte[16], Transport.TCP);
      for (Query used : List.of(fast, full)) {
        for (Field f : fields) {
          changed += Objects.equals(f.get(used), f.get(fresh)) ? 0 : 1;
        }
        byte[] other = new byte[12];
        byte[] otherSource = new byte[16];
        used.reuse(other, 12, otherSource, Transport.TCP);
        for (Field f : fields) {
          if (f.getType().isPrimitive() || f.getType().isEnum() || f.get(fresh) == null
              || f.getName().equals("ttlRule")) {
            assertEquals(f.get(fresh), f.get(used), "field " + f.getName() + " after reuse");
          }
        }
        assertSame(other, used.wire);
        assertSame(otherSource, used.source);
      }
      assertTrue(changed > 20, "the two packets changed " + changed + " fields: the test exercises reuse");
    }
  }

  @Test
  void theEcsScratchAddressIsRewrittenWholeForEachPacket() throws Exception {
    try (DnsFixture dns = DnsFixture.start()) {
      AnswerPipeline p = ((GeoDnsServer) dns.role).pipeline();
      byte[] src = {127, 0, 0, 1};
      Query q = AnswerPipeline.scratch();
      byte[] first = AnswerPipelineFastPathTest.query("www.example.test.", Type.A,
          AnswerPipelineFastPathTest.ecs(24, "198.51.100.0"));
      assertTrue(p.fast(q.reuse(first, first.length, src, Transport.UDP)));
      byte[] a = q.client;
      assertEquals("198.51.100.0", java.net.InetAddress.getByAddress(a).getHostAddress());
      // a shorter prefix next: the bytes after it must be zero, not the previous packet's
      byte[] second = AnswerPipelineFastPathTest.query("www.example.test.", Type.A,
          AnswerPipelineFastPathTest.ecs(16, "100.65.0.0"));
      assertTrue(p.fast(q.reuse(second, second.length, src, Transport.UDP)));
      assertSame(a, q.client, "the same scratch array");
      assertEquals("100.65.0.0", java.net.InetAddress.getByAddress(q.client).getHostAddress());
      byte[] none = AnswerPipelineFastPathTest.query("www.example.test.", Type.A, null);
      assertTrue(p.fast(q.reuse(none, none.length, src, Transport.UDP)));
      assertSame(src, q.client, "without ECS the client is the source");
      assertNotEquals(a, q.client);
    }
  }
}
