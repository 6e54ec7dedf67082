package dev.jmoco.backend.cpu;

import java.util.Locale;

/**
 * Single-precision GEMM on the CPU (see Backend#gemm for the contract). Chooses once, at construction, the
 * engine that computes blocks of C: the system OpenBLAS (bound through the foreign function API, when it
 * loads) or the pure-Java blocked GEMM, whose micro-kernel uses the Vector API when the module
 * jdk.incubator.vector is present and plain Java otherwise. The system property {@code jmoco.cpu.gemm} forces
 * a path: {@code auto} (default: OpenBLAS when found), {@code java}, {@code openblas} (falls back to Java when
 * the library is absent), or {@code plain} (Java without the Vector API, for tests). {@link #implementation()}
 * says which path is active.
 * <p>
 * Threads are this class's job, for both engines: C is cut into one rectangle per thread of {@link Parallel}
 * and each engine computes its rectangle serially (OpenBLAS is set to one thread of its own). So there is one
 * pool of threads on the cores, not two competing ones, and the serial entry point, which convolutions call
 * from their own per-image threads, can use OpenBLAS too. One exception, measured: a GEMM at least 512 in
 * every dimension goes whole to OpenBLAS's own threads (as many as ours), which share each packed panel; at
 * 1024^3 on 2 threads that took 19.0-19.7 ms against 21.1-21.9 ms under the split (numpy 17.3-18.9 ms, the same
 * library). On the skinny shapes of the MoCo heads (256 x 3136 x 128 and its transposes) OpenBLAS's own split
 * was slower (linear backward 6.8-7.8 against 5.1-5.3 ms per step), so they keep ours. After such a call
 * OpenBLAS's idle threads spin for a while (OPENBLAS_THREAD_TIMEOUT sets how long) before they sleep.
 * <p>
 * Why auto picks OpenBLAS: at 1024^3 on 2 threads the two engines were within 5% of each other (Java 181,
 * OpenBLAS 176, numpy 201 GFLOP/s, best of one quiet window), and on the convolution shapes within about 15%
 * either way; below 256^3 OpenBLAS was 1.1-4x faster (per-call overheads weigh more there).
 */
final class CpuGemm {
    /** Below this many multiply-adds a GEMM stays on the calling thread: a fork/join would cost more than it saves. */
    private static final long PARALLEL_MIN_MACS = 1L << 18;
    /** From this size in every dimension up, OpenBLAS runs the whole GEMM on its own threads (class comment). */
    private static final int OPENBLAS_THREADS_MIN_DIM = 512;

    /** Computes rows [r0, r1) x columns [c0, c1) of C = alpha op(A) op(B) + beta C on the calling thread. */
    interface Engine {
        void block(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int ao, float[] b, int bo,
                   float beta, float[] c, int co, int r0, int r1, int c0, int c1);
    }

    private final Parallel parallel;
    private final Engine engine;
    private final String implementation;
    private final CpuBlasOpenBlas openBlas;

    CpuGemm(Parallel parallel) { this(parallel, System.getProperty("jmoco.cpu.gemm", "auto")); }

    /** A GEMM forced onto {@code mode} (auto, java, openblas or plain; see the class comment). */
    CpuGemm(Parallel parallel, String mode) {
        this.parallel = parallel;
        String m = mode.toLowerCase(Locale.ROOT);
        if (!m.equals("auto") && !m.equals("java") && !m.equals("openblas") && !m.equals("plain"))
            throw new IllegalArgumentException("jmoco.cpu.gemm must be auto, java, openblas or plain, got " + mode);
        CpuBlasOpenBlas blas = m.equals("auto") || m.equals("openblas") ? CpuBlasOpenBlas.load() : null;
        if (blas != null) {
            engine = blas;
            implementation = blas.description();
        } else {
            boolean vector = !m.equals("plain") && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
            if (vector) {
                CpuGemmBlocked wide = new CpuGemmBlocked(CpuGemmVectorKernel.create());
                CpuGemmBlocked narrow = new CpuGemmBlocked(CpuGemmVectorKernel.createNarrow());
                int narrowMax = wide.tileColumns() / 2; // below, the 8 x 16 tile wastes less than 4 x 64
                engine = (ta, tb, mm, n, k, alpha, a, ao, b, bo, beta, c, co, r0, r1, c0, c1) ->
                        (c1 - c0 <= narrowMax ? narrow : wide)
                                .block(ta, tb, mm, n, k, alpha, a, ao, b, bo, beta, c, co, r0, r1, c0, c1);
                implementation = wide.name();
            } else {
                CpuGemmBlocked plain = new CpuGemmBlocked(new CpuGemmScalarKernel());
                engine = plain;
                implementation = plain.name();
            }
        }
        openBlas = blas;
    }

