package io.meridian.geodns.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;

/** Bad zone files are rejected with the file and line; semantic errors name the record. Table-driven. */
class ZoneLoaderTest {
  static final Name ORIGIN = Name.fromConstantString("example.test.");
  static final String HEAD = "$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns1 hostmaster 1 3600 600 604800 30\n"
      + "@ IN NS ns1\n";

  record Case(String body, String expectedMessagePart) {}

  static String load(String text) throws Exception {
    Path f = Files.createTempFile("zone", ".zone");
    Files.writeString(f, text);
    ZoneLoader.ZoneLoadException e = assertThrows(ZoneLoader.ZoneLoadException.class, () -> {
      List<Record> records = ZoneLoader.readFile(f, ORIGIN);
      try {
        ZoneData.of(ORIGIN, records, List.of(), f.toString());
      } catch (IllegalArgumentException iae) {
        throw new ZoneLoader.ZoneLoadException(iae.getMessage(), iae);
      }
    });
    return e.getMessage().replace(f.toString(), "FILE").replace(f.getFileName().toString(), "FILE");
  }

  @Test
  void badFilesAreRejectedWithLocation() throws Exception {
    List<Case> cases = List.of(
        new Case(HEAD + "www IN A 300.1.1.1\n", "FILE:5"),
        new Case(HEAD + "www IN BOGUS x\n", "FILE:5"),
        new Case(HEAD + "\n\nwww IN MX not-a-number mail\n", "FILE:7"),
        new Case("$ORIGIN example.test.\n$TTL 60\n@ IN NS ns1\n", "no SOA record at its apex"),
        new Case("$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns1 hostmaster 1 3600 600 604800 30\n",
            "no NS records at its apex"),
        new Case(HEAD + "a IN CNAME b\na IN A 192.0.2.1\n", "a CNAME and other records"),
        new Case(HEAD + "www.other.test. IN A 192.0.2.1\n", "outside the zone"));
    for (Case c : cases) {
      String msg = load(c.body());
      assertTrue(msg.contains(c.expectedMessagePart()), "expected '" + c.expectedMessagePart() + "' in: " + msg);
    }
  }

  @Test
  void goodFileLoads() throws Exception {
    Path f = Files.createTempFile("zone", ".zone");
    Files.writeString(f, HEAD + "www IN A 192.0.2.1\n");
    ZoneData z = ZoneData.of(ORIGIN, ZoneLoader.readFile(f, ORIGIN), List.of(), f.toString());
    assertEquals(30, z.negativeSoa().getTTL());
    assertTrue(z.node(Name.fromConstantString("www.example.test.")) != null);
  }
}
