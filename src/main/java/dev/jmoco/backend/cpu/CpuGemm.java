package dev.jmoco.backend.cpu;

/** Single-precision GEMM on the CPU (see Backend#gemm for the contract). */
final class CpuGemm {
    private final Parallel parallel;

    CpuGemm(Parallel parallel) { this.parallel = parallel; }

    String implementation() { return "naive"; }

    /** GEMM spread over all cores. */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, CpuBuffer a, CpuBuffer b,
              float beta, CpuBuffer c) {
        parallel.forRange(m, 1, (r0, r1) -> rows(transA, transB, r0, r1, m, n, k, alpha, a, b, beta, c));
    }

    /** GEMM on the calling thread only, for kernels that already parallelise at a coarser level. */
    void gemmSerial(boolean transA, boolean transB, int m, int n, int k, float alpha, CpuBuffer a, CpuBuffer b,
                    float beta, CpuBuffer c) {
        rows(transA, transB, 0, m, m, n, k, alpha, a, b, beta, c);
    }

    // Placeholder reference: rows [r0, r1) of C.
    private static void rows(boolean ta, boolean tb, int r0, int r1, int m, int n, int k, float alpha,
                             CpuBuffer a, CpuBuffer b, float beta, CpuBuffer c) {
        float[] A = a.array, B = b.array, C = c.array;
        for (int i = r0; i < r1; i++)
            for (int j = 0; j < n; j++) {
                float s = 0;
                for (int p = 0; p < k; p++) {
                    float av = ta ? A[a.offset + p * m + i] : A[a.offset + i * k + p];
                    float bv = tb ? B[b.offset + j * k + p] : B[b.offset + p * n + j];
                    s += av * bv;
                }
                int ci = c.offset + i * n + j;
                C[ci] = beta == 0 ? alpha * s : alpha * s + beta * C[ci];
            }
    }
}
