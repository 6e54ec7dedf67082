package dev.jmoco.backend.opencl;

import static dev.jmoco.backend.opencl.ClElementwise.count;

/** The MoCo state updates (EMA, queue enqueue, SGD) on an OpenCL device; kernels in kernels/updates.cl. */
final class ClUpdates {
    private final OpenClBackend cl;
    private final int group;

    ClUpdates(OpenClBackend cl) {
        this.cl = cl;
        this.group = (int) Math.min(ClElementwise.GROUP, cl.maxWorkGroupSize());
    }

    /** float4 loads when both views are equally aligned modulo 16 bytes (always, for views of one arena). */
    void ema(float m, ClBuffer target, ClBuffer source) {
        int n = count(target);
        count(source);
        float om = 1 - m;
        if ((target.offset() & 3) == (source.offset() & 3)) {
            int head = (int) Math.min(n, (4 - (target.offset() & 3)) & 3);
            int nvec = (n - head) / 4;
            int scalars = n - 4 * nvec;
            cl.launch("upd_ema4").arg(m).arg(om).arg(target).arg(source).arg(n).run(Math.max(nvec, scalars), group);
        } else {
            cl.launch("upd_ema").arg(m).arg(om).arg(target).arg(source).arg(n).run(n, group);
        }
    }

    void enqueue(ClBuffer queue, int capacity, int c, ClBuffer keys, int n, int ptr) {
        count(queue);
        int total = count(keys);
        cl.launch("upd_enqueue").arg(queue).arg(capacity).arg(c).arg(keys).arg(n).arg(ptr).run(total, group);
    }

    void sgd(float lr, float momentum, float wd, ClBuffer param, ClBuffer grad, ClBuffer velocity) {
        int n = count(param);
        count(grad);
        count(velocity);
        cl.launch("upd_sgd").arg(lr).arg(momentum).arg(wd).arg(param).arg(grad).arg(velocity).arg(n).run(n, group);
    }
}