    /** The active path, e.g. "vector-api (512-bit)", "plain-java" or "openblas (OpenBLAS 0.3.21 ...)". */
    String implementation() { return implementation; }

    /** Whether OpenBLAS is bound (for tests and reports). */
    boolean usesOpenBlas() { return openBlas != null; }

    /** GEMM spread over all cores. */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, CpuBuffer a, CpuBuffer b,
              float beta, CpuBuffer c) {
        gemm(transA, transB, m, n, k, alpha, a.array, a.offset, b.array, b.offset, beta, c.array, c.offset);
    }

    /** GEMM on the calling thread only, for kernels that already parallelise at a coarser level. */
    void gemmSerial(boolean transA, boolean transB, int m, int n, int k, float alpha, CpuBuffer a, CpuBuffer b,
                    float beta, CpuBuffer c) {
        gemmSerial(transA, transB, m, n, k, alpha, a.array, a.offset, b.array, b.offset, beta, c.array, c.offset);
    }

    /** The serial GEMM on raw arrays and offsets. */
    void gemmSerial(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int ao, float[] b,
                    int bo, float beta, float[] c, int co) {
        engine.block(transA, transB, m, n, k, alpha, a, ao, b, bo, beta, c, co, 0, m, 0, n);
    }

    /**
     * The parallel GEMM on raw arrays and offsets: C is cut into a tm x tn grid of rectangles, one per thread,
     * aligned to the Java kernel's 4 x 64 tiles, choosing the grid that gives the most even shares.
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int ao, float[] b, int bo,
              float beta, float[] c, int co) {
        int threads = parallel.threads();
        if (threads == 1 || (long) m * n * k < PARALLEL_MIN_MACS) {
            gemmSerial(transA, transB, m, n, k, alpha, a, ao, b, bo, beta, c, co);
            return;
        }
        if (openBlas != null && Math.min(m, Math.min(n, k)) >= OPENBLAS_THREADS_MIN_DIM) {
            openBlas.threaded(transA, transB, m, n, k, alpha, a, ao, b, bo, beta, c, co, threads);
            return;
        }
        int mr = 4, nr = 64, mp = ceilDiv(m, mr), np = ceilDiv(n, nr);
        int tm = 1, tn = 1;
        long best = Long.MAX_VALUE;
        for (int i = 1; i <= threads; i++) {
            if (threads % i != 0) continue;
            int j = threads / i;
            long cost = (long) ceilDiv(mp, i) * mr * ceilDiv(np, j) * nr;
            if (cost < best) { best = cost; tm = i; tn = j; }
        }
        int gm = tm, gn = tn;
        parallel.forRange(gm * gn, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int ti = t / gn, tj = t % gn;
                int r0 = Math.min(m, share(mp, ti, gm) * mr), r1 = Math.min(m, share(mp, ti + 1, gm) * mr);
                int c0 = Math.min(n, share(np, tj, gn) * nr), c1 = Math.min(n, share(np, tj + 1, gn) * nr);
                if (r1 > r0 && c1 > c0)
                    engine.block(transA, transB, m, n, k, alpha, a, ao, b, bo, beta, c, co, r0, r1, c0, c1);
            }
        });
    }

    /** Start of part {@code i} of {@code parts} equal parts of {@code total}. */
    private static int share(int total, int i, int parts) { return (int) ((long) total * i / parts); }

    private static int ceilDiv(int x, int y) { return (x + y - 1) / y; }
}
