package io.meridian.proxy;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** Sends raw bytes over a socket and reads until the server closes or goes quiet: for malformed requests. */
final class RawHttp {
  private RawHttp() {}

  /** Everything the server sent, and whether it closed the connection within the wait. */
  record Result(String text, boolean closed) {
    String statusLine() {
      int eol = text.indexOf("\r\n");
      return eol < 0 ? text : text.substring(0, eol);
    }
  }

  static Result exchange(int port, String request, int quietMillis) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(quietMillis);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      boolean closed = false;
      try {
        int n;
        while ((n = in.read(buf)) >= 0) {
          got.write(buf, 0, n);
        }
        closed = true;
      } catch (SocketTimeoutException quiet) {
        closed = false;
      } catch (java.net.SocketException reset) {
        closed = true;
      }
      return new Result(got.toString(StandardCharsets.ISO_8859_1), closed);
    }
  }
}
