package dev.jmoco.backend.cpu;

/** Row-wise ops: L2 normalisation, gather and scatter by index (see Backend). */
final class CpuRows {
    private final Parallel parallel;

    CpuRows(Parallel parallel) { this.parallel = parallel; }

    void l2Normalize(int rows, int cols, CpuBuffer x, CpuBuffer y, CpuBuffer norms) { throw new UnsupportedOperationException("not implemented yet"); }
    void l2NormalizeBackward(int rows, int cols, CpuBuffer y, CpuBuffer norms, CpuBuffer dy, CpuBuffer dx) { throw new UnsupportedOperationException("not implemented yet"); }
    void gather(int cols, CpuBuffer src, int[] index, CpuBuffer dst) { throw new UnsupportedOperationException("not implemented yet"); }
    void scatter(int cols, CpuBuffer src, int[] index, CpuBuffer dst, boolean accumulate) { throw new UnsupportedOperationException("not implemented yet"); }
}
