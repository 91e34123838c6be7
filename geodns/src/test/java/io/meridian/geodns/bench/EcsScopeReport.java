package io.meridian.geodns.bench;

import io.meridian.geodns.DnsFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Type;

/**
 * The ECS scope distribution Meridian returns for the benchmark's client subnets (docs/PERFORMANCE.md): prepares
 * the benchmark directory as {@code bench/dns/run.sh} does (synthetic database, 10,000 networks, 1,000 ECS /24s),
 * starts Meridian on it in-process and asks each subnet once. A few seconds of queries, not a load run.
 *
 * <p>{@code EcsScopeReport DIR}
 */
public final class EcsScopeReport {
  private EcsScopeReport() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    DnsBenchTool.prepare(dir, 0, 0, 10_000, 1000);
    String yaml = Files.readString(dir.resolve("meridian.yaml"));
    Map<Integer, Integer> scopes = new TreeMap<>();
    try (DnsFixture dns = DnsFixture.startYaml(dir, yaml)) {
      List<String> lines = Files.readAllLines(dir.resolve("ecs-subnets.csv"));
      for (String line : lines.subList(1, lines.size())) {
        Message m = dns.udp(DnsFixture.ecsQuery("www.example.test.", Type.A, line.split(",")[0]));
        int scope = ((ClientSubnetOption) m.getOPT().getOptions(EDNSOption.Code.CLIENT_SUBNET).get(0))
            .getScopePrefixLength();
        scopes.merge(scope, 1, Integer::sum);
      }
    }
    scopes.forEach((scope, n) -> System.out.println("/" + scope + " " + n));
  }
}
