package io.meridian.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoopbackPortsTest {
  @Test
  void portsAreDistinctBindableAndBelowTheEphemeralRange() throws Exception {
    int[] ephemeral = LoopbackPorts.ephemeralRange();
    boolean roomBelow = ephemeral[0] - LoopbackPorts.LOWEST >= 1000;
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      int port = i % 2 == 0 ? LoopbackPorts.tcp() : LoopbackPorts.udpAndTcp();
      assertTrue(seen.add(port), "handed out twice: " + port);
      if (roomBelow) {
        assertTrue(port >= LoopbackPorts.LOWEST && port < ephemeral[0], port + " is not below " + ephemeral[0]);
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
        assertEquals(port, s.getLocalPort());
      }
      if (i % 2 == 1) {
        try (DatagramSocket u = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port))) {
          assertEquals(port, u.getLocalPort());
        }
      }
    }
  }
}
