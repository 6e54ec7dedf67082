package dev.jmoco.backend.opencl;

import dev.jmoco.backend.PoolShape;

/**
 * Max pooling and global average pooling on an OpenCL device (see Backend); kernels in kernels/pooling.cl.
 * The backward passes are gathers (one work-item per dx value), so they need no atomics and are deterministic.
 */
final class ClPooling {
    /** Work-group size of the max-pool kernels (one work-item per value). */
    private static final int LOCAL = 256;

    private final OpenClBackend cl;

    ClPooling(OpenClBackend cl) { this.cl = cl; }

    void maxPool(PoolShape s, ClBuffer x, ClBuffer y, ClBuffer argmax) {
        cl.launch("pool_max_fwd").arg(x).arg(y).arg(argmax).arg(Math.toIntExact(s.outputSize()))
                .arg(s.h()).arg(s.w()).arg(s.p()).arg(s.q()).arg(s.window()).arg(s.stride()).arg(s.pad())
                .run(s.outputSize(), LOCAL);
    }

    void maxPoolBackward(PoolShape s, ClBuffer dy, ClBuffer argmax, ClBuffer dx) {
        cl.launch("pool_max_bwd").arg(dy).arg(argmax).arg(dx).arg(Math.toIntExact(s.inputSize()))
                .arg(s.h()).arg(s.w()).arg(s.p()).arg(s.q()).arg(s.window()).arg(s.stride()).arg(s.pad())
                .run(s.inputSize(), LOCAL);
    }

    void globalAvgPool(int n, int c, int hw, ClBuffer x, ClBuffer y) {
        ClPlanes.run(cl.launch("pool_avg_fwd").arg(x).arg(y).arg(n * c).arg(hw), (long) n * c,
                ClPlanes.reductionLanes(hw));
    }

    void globalAvgPoolBackward(int n, int c, int hw, ClBuffer dy, ClBuffer dx) {
        ClPlanes.run(cl.launch("pool_avg_bwd").arg(dy).arg(dx).arg(n * c).arg(hw), (long) n * c,
                ClPlanes.elementwiseLanes(hw));
    }
}
