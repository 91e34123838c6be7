package io.meridian.geodns.impl;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;

/**
 * {@link LibcBinding} on the final foreign function API ({@code java.lang.foreign}, Java 22+). Compiled with
 * {@code --release 22} from {@code src/main/java22}, so it is only loaded on Java 22+ ({@link LibcBinding} checks).
 *
 * <p>Needs native access for the unnamed module ({@code --enable-native-access=ALL-UNNAMED}, which
 * {@code ./meridian} passes on Java 22+). Without it the JDK would still link but print a restricted-method
 * warning on stderr (and a later JDK may refuse); instead this binding refuses, and UDP falls back to epoll with a
 * log line that names the flag.
 */
@SuppressWarnings("restricted") // the linker calls are restricted methods: that is what the native-access check is for
final class ForeignLibc extends LibcBinding {
  private static final Linker LINKER = Linker.nativeLinker();
  /**
   * errno as the call left it: the JVM may run code that sets errno between a downcall and the next one, so the
   * final API captures it inside the call (an option the incubator API did not have).
   */
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final long ERRNO = CALL_STATE.byteOffset(MemoryLayout.PathElement.groupElement("errno"));
  /** Per thread: calls that keep errno are the cold ones (socket set-up), on whatever thread binds. */
  private static final ThreadLocal<MemorySegment> STATE =
      ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));
  private static final MethodHandle STATE_OF_THIS_THREAD;

  static {
    try {
      STATE_OF_THIS_THREAD = MethodHandles.lookup().findStatic(ForeignLibc.class, "stateOfThisThread",
          MethodType.methodType(MemorySegment.class));
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  ForeignLibc() {
    if (!ForeignLibc.class.getModule().isNativeAccessEnabled()) {
      throw new IllegalCallerException("the JVM was not started with --enable-native-access=ALL-UNNAMED");
    }
  }

  /** JAVA_LONG for pointers: see {@link LibcBinding} (ADDRESS would take a MemorySegment object per call). */
  private static MemoryLayout layout(Class<?> c) {
    return c == int.class ? ValueLayout.JAVA_INT : ValueLayout.JAVA_LONG;
  }

  private static MemorySegment stateOfThisThread() {
    return STATE.get();
  }

  @Override
  MethodHandle downcall(String name, boolean errno, Class<?> result, Class<?>... args) {
    MemorySegment symbol = LINKER.defaultLookup().find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    MemoryLayout[] layouts = new MemoryLayout[args.length];
    for (int i = 0; i < args.length; i++) {
      layouts[i] = layout(args[i]);
    }
    FunctionDescriptor fd = FunctionDescriptor.of(layout(result), layouts);
    if (!errno) {
      return LINKER.downcallHandle(symbol, fd);
    }
    // (state, args...) -> result, with this thread's state segment filled in: (args...) -> result
    MethodHandle capturing = LINKER.downcallHandle(symbol, fd, Linker.Option.captureCallState("errno"));
    return MethodHandles.foldArguments(capturing, STATE_OF_THIS_THREAD);
  }

  @Override
  int errno() {
    return STATE.get().get(ValueLayout.JAVA_INT, ERRNO);
  }

  @Override
  long address(ByteBuffer direct) {
    return MemorySegment.ofBuffer(direct).address();
  }

  @Override
  String api() {
    return "java.lang.foreign (Java " + Runtime.version().feature() + ")";
  }
}
