package dev.jmoco.backend.gpu;

/**
 * MoCo's InfoNCE forward + backward in one pass over the queue, split over work-groups (split-K): the kernels
 * and the algorithm are described in kernels/losses.cl. This class plans the split and launches the three
 * kernels: infonce_partial (a block of rows x a chunk of the queue per work-group), infonce_combine (one
 * work-group per row: merges the chunks, writes dq, dk, the row's loss and rank) and losses_stats.
 *
 * <p>The chunk count is chosen so that about {@link #GROUPS_PER_UNIT} work-groups per compute unit run the
 * partial kernel (a full wave or more on a GPU: on a 132-SM H100 at MoCo's n = 256, c = 128 that is 8 row
 * blocks x 128 chunks of 512 keys); more chunks would only grow the partial state the combine step reads back.
 */
final class InfoNceKernels {
    // INFONCE_... of kernels/losses.cl, defined in KernelGeometry.
    private static final int THREADS = KernelGeometry.INFONCE_THREADS;
    private static final int ROWS = KernelGeometry.INFONCE_ROWS;
    private static final int KEYS = KernelGeometry.INFONCE_KEYS;
    private static final int COLS = KernelGeometry.INFONCE_COLS;
    private static final int MAX_CHUNKS = KernelGeometry.INFONCE_MAX_CHUNKS;
    private static final int COMBINE_THREADS = KernelGeometry.INFONCE_COMBINE_THREADS;
    /** Local memory infonce_partial declares, in bytes (with room for the compiler's own). */
    private static final long LOCAL_BYTES = 32 * 1024;
    /** Work-groups of infonce_partial to aim for, per compute unit. */
    private static final int GROUPS_PER_UNIT = 8;

    private final KernelRuntime rt;

    InfoNceKernels(KernelRuntime rt) { this.rt = rt; }

    void run(int n, int c, int kq, float t, DeviceBuffer q, DeviceBuffer k, DeviceBuffer queue, float gradScale,
             DeviceBuffer stats, DeviceBuffer dq, DeviceBuffer dk) {
        if (rt.maxWorkGroupSize() < THREADS || rt.localMemBytes() < LOCAL_BYTES)
            throw new UnsupportedOperationException("infoNce needs work-groups of " + THREADS + " threads and "
                    + LOCAL_BYTES / 1024 + " KB of local memory; this device offers " + rt.maxWorkGroupSize()
                    + " and " + rt.localMemBytes() / 1024 + " KB");
        run(Plan.of(n, c, kq, GROUPS_PER_UNIT * Math.max(1, rt.computeUnits())), n, c, kq, t, q, k, queue,
                gradScale, stats, dq, dk);
    }

    /** {@link #run} with a given split (tests force many chunks on a device with few compute units). */
    void run(Plan p, int n, int c, int kq, float t, DeviceBuffer q, DeviceBuffer k, DeviceBuffer queue,
             float gradScale, DeviceBuffer stats, DeviceBuffer dq, DeviceBuffer dk) {
        float invT = 1 / t;
        long accFloats = (long) p.chunks * n * c, partFloats = 3L * p.chunks * n;
        try (DeviceBuffer scratch = rt.scratch(accFloats + partFloats + 3L * n)) {
            DeviceBuffer acc = scratch.slice(0, accFloats);
            DeviceBuffer part = scratch.slice(accFloats, partFloats);
            DeviceBuffer pos = scratch.slice(accFloats + partFloats, n);
            DeviceBuffer rowStats = scratch.slice(accFloats + partFloats + n, 2L * n);
            rt.launch("infonce_partial").arg(q).arg(k).arg(queue).arg(n).arg(c).arg(kq).arg(invT)
                    .arg(p.panels).arg(p.keysPerChunk).arg(part).arg(acc).arg(pos)
                    .run((long) p.rowBlocks * p.panels * THREADS, p.chunks, THREADS, 1);
            rt.launch("infonce_combine").arg(q).arg(k).arg(n).arg(c).arg(invT).arg(gradScale / (n * t))
                    .arg(p.chunks).arg(part).arg(acc).arg(pos).arg(dq).arg(dk == null ? 0 : 1)
                    .arg(dk == null ? dq : dk).arg(rowStats)
                    .run((long) n * COMBINE_THREADS, COMBINE_THREADS);
            LossKernels.reduceStats(rt, rowStats, n, stats);
        }
    }

    /**
     * How infonce_partial splits the work: {@code rowBlocks} blocks of 32 rows of q, {@code panels} panels of
     * 128 accumulator columns (more than one only for c &gt; 128) and {@code chunks} chunks of
     * {@code keysPerChunk} queue keys (a multiple of the 128-key tile).
     */
    record Plan(int rowBlocks, int panels, int keysPerChunk, int chunks) {
        static Plan of(int n, int c, int kq, int targetGroups) {
            int panels = ceilDiv(c, COLS), rowBlocks = ceilDiv(n, ROWS);
            int tiles = ceilDiv(kq, KEYS);
            // The kernels index the partial accumulator [chunks, n, c] with ints.
            int maxChunks = (int) Math.min(Math.min(MAX_CHUNKS, tiles), Integer.MAX_VALUE / ((long) n * c));
            int chunks = Math.clamp(ceilDiv(targetGroups, rowBlocks * panels), 1, Math.max(1, maxChunks));
            int keysPerChunk = ceilDiv(tiles, chunks) * KEYS;
            return new Plan(rowBlocks, panels, keysPerChunk, ceilDiv(kq, keysPerChunk));
        }
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
