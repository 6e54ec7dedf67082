package dev.jmoco.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * cblas_sgemm of the system OpenBLAS, bound through the foreign function API, as a {@link CpuGemm.Engine}: it
 * computes one rectangle of C per call, on the calling thread (OpenBLAS is set to one thread at load; CpuGemm
 * spreads the rectangles over its own threads), or, for the large GEMMs CpuGemm hands it whole,
 * {@link #threaded} on OpenBLAS's own threads. The downcall is "critical" with heap access, so the float[]
 * behind a CpuBuffer is handed to OpenBLAS in place, without a copy.
 */
final class CpuBlasOpenBlas implements CpuGemm.Engine {
    private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;
    /** Debian's pthread build first (its folder is not on the default search path), then the loader's choice. */
    private static final List<String> CANDIDATES = List.of(
            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "libopenblas.so.0");

    private final MethodHandle sgemm;
    private final MethodHandle setThreads;
    private final String description;

    private CpuBlasOpenBlas(MethodHandle sgemm, MethodHandle setThreads, String description) {
        this.sgemm = sgemm;
        this.setThreads = setThreads;
        this.description = description;
    }

    /** The binding, or null when no OpenBLAS can be loaded (or native access is denied). */
    static CpuBlasOpenBlas load() {
        for (String name : CANDIDATES) {
            if (name.startsWith("/") && !Files.isReadable(Path.of(name))) continue;
            try {
                SymbolLookup lib = SymbolLookup.libraryLookup(name, Arena.global());
                MemorySegment fn = lib.find("cblas_sgemm").orElse(null);
                if (fn == null) continue;
                Linker linker = Linker.nativeLinker();
                var I = ValueLayout.JAVA_INT;
                var F = ValueLayout.JAVA_FLOAT;
                var P = ValueLayout.ADDRESS;
                MethodHandle h = linker.downcallHandle(fn,
                        FunctionDescriptor.ofVoid(I, I, I, I, I, I, F, P, I, P, I, F, P, I),
                        Linker.Option.critical(true));
                MemorySegment setThreads = lib.find("openblas_set_num_threads").orElse(null);
                if (setThreads == null) continue; // not OpenBLAS: its threads could not be kept off our cores
                MethodHandle threads = linker.downcallHandle(setThreads, FunctionDescriptor.ofVoid(I));
                threads.invokeExact(1);
                return new CpuBlasOpenBlas(h, threads, "openblas" + config(lib, linker));
            } catch (Throwable e) { // not loadable here (missing file, native access denied): try the next
                if (e instanceof Error && !(e instanceof LinkageError)) throw (Error) e;
            }
        }
        return null;
    }

    /** " (OpenBLAS 0.3.21 ... Cooperlake ...)" from openblas_get_config, or "" when absent. */
    private static String config(SymbolLookup lib, Linker linker) {
        return lib.find("openblas_get_config").map(fn -> {
            try {
                MethodHandle h = linker.downcallHandle(fn, FunctionDescriptor.of(ValueLayout.ADDRESS));
                MemorySegment s = (MemorySegment) h.invokeExact();
                return " (" + s.reinterpret(256).getString(0) + ")";
            } catch (Throwable t) {
                return "";
            }
        }).orElse("");
    }

    String description() { return description; }

    /**
     * The whole GEMM on {@code threads} of OpenBLAS's own threads, which share one packed copy of each panel
     * (under CpuGemm's split every thread packs B for itself). Back to one thread afterwards, so that serial
     * calls from our own threads never fan out. Synchronized: the thread count is a global of the library.
     */
    synchronized void threaded(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int ao,
                               float[] b, int bo, float beta, float[] c, int co, int threads) {
        try {
            setThreads.invokeExact(threads);
            try {
                block(ta, tb, m, n, k, alpha, a, ao, b, bo, beta, c, co, 0, m, 0, n);
            } finally {
                setThreads.invokeExact(1);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_set_num_threads failed", t);
        }
    }

    @Override
    public void block(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int ao, float[] b, int bo,
                      float beta, float[] c, int co, int r0, int r1, int c0, int c1) {
        // The rectangle is a GEMM of its own on sub-matrices, with the full matrices' leading dimensions.
        long aStart = ao + (ta ? r0 : (long) r0 * k), bStart = bo + (tb ? (long) c0 * k : c0);
        MemorySegment sa = MemorySegment.ofArray(a).asSlice(4L * aStart);
        MemorySegment sb = MemorySegment.ofArray(b).asSlice(4L * bStart);
        MemorySegment sc = MemorySegment.ofArray(c).asSlice(4L * (co + (long) r0 * n + c0));
        try {
            sgemm.invokeExact(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, r1 - r0, c1 - c0, k, alpha,
                    sa, ta ? m : k, sb, tb ? k : n, beta, sc, n);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm failed", t);
        }
    }
}
