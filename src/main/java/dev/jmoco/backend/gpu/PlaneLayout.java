package dev.jmoco.backend.gpu;

/**
 * Launch geometry of the kernels that walk NCHW planes (batch norm's elementwise passes, average pooling): a
 * 2-D launch whose work-item (lane, plane) handles values lane, lane + lanes, ... of one plane, with
 * {@link #THREADS} / lanes planes per work-group. Per-plane factors are then computed once per thread instead of
 * once per value, and lanes read consecutive floats.
 */
final class PlaneLayout {
    /** Threads of a work-group (POOL_WG in pooling.cl: the average pool's local sums hold one per thread). */
    static final int THREADS = KernelGeometry.POOL_WG;

    /**
     * Work-groups along the planes at most: CUDA's limit on a grid's height, kept here too so both backends walk
     * planes the same way (the kernels loop over planes when the grid is shorter).
     */
    private static final long MAX_GROUPS = 65535;

    private PlaneLayout() {}

    /** Enqueues {@code launch} over {@code planes} planes with {@code lanes} work-items per plane. */
    static void run(KernelLaunch launch, long planes, int lanes) {
        int perGroup = THREADS / lanes;
        launch.run(lanes, Math.min(planes, MAX_GROUPS * perGroup), lanes, perGroup);
    }

    /**
     * Lanes for an elementwise pass: hw rounded up to a power of two, at most THREADS, so a small plane is read
     * in one coalesced step (idle lanes cost issue slots, not bandwidth, in these memory-bound kernels).
     */
    static int elementwiseLanes(int hw) {
        return Math.min(THREADS, Integer.highestOneBit(Math.max(1, 2 * hw - 1)));
    }

    /** Lanes for a reduction: the power of two at or below hw / 4 (each lane sums about four values), 1 to THREADS. */
    static int reductionLanes(int hw) {
        return Math.min(THREADS, Integer.highestOneBit(Math.max(1, hw / 4)));
    }
}
