package dev.jmoco.backend.cpu;

/** Single-precision GEMM on the CPU (see Backend#gemm for the contract). */
final class CpuGemm {
    private final Parallel parallel;

    CpuGemm(Parallel parallel) { this.parallel = parallel; }

    String implementation() { return "stub"; }

    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, CpuBuffer a, CpuBuffer b,
              float beta, CpuBuffer c) { throw new UnsupportedOperationException("not implemented yet"); }
}
