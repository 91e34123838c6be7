package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The server cookie is RFC 9018's, bit for bit (its Appendix A examples), so instances and other servers sharing the
 * secret accept each other's cookies; and the verdicts of RFC 7873 §5.2 / RFC 9018 §4.3: lifetime, renewal,
 * rollover.
 */
class ServerCookiesTest {
  static final HexFormat HEX = HexFormat.of();
  static final ServerCookies.Secret RFC = ServerCookies.Secret.parse("e5e973e5a6b2a43f48e7dc849e37bfcf");

  static Stream<Arguments> appendixA() {
    return Stream.of(
        Arguments.of("2464c4abcf10c957", "198.51.100.100", 1559731985L, "010000005cf79f111f8130c3eee29480"),
        Arguments.of("2464c4abcf10c957", "198.51.100.100", 1559734385L, "010000005cf7a871d4a564a1442aca77"),
        Arguments.of("fc93fc62807ddb86", "203.0.113.203", 1559734700L, "010000005cf7a9acf73a7810aca2381e"));
  }

  @ParameterizedTest
  @MethodSource("appendixA")
  void freshCookiesAreThoseOfRfc9018AppendixA(String client, String ip, long now, String expected) throws Exception {
    byte[] w = HEX.parseHex(client);
    byte[] out = new byte[16];
    ServerCookies.Verdict v = new ServerCookies(RFC, null).respond(w, 0, 8, 0,
        InetAddress.getByName(ip).getAddress(), now, out, 0);
    assertEquals(ServerCookies.Verdict.CLIENT_ONLY, v);
    assertEquals(expected, HEX.formatHex(out));
  }

  static byte[] query(String client, String server) {
    return HEX.parseHex(client + server);
  }

  @Test
  void validYoungCookiesAreEchoedOldOnesRenewedExpiredOnesRefused() throws Exception {
    ServerCookies c = new ServerCookies(RFC, null);
    byte[] ip = InetAddress.getByName("198.51.100.100").getAddress();
    byte[] w = query("2464c4abcf10c957", "010000005cf79f111f8130c3eee29480"); // made at 1559731985
    byte[] out = new byte[16];
    assertEquals(ServerCookies.Verdict.VALID, c.respond(w, 0, 8, 16, ip, 1559731985L + 60, out, 0));
    assertEquals("010000005cf79f111f8130c3eee29480", HEX.formatHex(out), "young: echoed");
    // Appendix A.2: 40 minutes later the same cookie is still valid and answered with a renewed one
    assertEquals(ServerCookies.Verdict.VALID, c.respond(w, 0, 8, 16, ip, 1559734385L, out, 0));
    assertEquals("010000005cf7a871d4a564a1442aca77", HEX.formatHex(out));
    assertEquals(ServerCookies.Verdict.INVALID, c.respond(w, 0, 8, 16, ip, 1559731985L + 3601, out, 0),
        "older than an hour");
    assertEquals(ServerCookies.Verdict.INVALID, c.respond(w, 0, 8, 16, ip, 1559731985L - 301, out, 0),
        "more than 5 minutes in the future");
    byte[] other = InetAddress.getByName("198.51.100.101").getAddress();
    assertEquals(ServerCookies.Verdict.INVALID, c.respond(w, 0, 8, 16, other, 1559731985L, out, 0),
        "another client address");
    byte[] flipped = w.clone();
    flipped[23] ^= 1;
    assertEquals(ServerCookies.Verdict.INVALID, c.respond(flipped, 0, 8, 16, ip, 1559731985L, out, 0));
    byte[] foreign = query("2464c4abcf10c957", "0102030405060708");
    assertEquals(ServerCookies.Verdict.INVALID, c.respond(foreign, 0, 8, 8, ip, 1559731985L, out, 0));
  }

  @Test
  void thePreviousSecretIsStillAcceptedAfterARolloverAndAnsweredWithTheNewOne() throws Exception {
    ServerCookies.Secret next = ServerCookies.Secret.parse("000102030405060708090a0b0c0d0e0f");
    byte[] ip = InetAddress.getByName("198.51.100.100").getAddress();
    byte[] w = query("2464c4abcf10c957", "010000005cf79f111f8130c3eee29480");
    byte[] out = new byte[16];
    assertEquals(ServerCookies.Verdict.VALID, new ServerCookies(next, RFC).respond(w, 0, 8, 16, ip, 1559731985L,
        out, 0));
    byte[] expected = new byte[16];
    new ServerCookies(next, null).respond(w, 0, 8, 0, ip, 1559731985L, expected, 0);
    assertEquals(HEX.formatHex(expected), HEX.formatHex(out), "renewed with the current secret");
    assertEquals(ServerCookies.Verdict.INVALID, new ServerCookies(next, null).respond(w, 0, 8, 16, ip, 1559731985L,
        out, 0), "without the previous secret");
  }

  @Test
  void ipv6ClientsHashTheirSixteenBytes() throws Exception {
    ServerCookies c = new ServerCookies(RFC, null);
    byte[] a = new byte[16];
    byte[] b = new byte[16];
    byte[] w = HEX.parseHex("2464c4abcf10c957");
    c.respond(w, 0, 8, 0, InetAddress.getByName("2001:db8::1").getAddress(), 1559731985L, a, 0);
    c.respond(w, 0, 8, 0, InetAddress.getByName("2001:db8::2").getAddress(), 1559731985L, b, 0);
    assertEquals(false, Arrays.equals(a, b));
    byte[] back = new byte[24];
    System.arraycopy(w, 0, back, 0, 8);
    System.arraycopy(a, 0, back, 8, 16);
    assertEquals(ServerCookies.Verdict.VALID, c.respond(back, 0, 8, 16,
        InetAddress.getByName("2001:db8::1").getAddress(), 1559731985L, b, 0));
  }
}
