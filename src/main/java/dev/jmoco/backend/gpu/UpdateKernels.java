package dev.jmoco.backend.gpu;

import static dev.jmoco.backend.gpu.ElementwiseKernels.count;

/** The MoCo state updates (EMA, queue enqueue, SGD) on an OpenCL or CUDA device; kernels in kernels/updates.cl. */
public final class UpdateKernels {
    private final KernelRuntime rt;
    private final int group;

    public UpdateKernels(KernelRuntime rt) {
        this.rt = rt;
        this.group = (int) Math.min(ElementwiseKernels.GROUP, rt.maxWorkGroupSize());
    }

    /** float4 loads when both views are equally aligned modulo 16 bytes (always, for views of one arena). */
    public void ema(float m, DeviceBuffer target, DeviceBuffer source) {
        int n = count(target);
        count(source);
        float om = 1 - m;
        if ((target.offset() & 3) == (source.offset() & 3)) {
            int head = (int) Math.min(n, (4 - (target.offset() & 3)) & 3);
            int nvec = (n - head) / 4;
            int scalars = n - 4 * nvec;
            rt.launch("upd_ema4").arg(m).arg(om).arg(target).arg(source).arg(n).run(Math.max(nvec, scalars), group);
        } else {
            rt.launch("upd_ema").arg(m).arg(om).arg(target).arg(source).arg(n).run(n, group);
        }
    }

    public void enqueue(DeviceBuffer queue, int capacity, int c, DeviceBuffer keys, int n, int ptr) {
        count(queue);
        int total = count(keys);
        rt.launch("upd_enqueue").arg(queue).arg(capacity).arg(c).arg(keys).arg(n).arg(ptr).run(total, group);
    }

    public void sgd(float lr, float momentum, float wd, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer velocity) {
        int n = count(param);
        count(grad);
        count(velocity);
        rt.launch("upd_sgd").arg(lr).arg(momentum).arg(wd).arg(param).arg(grad).arg(velocity).arg(n).run(n, group);
    }
}
