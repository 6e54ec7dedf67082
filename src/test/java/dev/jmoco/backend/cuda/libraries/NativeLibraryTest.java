package dev.jmoco.backend.cuda.libraries;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.FunctionDescriptor.of;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Loading by soname list, symbol look-up and their one-line messages, against libc (always present). */
class NativeLibraryTest {

    @Test
    void loadsTheFirstLoadableSonameAndCallsIntoIt() throws Throwable {
        NativeLibrary libc = NativeLibrary.load("libc", List.of("libjmoco-no-such-library.so.7", "libc.so.6"));
        assertEquals("libc.so.6", libc.soname());
        MethodHandle strlen = libc.function("strlen", of(JAVA_LONG, ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(12L, (long) strlen.invokeExact(arena.allocateFrom("cuBLAS cuDNN")));
        }
    }

    @Test
    void missingSonamesAreAllNamedOnOneLine() {
        assertEquals("cuDNN not used: libjmoco-a.so.9 not found", message(List.of("libjmoco-a.so.9")));
        assertEquals("cuBLAS not used: neither libjmoco-a.so.13 nor libjmoco-a.so.12 found",
                message(List.of("libjmoco-a.so.13", "libjmoco-a.so.12")));
        assertEquals("X not used: none of libjmoco-a.so.1, libjmoco-b.so.2, libjmoco-c.so.3 found",
                message(List.of("libjmoco-a.so.1", "libjmoco-b.so.2", "libjmoco-c.so.3")));
        assertThrows(IllegalArgumentException.class, () -> NativeLibrary.load("X", List.of()));
    }

    private static String message(List<String> sonames) {
        String what = sonames.size() == 1 ? "cuDNN" : sonames.size() == 2 ? "cuBLAS" : "X";
        String m = assertThrows(CudaLibraryUnavailable.class, () -> NativeLibrary.load(what, sonames)).getMessage();
        assertFalse(m.contains("\n"), m);
        return m;
    }

    @Test
    void missingSymbolIsNamedWithItsLibrary() {
        NativeLibrary libc = NativeLibrary.load("cuDNN", List.of("libc.so.6"));
        CudaLibraryUnavailable e = assertThrows(CudaLibraryUnavailable.class,
                () -> libc.function("cudnnNoSuchFunction", of(JAVA_LONG)));
        assertEquals("cuDNN not used: libc.so.6 has no symbol cudnnNoSuchFunction", e.getMessage());
    }

    @Test
    void cStringReadsUpToTheTerminatorAndNullGivesTheFallback() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocateFrom("CUDNN_STATUS_BAD_PARAM");
            assertEquals("CUDNN_STATUS_BAD_PARAM", NativeLibrary.cString(MemorySegment.ofAddress(s.address()), "?"));
        }
        assertEquals("?", NativeLibrary.cString(MemorySegment.NULL, "?"));
    }
}
