package io.meridian.etcd.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.api.AuthEnableRequest;
import io.etcd.jetcd.api.AuthEnableResponse;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserAddResponse;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleResponse;
import io.meridian.etcd.EtcdClient;
import io.meridian.etcd.EtcdOptions;
import io.meridian.etcd.testing.EtcdServer;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The accepted state_store.etcd keys work: TLS with a client certificate, and etcd's user/password auth. */
class EtcdTlsAndAuthTest {
  @TempDir
  Path dir;

  static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), "openssl " + String.join(" ", args) + ": " + out);
  }

  /** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
  void makeCertificates() throws Exception {
    java.nio.file.Files.writeString(dir.resolve("san.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days",
        "2", "-subj", "/CN=test-ca");
    for (String who : List.of("server", "client")) {
      openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", who + "-key.pem", "-out", who + ".csr", "-subj",
          "/CN=" + who);
      openssl(dir, "x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
          "-out", who + ".pem", "-days", "2", "-extfile", "san.cnf");
    }
  }

  @Test
  void tlsWithAClientCertificate() throws Exception {
    makeCertificates();
    Vertx vertx = Vertx.vertx();
    try (EtcdServer etcd = EtcdServer.startTls(dir.resolve("etcd"), dir.resolve("ca.pem"), dir.resolve("server.pem"),
        dir.resolve("server-key.pem"), dir.resolve("client.pem"), dir.resolve("client-key.pem"))) {
      EtcdOptions withCert = new EtcdOptions(List.of(etcd.endpoint()), dir.resolve("ca.pem"), dir.resolve("client.pem"),
          dir.resolve("client-key.pem"), null, null, Duration.ofSeconds(3));
      EtcdClient c = EtcdClient.connect(vertx, withCert);
      c.put("/tls/k", "v".getBytes(StandardCharsets.UTF_8), 0).await(10, TimeUnit.SECONDS);
      assertEquals("v", c.get("/tls/k").await(10, TimeUnit.SECONDS).first().valueUtf8());
      c.close();
      EtcdOptions noCert = new EtcdOptions(List.of(etcd.endpoint()), dir.resolve("ca.pem"), null, null, null, null,
          Duration.ofSeconds(3));
      EtcdClient refused = EtcdClient.connect(vertx, noCert);
      assertThrows(Exception.class, () -> refused.get("/tls/k").await(10, TimeUnit.SECONDS),
          "etcd --client-cert-auth must refuse a client without a certificate");
      refused.close();
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  static final ServiceMethod<AuthUserAddResponse, AuthUserAddRequest> USER_ADD = ServiceMethod.client(
      ServiceName.create("etcdserverpb.Auth"), "UserAdd", GrpcMessageEncoder.encoder(),
      GrpcMessageDecoder.decoder(AuthUserAddResponse.newBuilder()));
  static final ServiceMethod<AuthUserGrantRoleResponse, AuthUserGrantRoleRequest> GRANT = ServiceMethod.client(
      ServiceName.create("etcdserverpb.Auth"), "UserGrantRole", GrpcMessageEncoder.encoder(),
      GrpcMessageDecoder.decoder(AuthUserGrantRoleResponse.newBuilder()));
  static final ServiceMethod<AuthEnableResponse, AuthEnableRequest> AUTH_ENABLE = ServiceMethod.client(
      ServiceName.create("etcdserverpb.Auth"), "AuthEnable", GrpcMessageEncoder.encoder(),
      GrpcMessageDecoder.decoder(AuthEnableResponse.newBuilder()));

  @Test
  void userAndPassword() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (EtcdServer etcd = EtcdServer.start(dir.resolve("etcd"))) {
      GrpcEtcdClient admin = GrpcEtcdClient.create(vertx, EtcdOptions.of(List.of(etcd.endpoint())));
      admin.unary(USER_ADD, AuthUserAddRequest.newBuilder().setName("root").setPassword("s3cret").build())
          .await(10, TimeUnit.SECONDS);
      admin.unary(GRANT, AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root").build())
          .await(10, TimeUnit.SECONDS);
      admin.unary(AUTH_ENABLE, AuthEnableRequest.getDefaultInstance()).await(10, TimeUnit.SECONDS);
      admin.close();

      EtcdClient anonymous = EtcdClient.connect(vertx, EtcdOptions.of(List.of(etcd.endpoint())));
      Exception e = assertThrows(Exception.class,
          () -> anonymous.put("/auth/k", new byte[] {1}, 0).await(10, TimeUnit.SECONDS));
      assertTrue(String.valueOf(e.getMessage()).contains("user name is empty")
          || String.valueOf(e.getMessage()).contains("permission denied"), e.getMessage());
      anonymous.close();

      EtcdClient wrong = EtcdClient.connect(vertx, new EtcdOptions(List.of(etcd.endpoint()), null, null, null, "root",
          "nope", Duration.ofSeconds(3)));
      Exception bad = assertThrows(Exception.class, () -> wrong.get("/auth/k").await(10, TimeUnit.SECONDS));
      assertTrue(String.valueOf(bad.getMessage()).contains("authentication failed"), bad.getMessage());
      wrong.close();

      EtcdClient user = EtcdClient.connect(vertx, new EtcdOptions(List.of(etcd.endpoint()), null, null, null, "root",
          "s3cret", Duration.ofSeconds(3)));
      user.put("/auth/k", "ok".getBytes(StandardCharsets.UTF_8), 0).await(10, TimeUnit.SECONDS);
      assertEquals("ok", user.get("/auth/k").await(10, TimeUnit.SECONDS).first().valueUtf8());
      // a watch and a lease work with the token too
      long lease = user.grantLease(5).await(10, TimeUnit.SECONDS);
      assertTrue(lease != 0);
      user.close();
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
