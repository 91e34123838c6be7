package io.meridian.geodns.impl;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;
import jdk.incubator.foreign.CLinker;
import jdk.incubator.foreign.FunctionDescriptor;
import jdk.incubator.foreign.MemoryAccess;
import jdk.incubator.foreign.MemoryAddress;
import jdk.incubator.foreign.MemoryLayout;
import jdk.incubator.foreign.MemorySegment;

/**
 * {@link LibcBinding} on Java 17's incubator foreign linker. Needs the JVM started with {@code --add-modules
 * jdk.incubator.foreign --enable-native-access=ALL-UNNAMED} (what {@code ./meridian} does on Java 17); without
 * the second, the linker throws IllegalCallerException, which {@link LibcBinding} reports.
 */
final class IncubatorLibc extends LibcBinding {
  /** C_LONG for pointers: see {@link LibcBinding} (the incubator API would want a MemoryAddress object per call). */
  private static MemoryLayout layout(Class<?> c) {
    return c == int.class ? CLinker.C_INT : CLinker.C_LONG;
  }

  private final MethodHandle errnoLocation;

  IncubatorLibc() {
    CLinker.getInstance(); // IllegalCallerException without --enable-native-access
    errnoLocation = downcall("__errno_location", false, long.class);
  }

  @Override
  MethodHandle downcall(String name, boolean errno, Class<?> result, Class<?>... args) {
    // a bare address (no segment, no scope): C2 then folds the target to a constant and turns the call into a
    // direct native call (linkToNative). With the lookup's own address, which carries the library's confined
    // scope, it cannot ("NativeEntryPoint not constant" under -XX:+PrintInlining) and every call took the
    // interpreted fallback (ProgrammableInvoker.invokeMoves: boxing, hash lookups), ≈ 8 % of the UDP thread's
    // Java samples. libc stays mapped for the life of the process, so the bare address never dangles.
    MemoryAddress symbol = MemoryAddress.ofLong(CLinker.systemLookup().lookup(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name)).toRawLongValue());
    MemoryLayout[] layouts = new MemoryLayout[args.length];
    for (int i = 0; i < args.length; i++) {
      layouts[i] = layout(args[i]);
    }
    // errno is read through __errno_location right after the call; this API has no way to capture it
    return CLinker.getInstance().downcallHandle(symbol, MethodType.methodType(result, args),
        FunctionDescriptor.of(layout(result), layouts));
  }

  @Override
  int errno() {
    try {
      long at = (long) errnoLocation.invokeExact();
      return MemoryAccess.getIntAtOffset(MemorySegment.globalNativeSegment(), at);
    } catch (Throwable e) {
      return -1;
    }
  }

  @Override
  long address(ByteBuffer direct) {
    return MemorySegment.ofByteBuffer(direct).address().toRawLongValue();
  }

  @Override
  String api() {
    return "jdk.incubator.foreign (Java 17)";
  }
}
