package dev.jmoco.backend.cpu;

/** The fused losses: softmax cross-entropy and MoCo's InfoNCE (see Backend). */
final class CpuLosses {
    private final CpuBackend backend;
    private final Parallel parallel;
    private final CpuGemm gemm;

    CpuLosses(CpuBackend backend, Parallel parallel, CpuGemm gemm) {
        this.backend = backend; this.parallel = parallel; this.gemm = gemm;
    }

    void softmaxCrossEntropy(int rows, int cols, CpuBuffer logits, int[] labels, float gradScale, CpuBuffer stats,
                             CpuBuffer dlogits) { throw new UnsupportedOperationException("not implemented yet"); }
    void infoNce(int n, int c, int kq, float t, CpuBuffer q, CpuBuffer k, CpuBuffer queue, float gradScale,
                 CpuBuffer stats, CpuBuffer dq, CpuBuffer dk) { throw new UnsupportedOperationException("not implemented yet"); }
}
