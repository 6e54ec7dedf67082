package dev.jmoco.backend.gpu;

import java.util.Arrays;

/**
 * Row-wise ops on an OpenCL or CUDA device: L2 normalisation, gather and scatter (see Backend); kernels in
 * kernels/rows.cl.
 *
 * <p>Scatter with duplicate indices must add up deterministically without float atomics, so the host sorts the
 * positions by destination row (stably) and the kernel runs in gather form over destination rows, adding each
 * row's sources in position order: the same additions, in the same order, as the CPU backend's serial loop.
 * The sort costs O(len log len) on the host for an index array of batch size.
 */
public final class RowsKernels {
    /** Largest work-group of the row reductions; ROWS_WG in rows.cl. */
    private static final int MAX_ROW_THREADS = KernelGeometry.ROWS_WG;
    /** Work-group size of the elementwise kernels. */
    private static final int LOCAL = 256;

    private final KernelRuntime rt;

    public RowsKernels(KernelRuntime rt) { this.rt = rt; }

    public void l2Normalize(int rows, int cols, DeviceBuffer x, DeviceBuffer y, DeviceBuffer norms) {
        int threads = rowThreads(cols);
        rt.launch("rows_l2_fwd").arg(x).arg(y).arg(norms).arg(cols).run((long) rows * threads, threads);
    }

    public void l2NormalizeBackward(int rows, int cols, DeviceBuffer y, DeviceBuffer norms, DeviceBuffer dy,
                                    DeviceBuffer dx) {
        int threads = rowThreads(cols);
        rt.launch("rows_l2_bwd").arg(y).arg(norms).arg(dy).arg(dx).arg(cols).run((long) rows * threads, threads);
    }

    public void gather(int cols, DeviceBuffer src, int[] index, DeviceBuffer dst) {
        if (index.length == 0) return;
        long total = (long) index.length * cols;
        try (DeviceBuffer idx = rt.ints(index)) {
            rt.launch("rows_gather").arg(src).arg(idx).arg(dst).arg(Math.toIntExact(total)).arg(cols)
                    .run(total, LOCAL);
        }
    }

    public void scatter(int cols, DeviceBuffer src, int[] index, DeviceBuffer dst, boolean accumulate) {
        if (index.length == 0) return;
        int[] plan = scatterPlan(index);
        int uniq = (plan.length - index.length - 1) / 2;
        long total = (long) uniq * cols;
        try (DeviceBuffer p = rt.ints(plan)) {
            rt.launch("rows_scatter").arg(src).arg(p).arg(dst).arg(Math.toIntExact(total)).arg(cols).arg(uniq)
                    .arg(accumulate ? 1 : 0).run(total, LOCAL);
        }
    }

    /**
     * The plan rows_scatter reads: [rows (uniq), starts (uniq + 1), order (len)], where rows are the distinct
     * indices ascending and order[starts[u] .. starts[u + 1]) the positions i with index[i] = rows[u], ascending.
     */
    private static int[] scatterPlan(int[] index) {
        int len = index.length;
        long[] keys = new long[len]; // (index, position): one primitive sort, stable by construction
        for (int i = 0; i < len; i++) keys[i] = (long) index[i] << 32 | i;
        Arrays.sort(keys);
        int uniq = 0;
        for (int t = 0; t < len; t++) if (t == 0 || keys[t] >>> 32 != keys[t - 1] >>> 32) uniq++;
        int[] plan = new int[2 * uniq + 1 + len];
        int u = 0, order = 2 * uniq + 1;
        for (int t = 0; t < len; t++) {
            if (t == 0 || keys[t] >>> 32 != keys[t - 1] >>> 32) {
                plan[u] = (int) (keys[t] >>> 32);
                plan[uniq + u] = t;
                u++;
            }
            plan[order + t] = (int) keys[t];
        }
        plan[2 * uniq] = len;
        return plan;
    }

    /** A power of two near cols (so no thread idles through a short row), at most MAX_ROW_THREADS. */
    private static int rowThreads(int cols) {
        return Math.min(MAX_ROW_THREADS, Integer.highestOneBit(Math.max(1, cols)));
    }
}
