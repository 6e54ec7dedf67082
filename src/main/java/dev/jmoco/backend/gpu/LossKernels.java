package dev.jmoco.backend.gpu;

/**
 * The fused losses on an OpenCL or CUDA device (kernels in kernels/losses.cl): softmax cross-entropy here, MoCo's
 * InfoNCE in {@link InfoNceKernels}. Both leave one (loss, rank) pair per row in device scratch and finish with
 * {@link #reduceStats}, so stats = [loss, acc@1, acc@5] are computed on the device in a fixed order (no host
 * round trip, the same bits on every run). Ranks follow Backend's rule: ties count against the row.
 */
public final class LossKernels {
    /** Work-group size of losses_stats (LOSSES_STATS_THREADS in losses.cl). */
    private static final int STATS_THREADS = KernelGeometry.LOSSES_STATS_THREADS;
    /** Largest work-group of softmax_xent_rows (XENT_MAX_THREADS in losses.cl); must be a power of two. */
    private static final int XENT_MAX_THREADS = KernelGeometry.XENT_MAX_THREADS;

    private final KernelRuntime rt;

    public LossKernels(KernelRuntime rt) { this.rt = rt; }

    /**
     * One work-group per row, as wide as the row needs (a power of two up to 256, so a 10-class row does not
     * idle 246 threads): see softmax_xent_rows. The labels travel in a pooled int buffer that is released
     * right after enqueueing (the queue is in order, so the kernel has its data).
     */
    public void softmaxCrossEntropy(int rows, int cols, DeviceBuffer logits, int[] labels, float gradScale,
                                    DeviceBuffer stats, DeviceBuffer dlogits) {
        int threads = Math.min(Math.min(XENT_MAX_THREADS, Integer.highestOneBit((int) rt.maxWorkGroupSize())),
                Math.max(1, Integer.highestOneBit(cols - 1) << 1));
        try (DeviceBuffer labelBuf = rt.ints(labels); DeviceBuffer rowStats = rt.scratch(2L * rows)) {
            rt.launch("softmax_xent_rows").arg(logits).arg(labelBuf).arg(cols).arg(gradScale / rows)
                    .arg(dlogits).arg(rowStats).arg(rows).run((long) rows * threads, threads);
            reduceStats(rt, rowStats, rows, stats);
        }
    }

    /**
     * stats = [mean loss, acc@1, acc@5] from {@code rowStats} (loss of row r at [r], rank at [rows + r]), by one
     * work-group (rows are few: a batch).
     */
    static void reduceStats(KernelRuntime rt, DeviceBuffer rowStats, int rows, DeviceBuffer stats) {
        rt.launch("losses_stats").arg(rowStats).arg(rows).arg(stats).run(STATS_THREADS, STATS_THREADS);
    }
}
