package dev.jmoco.backend.gpu;

import dev.jmoco.backend.PoolShape;

/**
 * Max pooling and global average pooling on an OpenCL or CUDA device (see Backend); kernels in kernels/pooling.cl.
 * The backward passes are gathers (one work-item per dx value), so they need no atomics and are deterministic.
 */
public final class PoolingKernels {
    /** Work-group size of the max-pool kernels (one work-item per value). */
    private static final int LOCAL = 256;

    private final KernelRuntime rt;

    public PoolingKernels(KernelRuntime rt) { this.rt = rt; }

    public void maxPool(PoolShape s, DeviceBuffer x, DeviceBuffer y, DeviceBuffer argmax) {
        rt.launch("pool_max_fwd").arg(x).arg(y).arg(argmax).arg(Math.toIntExact(s.outputSize()))
                .arg(s.h()).arg(s.w()).arg(s.p()).arg(s.q()).arg(s.window()).arg(s.stride()).arg(s.pad())
                .run(s.outputSize(), LOCAL);
    }

    public void maxPoolBackward(PoolShape s, DeviceBuffer dy, DeviceBuffer argmax, DeviceBuffer dx) {
        rt.launch("pool_max_bwd").arg(dy).arg(argmax).arg(dx).arg(Math.toIntExact(s.inputSize()))
                .arg(s.h()).arg(s.w()).arg(s.p()).arg(s.q()).arg(s.window()).arg(s.stride()).arg(s.pad())
                .run(s.inputSize(), LOCAL);
    }

    public void globalAvgPool(int n, int c, int hw, DeviceBuffer x, DeviceBuffer y) {
        PlaneLayout.run(rt.launch("pool_avg_fwd").arg(x).arg(y).arg(n * c).arg(hw), (long) n * c,
                PlaneLayout.reductionLanes(hw));
    }

    public void globalAvgPoolBackward(int n, int c, int hw, DeviceBuffer dy, DeviceBuffer dx) {
        PlaneLayout.run(rt.launch("pool_avg_bwd").arg(dy).arg(dx).arg(n * c).arg(hw), (long) n * c,
                PlaneLayout.elementwiseLanes(hw));
    }
}
