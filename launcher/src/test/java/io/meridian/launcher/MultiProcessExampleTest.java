package io.meridian.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.etcd.testing.EtcdServer;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * config/meridian.multi-process.yaml works as its header says: one {@code meridian run --roles X} process per role
 * (controller, checker, dns, proxy) from that one file, sharing the plan through a real etcd. Only its ports, the
 * etcd endpoint and the token hash are changed, so the test can run beside anything else on the machine.
 */
class MultiProcessExampleTest {
  static final String US = "198.51.100.0/24";
  static final String EU = "203.0.113.0/24";
  static final String TOKEN = "example-token";

  @TempDir
  Path dir;

  @Test
  void everyRoleRunsAsItsOwnProcessFromTheExample() throws Exception {
    Path example = Path.of("..", "config", "meridian.multi-process.yaml");
    String yaml = Files.readString(example);
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (String p : List.of("8053", "9153", "8080", "9180", "9190", "9090", "18081", "18082", "18083")) {
      ports.put(p, p.equals("8053") ? Demo.freeUdpAndTcpPort() : Demo.freePort());
    }
    for (Map.Entry<String, Integer> e : ports.entrySet()) {
      yaml = yaml.replace("127.0.0.1:" + e.getKey(), "127.0.0.1:" + e.getValue());
    }
    yaml = yaml.replace("0000000000000000000000000000000000000000000000000000000000000000", Demo.sha256(TOKEN));
    Vertx vertx = Vertx.vertx();
    List<DemoApp> apps = new ArrayList<>();
    List<MeridianProcess> procs = new ArrayList<>();
    try (EtcdServer etcd = EtcdServer.start(dir.resolve("etcd"))) {
      yaml = yaml.replace("http://127.0.0.1:2379", etcd.endpoint());
      Path config = dir.resolve("meridian.multi-process.yaml");
      Files.writeString(config, yaml);
      String[] regions = {"us-east", "us-west", "eu-west"};
      String[] appPorts = {"18081", "18082", "18083"};
      for (int i = 0; i < 3; i++) {
        DemoApp app = DemoApp.create(vertx, regions[i], List.of());
        app.listen("127.0.0.1", ports.get(appPorts[i])).await(10, TimeUnit.SECONDS);
        apps.add(app);
      }
      for (String role : List.of("controller", "checker", "dns", "proxy")) {
        procs.add(MeridianProcess.start(config, dir.resolve(role + ".log"), "--roles", role));
      }
      int dns = ports.get("8053");
      MeridianProcess dnsProcess = procs.get(2);
      EtcdMultiProcessTest.awaitValue(() -> Cli.digA(dns, "www.example.com", US), "192.0.2.10",
          Duration.ofSeconds(60), dnsProcess);
      assertEquals("192.0.2.20", Cli.digA(dns, "www.example.com", EU));
      String proxy = "http://127.0.0.1:" + ports.get("8080") + "/hello";
      EtcdMultiProcessTest.awaitValue(() -> Cli.curl("127.0.0.1", proxy).isEmpty() ? "" : "answered", "answered",
          Duration.ofSeconds(30), procs.get(3));

      // meridian ctl against the controller process: a drain of us-east moves US clients to us-west in the DNS
      // process (same residency group, capacity to spare)
      String admin = "http://127.0.0.1:" + ports.get("9090");
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
      // The DNS and proxy processes answer from the configuration's plan at once; the controller may still be
      // loading its state from etcd (503), so retry the drain until the controller takes it.
      EtcdMultiProcessTest.awaitTrue(() -> {
        out.reset();
        err.reset();
        return io.meridian.controller.cli.Ctl.run(new String[] {"--admin", admin, "--token", TOKEN, "drain",
            "us-east", "--reason", "example test"}, new java.io.PrintStream(out), new java.io.PrintStream(err)) == 0;
      }, Duration.ofSeconds(60), procs.get(0));
      EtcdMultiProcessTest.awaitValue(() -> Cli.digA(dns, "www.example.com", US), "192.0.2.11",
          Duration.ofSeconds(60), dnsProcess);
      out.reset();
      assertEquals(0, io.meridian.controller.cli.Ctl.run(new String[] {"--admin", admin, "--token", TOKEN, "status"},
          new java.io.PrintStream(out), new java.io.PrintStream(err)));
      assertTrue(out.toString().contains("us-east"), out.toString());
      for (MeridianProcess p : procs) {
        assertTrue(p.alive(), p.log());
      }
    } finally {
      for (MeridianProcess p : procs) {
        p.close();
      }
      for (DemoApp a : apps) {
        a.close().await(10, TimeUnit.SECONDS);
      }
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
