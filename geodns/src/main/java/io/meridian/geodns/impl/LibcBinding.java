package io.meridian.geodns.impl;

import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;

/**
 * How {@link NativeUdpListener} reaches libc on this JVM: one shape on every JDK, so the listener's code is one.
 * A binding turns a libc function into a downcall {@link MethodHandle} whose parameters and result are only
 * {@code int} and {@code long}, a pointer being passed as a {@code long} (the raw address of a direct buffer).
 * On LP64 Linux (x86_64, aarch64) a pointer and a {@code long} travel in the same register, so the call is the
 * same machine call; and the hot loop then creates no address object per system call on any JDK.
 *
 * <p>Two bindings, each a few dozen lines: {@link IncubatorLibc} ({@code jdk.incubator.foreign}, Java 17 only:
 * that incubator API changed in every later release) and {@code ForeignLibc} ({@code java.lang.foreign}, final
 * since Java 22; in {@code src/main/java22}, compiled with {@code --release 22} when the build has a JDK 22+).
 * Java 18 to 21 have neither in a usable form and serve UDP on Netty's epoll channel.
 */
abstract class LibcBinding {
  /** This JVM's binding, or the reason there is none (a String), decided once. */
  private static final Object THIS_JVM = load();

  /**
   * A downcall to libc's {@code name}. {@code errno}: the caller reads {@link #errno()} after a failed call, so
   * the binding must keep errno from that call (the hot calls pass false: they never read it).
   */
  abstract MethodHandle downcall(String name, boolean errno, Class<?> result, Class<?>... args);

  /** errno of the last failed call on this thread made through a handle created with {@code errno = true}. */
  abstract int errno();

  /** The native address of a direct buffer. */
  abstract long address(ByteBuffer direct);

  /** The Java API the calls go through, for the log line. */
  abstract String api();

  /** Null when the native listener can run on this JVM, else why not (for the log line). */
  static String unavailableReason() {
    return THIS_JVM instanceof String why ? why : null;
  }

  /** This JVM's binding; only after {@link #unavailableReason()} returned null. */
  static LibcBinding get() {
    if (THIS_JVM instanceof LibcBinding b) {
      return b;
    }
    throw new IllegalStateException("no native UDP binding: " + THIS_JVM);
  }

  private static Object load() {
    String os = System.getProperty("os.name", "");
    String arch = System.getProperty("os.arch", "");
    if (!os.equals("Linux") || !(arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"))) {
      return "needs Linux on x86_64 or aarch64, this is " + os + "/" + arch;
    }
    int feature = Runtime.version().feature();
    String binding;
    if (feature >= 22) {
      binding = "io.meridian.geodns.impl.ForeignLibc";
    } else if (feature == 17) {
      if (ModuleLayer.boot().findModule("jdk.incubator.foreign").isEmpty()) {
        return "the JVM was not started with --add-modules jdk.incubator.foreign (Java 17)";
      }
      binding = "io.meridian.geodns.impl.IncubatorLibc";
    } else {
      return "needs Java 17 or 22+, this is Java " + feature;
    }
    // by name: each binding links against an API that exists only on its JDKs, so it must not be loaded elsewhere
    try {
      LibcBinding b = (LibcBinding) Class.forName(binding).getDeclaredConstructor().newInstance();
      b.downcall("sendmmsg", false, int.class, int.class, long.class, int.class, int.class);
      return b;
    } catch (ClassNotFoundException e) {
      return "this build has no " + (feature >= 22 ? "Java 22+" : "Java 17") + " binding (" + binding
          + " was not compiled: build with a JDK 22+ available, see README)";
    } catch (java.lang.reflect.InvocationTargetException e) {
      return e.getCause() instanceof IllegalCallerException
          ? "the JVM was not started with --enable-native-access=ALL-UNNAMED" : String.valueOf(e.getCause());
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      return e.toString();
    }
  }
}
