package dev.jmoco.backend.cpu;

import dev.jmoco.backend.PoolShape;

/** Max pooling and global average pooling (see Backend). */
final class CpuPooling {
    private final Parallel parallel;

    CpuPooling(Parallel parallel) { this.parallel = parallel; }

    void maxPool(PoolShape s, CpuBuffer x, CpuBuffer y, CpuBuffer argmax) { throw new UnsupportedOperationException("not implemented yet"); }
    void maxPoolBackward(PoolShape s, CpuBuffer dy, CpuBuffer argmax, CpuBuffer dx) { throw new UnsupportedOperationException("not implemented yet"); }
    /** planes = n * c. */
    void globalAvgPool(int planes, int hw, CpuBuffer x, CpuBuffer y) { throw new UnsupportedOperationException("not implemented yet"); }
    void globalAvgPoolBackward(int planes, int hw, CpuBuffer dy, CpuBuffer dx) { throw new UnsupportedOperationException("not implemented yet"); }
}
