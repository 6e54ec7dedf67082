package dev.jmoco.backend.cpu;

/** Elementwise ops: add, bias, ReLU (see Backend). */
final class CpuElementwise {
    private final Parallel parallel;

    CpuElementwise(Parallel parallel) { this.parallel = parallel; }

    void add(float alpha, CpuBuffer x, float beta, CpuBuffer y, CpuBuffer out) { throw new UnsupportedOperationException("not implemented yet"); }
    void addBias(int rows, int cols, CpuBuffer bias, CpuBuffer y) { throw new UnsupportedOperationException("not implemented yet"); }
    void biasBackward(int rows, int cols, CpuBuffer dy, CpuBuffer dbias) { throw new UnsupportedOperationException("not implemented yet"); }
    void relu(CpuBuffer x, CpuBuffer y) { throw new UnsupportedOperationException("not implemented yet"); }
    void reluBackward(CpuBuffer y, CpuBuffer dy, CpuBuffer dx) { throw new UnsupportedOperationException("not implemented yet"); }
}
