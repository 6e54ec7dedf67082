package dev.jmoco.backend.cpu;

import dev.jmoco.backend.ConvShape;

/** Convolution forward and both backward passes (see Backend#conv2d). */
final class CpuConv {
    private final CpuBackend backend;
    private final Parallel parallel;
    private final CpuGemm gemm;

    CpuConv(CpuBackend backend, Parallel parallel, CpuGemm gemm) {
        this.backend = backend; this.parallel = parallel; this.gemm = gemm;
    }

    void forward(ConvShape s, CpuBuffer x, CpuBuffer w, CpuBuffer y) { throw new UnsupportedOperationException("not implemented yet"); }
    void backwardData(ConvShape s, CpuBuffer dy, CpuBuffer w, CpuBuffer dx) { throw new UnsupportedOperationException("not implemented yet"); }
    void backwardFilter(ConvShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer dw) { throw new UnsupportedOperationException("not implemented yet"); }
}
