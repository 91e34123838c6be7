package io.meridian.geodns.impl;

import io.meridian.config.DnsConfig;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * A set of client networks (CIDRs) to test source addresses against: who may ask for explanations
 * ({@code dns.explain}). A linear walk: the lists are short and the check runs only for explain names.
 */
final class ClientNetworks {
  static final ClientNetworks NONE = new ClientNetworks(List.of(), false);
  static final ClientNetworks ALL = new ClientNetworks(List.of(), true);

  private record Network(byte[] address, int prefix) {}

  private final List<Network> networks;
  private final boolean all;

  private ClientNetworks(List<Network> networks, boolean all) {
    this.networks = networks;
    this.all = all;
  }

  static ClientNetworks of(DnsConfig.ExplainAccess access) {
    return switch (access.mode()) {
      case OFF -> NONE;
      case ON -> ALL;
      case NETWORKS -> of(access.networks());
    };
  }

  /** CIDRs already validated by the config loader. */
  static ClientNetworks of(List<String> cidrs) {
    List<Network> out = new ArrayList<>();
    for (String c : cidrs) {
      int slash = c.indexOf('/');
      try {
        byte[] a = InetAddress.getByName(c.substring(0, slash)).getAddress(); // a literal: no lookup
        int prefix = Integer.parseInt(c.substring(slash + 1));
        out.add(new Network(ClientAddress.truncate(a, prefix), prefix));
      } catch (UnknownHostException | RuntimeException e) {
        throw new IllegalArgumentException("network: " + c + " (expected: a CIDR like 10.0.0.0/8)", e);
      }
    }
    return new ClientNetworks(List.copyOf(out), false);
  }

  /** Whether {@code address} (4 or 16 bytes; IPv4-mapped IPv6 arrives as 4) is inside one of the networks. */
  boolean contains(byte[] address) {
    if (all) {
      return true;
    }
    for (Network n : networks) {
      if (n.address.length == address.length
          && java.util.Arrays.equals(n.address, ClientAddress.truncate(address, n.prefix))) {
        return true;
      }
    }
    return false;
  }

  boolean isOff() {
    return !all && networks.isEmpty();
  }
}
