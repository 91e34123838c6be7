package io.meridian.checker.impl;

import io.meridian.checker.HealthProbe;
import io.meridian.checker.ProbeFailure;
import io.meridian.checker.ProbeResult;
import io.meridian.config.HealthCheckConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.datagram.DatagramSocketOptions;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * DNS probe: one query over UDP (RFC 1035 §4.2.1) from a fresh socket; passes on NOERROR with at least one
 * answer record. A truncated answer (TC, RFC 1035 §4.1.1) still proves the server answers, so it passes.
 */
public final class DnsProbe implements HealthProbe {
  private final Vertx vertx;
  private final HealthCheckConfig.Endpoint endpoint;
  private final HealthProbe.Settings settings;
  private final Record question;

  private DnsProbe(Vertx vertx, HealthCheckConfig.Endpoint endpoint, HealthProbe.Settings settings) {
    this.vertx = vertx;
    this.endpoint = endpoint;
    this.settings = settings;
    try {
      this.question = Record.newRecord(Name.fromString(endpoint.dnsQuery(), Name.root), Type.value(endpoint.dnsType()),
          DClass.IN);
    } catch (TextParseException e) {
      throw new IllegalArgumentException("dns query: '" + endpoint.dnsQuery() + "' (expected: a DNS name)", e);
    }
  }

  public static DnsProbe create(Vertx vertx, HealthCheckConfig.Endpoint endpoint, HealthProbe.Settings settings) {
    return new DnsProbe(vertx, endpoint, settings);
  }

  @Override
  public HealthCheckConfig.Endpoint endpoint() {
    return endpoint;
  }

  @Override
  public Future<ProbeResult> probe() {
    return probe(settings.timeout());
  }

  @Override
  public Future<ProbeResult> probe(java.time.Duration timeout) {
    Promise<ProbeResult> p = Promise.promise();
    Instant at = Instant.now();
    long start = System.nanoTime();
    long timeoutMs = Math.max(1, Math.min(timeout.toMillis(), settings.timeoutMax().toMillis()));
    Message query = Message.newQuery(question);
    int id = query.getHeader().getID();
    boolean v6 = endpoint.host().contains(":");
    DatagramSocket socket = vertx.createDatagramSocket(new DatagramSocketOptions().setIpV6(v6));
    long timer = vertx.setTimer(timeoutMs, t -> {
      socket.close();
      p.tryComplete(result(ProbeFailure.TIMEOUT, at, start, -1, "timeout after " + timeoutMs
          + "ms waiting for an answer to " + describeQuestion()));
    });
    socket.handler(packet -> {
      Message answer;
      try {
        answer = new Message(packet.data().getBytes());
      } catch (IOException e) {
        finish(p, socket, timer, result(ProbeFailure.PROTOCOL, at, start, -1, "malformed DNS answer: "
            + e.getMessage()));
        return;
      }
      if (answer.getHeader().getID() != id) {
        return; // not ours (RFC 5452 §9.1: match the ID); keep waiting until the timeout
      }
      int rcode = answer.getRcode();
      List<Record> records = answer.getSection(Section.ANSWER);
      String took = " in " + ProbeResult.ms(System.nanoTime() - start);
      if (rcode != Rcode.NOERROR) {
        finish(p, socket, timer, result(ProbeFailure.RCODE, at, start, rcode, Rcode.string(rcode) + " for "
            + describeQuestion() + took));
      } else if (records.isEmpty() && !answer.getHeader().getFlag(org.xbill.DNS.Flags.TC)) {
        finish(p, socket, timer, result(ProbeFailure.EMPTY, at, start, rcode, "NOERROR without answers for "
            + describeQuestion() + took));
      } else {
        String rrs = records.stream().limit(3).map(r -> Type.string(r.getType()) + " " + r.rdataToString())
            .collect(Collectors.joining(", "));
        finish(p, socket, timer, result(null, at, start, rcode, "NOERROR, " + records.size() + " answer(s)"
            + (rrs.isEmpty() ? " (truncated)" : " (" + rrs + ")") + took));
      }
    });
    socket.listen(0, v6 ? "::" : "0.0.0.0")
        .compose(s -> s.send(Buffer.buffer(query.toWire()), endpoint.port(), endpoint.host()))
        .onFailure(e -> finish(p, socket, timer, result(Probes.classify(e), at, start, -1, Probes.describe(e)
            + " sending to " + endpoint.host() + ":" + endpoint.port())));
    return p.future();
  }

  private String describeQuestion() {
    return endpoint.dnsQuery() + "/" + endpoint.dnsType() + " at " + endpoint.host() + ":" + endpoint.port();
  }

  private void finish(Promise<ProbeResult> p, DatagramSocket socket, long timer, ProbeResult r) {
    vertx.cancelTimer(timer);
    socket.close();
    p.tryComplete(r);
  }

  private static ProbeResult result(ProbeFailure f, Instant at, long start, int rcode, String output) {
    return new ProbeResult(f, at, -1, -1, -1, System.nanoTime() - start, rcode, output, Map.of());
  }

  @Override
  public void close() {
    // a socket per query: nothing held between probes
  }
}
