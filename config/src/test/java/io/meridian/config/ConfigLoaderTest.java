package io.meridian.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigLoaderTest {
  private static final String REGION = """
      regions:
        - id: us-east
          latitude: 39.0
          longitude: -77.5
          capacity_rps: 1000
          upstreams: [http://10.0.0.1:8080]
          health_check: {url: http://10.0.0.1:8080/healthz}
      """;

  private static final String TWO_GROUPS = REGION.replace("capacity_rps: 1000", "capacity_rps: 1000\n    residency_group: us")
      + """
        - id: eu-west
          latitude: 53.3
          longitude: -6.3
          capacity_rps: 1000
          residency_group: eu
          upstreams: [http://10.0.1.1:8080]
          health_check: {url: http://10.0.1.1:8080/healthz}
      """;

  private static Path resource(String name) throws Exception {
    return Path.of(ConfigLoaderTest.class.getResource("/" + name).toURI());
  }

  @Test
  void validFileLoadsWithDefaultsAndValues() throws Exception {
    MeridianConfig c = ConfigLoader.load(resource("valid.yaml"));
    assertEquals(List.of("us-east", "eu-west"), c.regions().stream().map(RegionConfig::id).toList());
    RegionConfig eu = c.region("eu-west").orElseThrow();
    assertEquals(800, eu.capacityRps());
    assertEquals("eu", eu.residencyGroup());
    assertEquals(List.of("192.0.2.20"), eu.dnsA(), "a single address is accepted where a list is expected");
    assertEquals(List.of(URI.create("http://10.0.1.1:8080"), URI.create("https://10.0.1.2:8443")), eu.upstreams());
    assertEquals("example.test.", c.dns().zones().get(0).origin());
    assertEquals("www.example.test.", c.dns().zones().get(0).names().get(0).name());
    assertEquals(Duration.ofSeconds(10), c.dns().zones().get(0).names().get(0).ttl());
    assertEquals(Duration.ofSeconds(30), c.dns().zones().get(0).names().get(1).ttl(), "zone default TTL");
    assertEquals(Duration.ofSeconds(1), c.healthCheck().interval());
    assertEquals(Duration.ofMillis(300), c.healthCheck().timeout());
    assertEquals(2, c.healthCheck().fall(), "default");
    assertEquals(ListenAddress.parse("127.0.0.1:8053"), c.dns().listen(), "default");
    assertEquals(1, c.proxy().routes().size(), "no routes means one catch-all route");
    assertEquals(ProxyConfig.Policy.NEAREST, c.proxy().routes().get(0).policy());
    assertEquals(StateStoreConfig.Type.EMBEDDED, c.stateStore().type());
    assertTrue(c.summary().contains("regions: 2 (us-east, eu-west)"), c.summary());
  }

  @Test
  void aRegionHoldsNamedServicesAndRoutesNameTheirs() throws Exception {
    Path f = Files.createTempFile("services", ".yaml");
    Files.writeString(f, """
        regions:
          - id: us-east
            latitude: 39.0
            longitude: -77.5
            capacity_rps: 1000
            upstreams: [http://10.0.0.1:8080]
            health_check: {url: http://10.0.0.1:8080/healthz}
            services:
              - name: api
                upstreams: [http://10.0.0.1:9000, http://10.0.0.2:9000]
                health_check: {url: http://10.0.0.1:9000/ready}
        proxy:
          routes:
            - {name: api, path_prefix: /api/, service: api}
            - {name: web, path_prefix: /}
        """);
    MeridianConfig c = ConfigLoader.load(f);
    RegionConfig r = c.regions().get(0);
    assertEquals(List.of("default", "api"), r.serviceNames());
    assertEquals(List.of(java.net.URI.create("http://10.0.0.1:9000"), java.net.URI.create("http://10.0.0.2:9000")),
        r.upstreams("api"));
    assertEquals(List.of(java.net.URI.create("http://10.0.0.1:8080")), r.upstreams("default"));
    assertEquals(List.of(), r.upstreams("web"));
    // the service's check joins the region's: the checker probes both
    assertEquals(2, r.healthChecks().size());
    assertEquals("api", c.proxy().routes().get(0).service());
    assertEquals(RegionConfig.DEFAULT_SERVICE, c.proxy().routes().get(1).service());
  }

  @Test
  void brokenFileReportsEveryProblemWithItsLineInLineOrder() throws Exception {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(resource("broken.yaml")));
    List<String> got = e.problems().stream().map(ConfigProblem::toString).toList();
    List<String> expected = List.of(
        "broken.yaml:8 regions[1].id: must be lowercase letters, digits and '-' (e.g. eu-west), got 'EU_West'",
        "broken.yaml:9 regions[1].latitude: must be between -90 and 90, got 123",
        "broken.yaml:12 regions[1].upstreams[0]: must be an http:// or https:// URL with a host, got 'ftp://10.0.1.1'",
        "broken.yaml:14 regions[2].health_check: is required (health_check.url: the URL the checker probes)",
        "broken.yaml:14 regions[2].id: duplicate region id 'us-east' (also regions[0])",
        "broken.yaml:17 regions[2].capacity_rps: must be > 0, got -5",
        "broken.yaml:19 regions[2].healthcheck: unknown key; expected one of [capacity_rps, dns, health_check, id,"
            + " latitude, longitude, residency_group, services, upstreams]",
        "broken.yaml:21 health_check.interval: must be at least 100ms, got 50ms",
        "broken.yaml:22 health_check.fall: must be an integer, got 'zero'",
        "broken.yaml:24 proxy.listen: must be host:port (e.g. 127.0.0.1:8053 or [::1]:8053), got 'localhost'");
    assertEquals(expected, got);
  }

  static Stream<Arguments> badSnippets() {
    return Stream.of(
        Arguments.of("version: 2\n" + REGION, "t.yaml:1 version: must be between 1 and 1, got 2"),
        Arguments.of("regions: []\n", "t.yaml:1 regions: must list at least one region"),
        Arguments.of(REGION + "geo:\n  nets:\n    - {cidr: 10.0.0.0/33, latitude: 1, longitude: 2}\n",
            "t.yaml:10 geo.nets[0].cidr: must be a CIDR like 198.51.100.0/24 or 2001:db8::/32, got '10.0.0.0/33'"),
        Arguments.of(REGION + "geo:\n  nets:\n    - {cidr: 10.0.0.0/8, latitude: 1, longitude: 2, country: de}\n",
            "t.yaml:10 geo.nets[0].country: must be an ISO 3166-1 alpha-2 code like DE, got 'de'"),
        Arguments.of(REGION + "dns:\n  zones:\n    - origin: example.test\n      names: [{name: www}]\n",
            "t.yaml:2 regions[0].dns: must list at least one 'a' or 'aaaa' address: dns.zones has geo names to answer"),
        Arguments.of(REGION.replace("capacity_rps: 1000", "capacity_rps: 1000\n    dns: {a: [192.0.2.1]}")
            + "dns:\n  zones:\n    - origin: example.test\n      names: [{name: www, transition_ttl: 2500ms}]\n",
            "t.yaml:12 dns.zones[0].names[0].transition_ttl: must be a whole number of seconds (a DNS TTL), got 2500ms"),
        Arguments.of(REGION + "dns:\n  nsid: naïve\n",
            "t.yaml:9 dns.nsid: must be off, printable ASCII text of 1 to 128 characters, or {hex: ...}, got 'naïve'"),
        Arguments.of(REGION + "dns:\n  nsid: {hex: 6d6}\n",
            "t.yaml:9 dns.nsid.hex: must be 1 to 128 bytes as hex digits, like 6d6572696469616e, got '6d6'"),
        Arguments.of(REGION + "dns:\n  explain: [10.0.0.0/33]\n",
            "t.yaml:9 dns.explain: must list CIDRs like 10.0.0.0/8 or fc00::/7, got '10.0.0.0/33'"),
        Arguments.of(REGION + "dns:\n  explain: maybe\n",
            "t.yaml:9 dns.explain: must be off, on or a list of client networks like [127.0.0.0/8, 10.0.0.0/8], got 'maybe'"),
        Arguments.of(REGION + "dns:\n  unlocated: {region: mars}\n",
            "t.yaml:9 dns.unlocated.region: must be a configured region id [us-east], got 'mars'"),
        Arguments.of(REGION + "dns:\n  unlocated: {policy: region}\n",
            "t.yaml:9 dns.unlocated.region: is required with policy region (the region unlocated clients are sent to)"),
        Arguments.of(REGION + "dns:\n  unlocated: first\n",
            "t.yaml:9 dns.unlocated: must be resolver, region or all, got 'first'"),
        Arguments.of(REGION + "dns:\n  cookies: {secret_rotation: 10m}\n",
            "t.yaml:9 dns.cookies.secret_rotation: must be at least 1h, got 10m"),
        Arguments.of(REGION + "dns:\n  zones:\n    - origin: example.test\n      dnssec: {keys: [Kexample.test.+013+00001]}\n",
            "t.yaml:11 dns.zones[0].dnssec.keys: 'Kexample.test.+013+00001': cannot read /tmp/Kexample.test.+013+00001.key"
                + " (expected: a .key and a .private file, as dnssec-keygen or meridian dnssec keygen write them)"),
        Arguments.of(REGION + "dns:\n  zones:\n    - origin: example.test\n      dnssec: {keys: []}\n",
            "t.yaml:11 dns.zones[0].dnssec.keys: must list at least one key (the path of a K<zone>+<alg>+<tag> pair"
                + " without .key/.private; meridian dnssec keygen makes one)"),
        Arguments.of(REGION + "dns:\n  zones:\n    - origin: example.test\n      dnssec: {keys: [K], signature_validity: 3000h}\n",
            "t.yaml:11 dns.zones[0].dnssec.signature_validity: must be at most 2160h (90 days), got 3000h"),
        Arguments.of(REGION + "health_check: {interval: 1s, timeout: 2s}\n",
            "t.yaml:8 health_check.timeout: must not exceed interval (1s), got 2s"),
        Arguments.of(REGION + "proxy:\n  capacity_wait: 1m\n",
            "t.yaml:9 proxy.capacity_wait: must be at most 10s (a request waiting longer is better refused with"
                + " Retry-After), got 1m"),
        Arguments.of(REGION + "proxy:\n  routes:\n    - {name: a, policy: closest}\n",
            "t.yaml:10 proxy.routes[0].policy: must be one of [nearest, home], got 'closest'"),
        Arguments.of(REGION + "proxy:\n  routes:\n    - {name: api, path_prefix: /api/, service: api}\n",
            "t.yaml:10 proxy.routes[0].service: route 'api' goes to service 'api', which regions [us-east] do not"
                + " have (add it to their services, or name another service)"),
        Arguments.of(REGION.replace("    upstreams: [http://10.0.0.1:8080]\n",
                "    services:\n      - {name: api, upstreams: ['http://10.0.0.1:9000']}\n"),
            "t.yaml:1 proxy.routes: the default catch-all route 'default' goes to service 'default', which regions"
                + " [us-east] do not have (give them upstreams, or name one of their services in the route's"
                + " 'service')"),
        Arguments.of(REGION.replace("    upstreams: [http://10.0.0.1:8080]\n",
                "    upstreams: [http://10.0.0.1:8080]\n    services:\n      - {name: default, upstreams: ['http://10.0.0.1:9000']}\n"),
            "t.yaml:8 regions[0].services[0].name: 'default' is the service of the region's own upstreams: give those"
                + " as regions[].upstreams, or choose another name"),
        Arguments.of(REGION.replace("    upstreams: [http://10.0.0.1:8080]\n",
                "    upstreams: [http://10.0.0.1:8080]\n    services:\n      - {name: api, upstreams: []}\n"),
            "t.yaml:8 regions[0].services[0].upstreams: must list at least one upstream URL (e.g. http://10.0.0.1:9000)"),
        Arguments.of(REGION + "controller: {headroom: 1.5}\n",
            "t.yaml:8 controller.headroom: must be between 0.01 and 1, got 1.5"),
        Arguments.of(REGION + "admin:\n  tokens: [{name: ops, sha256: abc}]\n",
            "t.yaml:9 admin.tokens[0].sha256: must be 64 lowercase hex digits (sha256sum of the token), got 'abc'"),
        Arguments.of(REGION + "state_store: {type: etcd}\n",
            "t.yaml:8 state_store.etcd: is required when type is etcd (e.g. etcd: {endpoints: [http://127.0.0.1:2379]})"),
        Arguments.of(REGION + "state_store: {type: etcd, etcd: {endpoints: ['127.0.0.1:2379']}}\n",
            "t.yaml:8 state_store.etcd.endpoints: '127.0.0.1:2379' (expected: http://host:port or https://host:port)"),
        Arguments.of(REGION + "state_store: {type: etcd, etcd: {endpoints: ['http://a:1', 'https://b:2']}}\n",
            "t.yaml:8 state_store.etcd.endpoints: [http://a:1, https://b:2] mixes http and https (expected: all one scheme)"),
        Arguments.of(REGION + "state_store: {type: etcd, etcd: {endpoints: ['http://a:1'], prefix: meridian}}\n",
            "t.yaml:8 state_store.etcd.prefix: must be a key prefix like /meridian/ (starts and ends with '/', letters,"
                + " digits, '.', '_', '-'), got 'meridian'"),
        Arguments.of(REGION + "state_store: {type: etcd, etcd: {endpoints: ['https://a:1'], tls: {ca: nope.pem}}}\n",
            "t.yaml:8 state_store.etcd.tls.ca: 'nope.pem': cannot read /tmp/nope.pem (expected: a readable file)"),
        Arguments.of(REGION + "state_store: {type: etcd, etcd: {endpoints: ['http://a:1'], username: u}}\n",
            "t.yaml:8 state_store.etcd.password_file: is required with username (a file whose first line is the password)"),
        Arguments.of(REGION + "state_store: {type: etcd, etcd: {endpoints: ['http://a:1'], lease_ttl: 1s}}\n",
            "t.yaml:8 state_store.etcd.lease_ttl: must be at least 2s, got 1s"),
        Arguments.of(REGION + "state_store: {etcd: {endpoints: ['http://a:1']}}\n",
            "t.yaml:8 state_store.etcd: is set but type is embedded (expected: type: etcd, or remove the etcd block)"),
        Arguments.of(TWO_GROUPS + "controller:\n  successors: {us-east: eu-west}\n",
            "t.yaml:17 controller.successors.us-east: must be in us-east's residency group 'us', got 'eu-west'"
                + " (group 'eu')"),
        Arguments.of(TWO_GROUPS + "controller:\n  successors: {us-east: us-west}\n",
            "t.yaml:17 controller.successors.us-east: must be a region listed in regions [eu-west, us-east],"
                + " got 'us-west'"),
        Arguments.of(TWO_GROUPS + "controller:\n  successors: {ap-south: us-east}\n",
            "t.yaml:17 controller.successors.ap-south: home region 'ap-south' is not in regions [eu-west, us-east]"),
        Arguments.of(REGION + "regions: []\n", "t.yaml:8 regions: duplicate key"),
        Arguments.of("regions:\n  - id: [x\n", "t.yaml:3 (syntax): invalid YAML: expected ',' or ']', but got <stream end>"),
        Arguments.of("", "t.yaml:1 (root): file is empty; expected at least 'regions:'"));
  }

  @ParameterizedTest
  @MethodSource("badSnippets")
  void badSnippetIsReportedExactly(String yaml, String expectedProblem) {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.parse("t.yaml", yaml, Path.of("/tmp"), Path.of("/tmp/t.yaml")));
    List<String> got = e.problems().stream().map(ConfigProblem::toString).toList();
    assertTrue(got.contains(expectedProblem), "expected " + expectedProblem + "\n got " + got);
  }

  @Test
  void commentedExampleIsValid() throws Exception {
    // surefire runs in the module directory, where the example lives
    MeridianConfig c = ConfigLoader.load(Path.of("meridian.example.yaml"));
    assertEquals(3, c.regions().size());
    assertEquals(2, c.proxy().routes().size());
  }

  @Test
  void multiProcessExampleIsValidAndUsesEtcd() throws Exception {
    MeridianConfig c = ConfigLoader.load(Path.of("meridian.multi-process.yaml"));
    assertEquals(StateStoreConfig.Type.ETCD, c.stateStore().type());
    assertEquals(List.of("http://127.0.0.1:2379"), c.stateStore().etcd().endpoints());
    assertEquals("/meridian/", c.stateStore().etcd().prefix());
    assertEquals(Duration.ofSeconds(5), c.stateStore().etcd().leaseTtl());
  }

  @Test
  void etcdTlsAndUserFilesAreReadRelativeToTheConfig(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    java.nio.file.Files.writeString(dir.resolve("ca.pem"), "x");
    java.nio.file.Files.writeString(dir.resolve("pw"), "s3cret\n");
    MeridianConfig c = ConfigLoader.parse("t.yaml", REGION + "state_store:\n  type: etcd\n  etcd:\n"
        + "    endpoints: [https://e1:2379, https://e2:2379]\n    tls: {ca: ca.pem}\n    username: m\n"
        + "    password_file: pw\n", dir, dir.resolve("t.yaml"));
    assertEquals(dir.resolve("ca.pem"), c.stateStore().etcd().caFile());
    assertEquals("s3cret", c.stateStore().etcd().password());
    assertEquals("m", c.stateStore().etcd().username());
  }

  @Test
  void durationsParse() {
    assertEquals(Duration.ofMillis(500), ConfigNode.parseDuration("500ms"));
    assertEquals(Duration.ofMillis(1500), ConfigNode.parseDuration("1.5s"));
    assertEquals(Duration.ofMinutes(5), ConfigNode.parseDuration("5m"));
    assertEquals(Duration.ofHours(1), ConfigNode.parseDuration("1h"));
    assertEquals(null, ConfigNode.parseDuration("5 minutes"));
  }

  @Test
  void listenAddressesParse() {
    assertEquals(new ListenAddress("::1", 53), ListenAddress.parse("[::1]:53"));
    assertEquals(new ListenAddress("0.0.0.0", 8080), ListenAddress.parse("0.0.0.0:8080"));
    assertEquals(null, ListenAddress.parse("::1:53"), "bare IPv6 is ambiguous");
    assertEquals(null, ListenAddress.parse("host:99999"));
  }
}
