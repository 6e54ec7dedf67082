package dev.jmoco.backend.gpu;

import dev.jmoco.backend.BatchNormShape;

/**
 * Batch normalisation on an OpenCL or CUDA device (see Backend#batchNormTrain); kernels in kernels/batchnorm.cl, whose
 * header comment explains the reduction scheme. Training and backward are three launches each: partial
 * reductions per (group, channel, chunk), a per-channel finalize that merges the chunks in order (so results
 * do not depend on scheduling), and an elementwise pass over x.
 */
public final class BatchNormKernels {
    /** Threads of a plane reduction work-group; BN_WG in batchnorm.cl. */
    private static final int PLANE_THREADS = KernelGeometry.BN_WG;
    /** Channels x rows of a rows (hw = 1) reduction work-group; BN_TILE_C, BN_TILE_R in batchnorm.cl. */
    private static final int TILE_C = KernelGeometry.BN_TILE_C, TILE_R = KernelGeometry.BN_TILE_R;
    /** Work-groups a reduction aims for: a few per compute unit of a large GPU (132 SMs on an H100). */
    private static final int TARGET_GROUPS = 1024;
    /** Values per thread a chunk holds at least, so its fixed cost (two tree reductions) stays small. */
    private static final int MIN_PER_THREAD = 8;
    /** Work-group size of the per-channel finalize kernels. */
    private static final int LOCAL = 256;

    private final KernelRuntime rt;

    public BatchNormKernels(KernelRuntime rt) { this.rt = rt; }

    public void train(BatchNormShape s, DeviceBuffer x, DeviceBuffer gamma, DeviceBuffer beta, DeviceBuffer y,
                      DeviceBuffer mean, DeviceBuffer invStd, DeviceBuffer runningMean, DeviceBuffer runningVar,
                      float momentum, float eps) {
        int m = s.groupSize() * s.hw();
        Chunks ch = chunks(s);
        try (DeviceBuffer part = rt.scratch(2L * s.statsSize() * ch.count)) {
            if (s.hw() == 1)
                rt.launch("bn_stats_rows").arg(x).arg(part).arg(s.c()).arg(s.groups()).arg(m).arg(ch.len)
                        .arg(ch.count).run(tiles(s.c()) * TILE_C, rowGlobal(s, ch), TILE_C, TILE_R);
            else
                rt.launch("bn_stats_planes").arg(x).arg(part).arg(s.c()).arg(s.hw()).arg(s.groups()).arg(m)
                        .arg(ch.len).arg(ch.count).run(planeGlobal(s), ch.count, PLANE_THREADS, 1);
            rt.launch("bn_finalize_stats").arg(part).arg(mean).arg(invStd).arg(runningMean).arg(runningVar)
                    .arg(s.c()).arg(s.groups()).arg(m).arg(ch.len).arg(ch.count).arg(momentum).arg(eps)
                    .run(s.c(), LOCAL);
        }
        PlaneLayout.run(rt.launch("bn_normalize").arg(x).arg(gamma).arg(beta).arg(mean).arg(invStd).arg(y)
                .arg(planes(s)).arg(s.c()).arg(s.hw()).arg(s.groups()), planes(s), lanes(s));
    }

    public void eval(BatchNormShape s, DeviceBuffer x, DeviceBuffer gamma, DeviceBuffer beta, DeviceBuffer runningMean,
                     DeviceBuffer runningVar, float eps, DeviceBuffer y) {
        PlaneLayout.run(rt.launch("bn_eval").arg(x).arg(gamma).arg(beta).arg(runningMean).arg(runningVar).arg(y)
                .arg(planes(s)).arg(s.c()).arg(s.hw()).arg(eps), planes(s), lanes(s));
    }

    public void backward(BatchNormShape s, DeviceBuffer x, DeviceBuffer dy, DeviceBuffer gamma, DeviceBuffer mean,
                         DeviceBuffer invStd, DeviceBuffer dx, DeviceBuffer dgamma, DeviceBuffer dbeta) {
        int m = s.groupSize() * s.hw();
        Chunks ch = chunks(s);
        try (DeviceBuffer part = rt.scratch(2L * s.statsSize() * ch.count);
             DeviceBuffer coef = rt.scratch(2L * s.statsSize())) {
            if (s.hw() == 1)
                rt.launch("bn_grad_rows").arg(x).arg(dy).arg(mean).arg(part).arg(s.c()).arg(s.groups()).arg(m)
                        .arg(ch.len).arg(ch.count)
                        .run(tiles(s.c()) * TILE_C, rowGlobal(s, ch), TILE_C, TILE_R);
            else
                rt.launch("bn_grad_planes").arg(x).arg(dy).arg(mean).arg(part).arg(s.c()).arg(s.hw())
                        .arg(s.groups()).arg(m).arg(ch.len).arg(ch.count)
                        .run(planeGlobal(s), ch.count, PLANE_THREADS, 1);
            rt.launch("bn_finalize_grad").arg(part).arg(gamma).arg(invStd).arg(coef).arg(dgamma).arg(dbeta)
                    .arg(s.c()).arg(s.groups()).arg(m).arg(ch.count).run(s.c(), LOCAL);
            PlaneLayout.run(rt.launch("bn_backward_apply").arg(x).arg(dy).arg(gamma).arg(mean).arg(invStd).arg(coef)
                    .arg(dx).arg(planes(s)).arg(s.c()).arg(s.hw()).arg(s.groups()), planes(s), lanes(s));
        }
    }

    /**
     * How each (group, channel) slice of m values is cut: into as many chunks as it takes to launch about
     * {@link #TARGET_GROUPS} work-groups, but no chunk under MIN_PER_THREAD values per thread. For rows
     * (hw = 1) the work-groups are channel tiles and a thread walks rows, so the counts are in rows.
     */
    private static Chunks chunks(BatchNormShape s) {
        int m = s.groupSize() * s.hw();
        boolean rows = s.hw() == 1;
        long slices = rows ? (long) s.groups() * tiles(s.c()) : s.statsSize();
        int perThreadRound = rows ? TILE_R : PLANE_THREADS;
        long most = ceilDiv(m, (long) perThreadRound * MIN_PER_THREAD);
        long wanted = ceilDiv(TARGET_GROUPS, slices);
        int count = (int) Math.max(1, Math.min(most, wanted));
        int len = (int) ceilDiv(m, count);
        return new Chunks(len, (int) ceilDiv(m, len)); // no empty chunk at the end
    }

    /** Chunk length (values of a slice) and number of chunks per slice. */
    private record Chunks(int len, int count) {}

    private static int planes(BatchNormShape s) { return s.n() * s.c(); }

    private static int lanes(BatchNormShape s) { return PlaneLayout.elementwiseLanes(s.hw()); }

    /** Global size along dimension 0 of the plane reductions: one work-group per (group, channel). */
    private static long planeGlobal(BatchNormShape s) { return (long) s.statsSize() * PLANE_THREADS; }

    /** Global size along dimension 1 of the row reductions: TILE_R threads per (group, chunk). */
    private static long rowGlobal(BatchNormShape s, Chunks ch) { return (long) s.groups() * ch.count * TILE_R; }

    private static long tiles(int c) { return ceilDiv(c, TILE_C); }

    private static long ceilDiv(long a, long b) { return (a + b - 1) / b; }
}
