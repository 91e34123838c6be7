package io.meridian.geodns.impl;

import io.meridian.config.DnsConfig;
import io.meridian.config.MeridianConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.Master;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;

/**
 * Builds zones from the config and zone files (RFC 1035 §5 master format, read by dnsjava's {@link Master}).
 * Blocking file IO: callers run it on a worker thread, never on an event loop.
 */
final class ZoneLoader {
  /** Negative-caching TTL of synthesised SOAs (RFC 2308 §5): short, since geo names come and go with config. */
  static final long SYNTHESISED_NEGATIVE_TTL = 30;

  private ZoneLoader() {}

  /** A zone that could not be loaded: the message names the file and line where dnsjava could tell. */
  static final class ZoneLoadException extends Exception {
    ZoneLoadException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  static ZoneData load(DnsConfig dns, DnsConfig.ZoneConfig zone, MeridianConfig config) throws ZoneLoadException {
    Name origin = Name.fromConstantString(zone.origin());
    List<GeoNameSpec> geo = GeoNames.build(dns, zone, config);
    List<Record> records;
    String source;
    if (zone.file() == null) {
      records = ZoneData.synthesisedApex(origin, SYNTHESISED_NEGATIVE_TTL);
      source = "synthesised";
    } else {
      records = readFile(zone.file(), origin);
      source = zone.file().toString();
    }
    ZoneData.Signing signing = null;
    if (zone.dnssec() != null) {
      List<io.meridian.geodns.DnssecKeyFile> keys = new ArrayList<>();
      for (Path k : zone.dnssec().keys()) {
        try {
          keys.add(io.meridian.geodns.DnssecKeyFile.read(k, origin));
        } catch (io.meridian.geodns.DnssecKeyFile.KeyFileException e) {
          throw new ZoneLoadException("dnssec key: " + e.getMessage(), e);
        }
      }
      signing = new ZoneData.Signing(keys, zone.dnssec().signatureValidity());
    }
    try {
      return ZoneData.of(origin, records, geo, source, signing);
    } catch (IllegalArgumentException | IllegalStateException e) { // IllegalState: a key that cannot sign
      throw new ZoneLoadException(source + ": " + e.getMessage(), e);
    }
  }

  static List<Record> readFile(Path file, Name origin) throws ZoneLoadException {
    List<Record> out = new ArrayList<>();
    try (Master m = new Master(file.toString(), origin, 3600)) {
      m.disableIncludes(); // a zone file must not read arbitrary files on the server
      Record r;
      while ((r = m.nextRecord()) != null) {
        out.add(r);
      }
    } catch (TextParseException e) {
      // dnsjava's tokenizer messages already read "file:line: problem"
      throw new ZoneLoadException(e.getMessage(), e);
    } catch (IOException e) {
      throw new ZoneLoadException(file + ": cannot read zone file: " + e.getMessage(), e);
    }
    return out;
  }
}
