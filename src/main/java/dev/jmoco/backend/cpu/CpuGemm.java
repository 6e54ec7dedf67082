package dev.jmoco.backend.cpu;

import java.util.Locale;

/**
 * Single-precision GEMM on the CPU (see Backend#gemm for the contract). Chooses once, at construction, between
 * the system OpenBLAS (bound through the foreign function API, when it loads) and the pure-Java blocked GEMM,
 * whose micro-kernel uses the Vector API when the module jdk.incubator.vector is present and plain Java
 * otherwise. The system property {@code jmoco.cpu.gemm} forces a path: {@code auto} (default), {@code java},
 * {@code openblas} (falls back to Java when the library is absent), or {@code plain} (Java without the Vector
 * API, for tests). {@link #implementation()} says which path is active.
 */
final class CpuGemm {
    /**
     * In auto mode, products below this many multiply-adds stay in Java: measured here, OpenBLAS only pulls ahead
     * of the Vector API kernel once its threads have enough work to amortise the call and wake-up.
     */
    static final long OPENBLAS_MIN_MACS = 1L << 21;

    private final Parallel parallel;
    private final CpuGemmBlocked java;
    private final CpuBlasOpenBlas blas;
    private final boolean auto;

    CpuGemm(Parallel parallel) { this(parallel, System.getProperty("jmoco.cpu.gemm", "auto")); }

    /** A GEMM forced onto {@code mode} (auto, java, openblas or plain; see the class comment). */
    CpuGemm(Parallel parallel, String mode) {
        this.parallel = parallel;
        String m = mode.toLowerCase(Locale.ROOT);
        if (!m.equals("auto") && !m.equals("java") && !m.equals("openblas") && !m.equals("plain"))
            throw new IllegalArgumentException("jmoco.cpu.gemm must be auto, java, openblas or plain, got " + mode);
        boolean vector = !m.equals("plain") && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        this.java = new CpuGemmBlocked(vector ? CpuGemmVectorKernel.create() : new CpuGemmScalarKernel());
        this.blas = m.equals("auto") || m.equals("openblas") ? CpuBlasOpenBlas.load() : null;
        this.auto = m.equals("auto");
    }

    /** The active path, e.g. "vector-api (512-bit)" or "openblas (...) + vector-api (512-bit) below 2^21 MACs". */
    String implementation() {
        if (blas == null) return java.name();
        if (!auto) return blas.description();
        return blas.description() + " + " + java.name() + " below 2^"
                + Long.numberOfTrailingZeros(OPENBLAS_MIN_MACS) + " multiply-adds";
    }

    /** Whether OpenBLAS is bound (for tests and reports). */
    boolean usesOpenBlas() { return blas != null; }

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

    /** The parallel GEMM on raw arrays and offsets. */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int ao, float[] b, int bo,
              float beta, float[] c, int co) {
        if (blas != null && (!auto || (long) m * n * k >= OPENBLAS_MIN_MACS))
            blas.gemm(transA, transB, m, n, k, alpha, a, ao, b, bo, beta, c, co);
        else
            java.gemm(transA, transB, m, n, k, alpha, a, ao, b, bo, beta, c, co, parallel);
    }

    /**
     * The serial GEMM on raw arrays and offsets. Always Java: OpenBLAS would spread the call over its own threads
     * and oversubscribe the cores that the caller already keeps busy.
     */
    void gemmSerial(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int ao, float[] b,
                    int bo, float beta, float[] c, int co) {
        java.gemm(transA, transB, m, n, k, alpha, a, ao, b, bo, beta, c, co, null);
    }
}
