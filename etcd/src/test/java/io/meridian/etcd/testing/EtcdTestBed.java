package io.meridian.etcd.testing;

import io.meridian.etcd.EtcdClient;
import io.meridian.etcd.EtcdOptions;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real etcd, a Vert.x instance and a client connected to it: what every etcd test starts with and stops. */
public record EtcdTestBed(EtcdServer etcd, Vertx vertx, EtcdClient client) implements AutoCloseable {

  public static EtcdTestBed start(Path dir, Duration requestTimeout) throws Exception {
    EtcdServer etcd = EtcdServer.start(dir);
    Vertx vertx = Vertx.vertx();
    return new EtcdTestBed(etcd, vertx,
        EtcdClient.connect(vertx, EtcdOptions.of(List.of(etcd.endpoint())).withRequestTimeout(requestTimeout)));
  }

  @Override
  public void close() throws Exception {
    client.close();
    vertx.close().await(10, TimeUnit.SECONDS);
    etcd.close();
  }
}
