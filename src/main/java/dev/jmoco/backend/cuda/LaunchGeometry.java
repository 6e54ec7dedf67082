package dev.jmoco.backend.cuda;

/**
 * CUDA grid and block sizes of a launch given in OpenCL terms ({@link dev.jmoco.backend.gpu.KernelLaunch}):
 * global work-items rounded up to a multiple of the local size, so grid = ceil(global / local) blocks of
 * {@code local} threads. Pure Java, so it is tested without a driver.
 */
record LaunchGeometry(int gridX, int gridY, int blockX, int blockY) {
    /** CUDA's limit on gridDim.y (gridDim.x may reach 2^31 - 1). */
    static final int MAX_GRID_Y = 65_535;

    /** A 1-D launch of {@code global} work-items in blocks of {@code local}; {@code global} &gt; 0. */
    static LaunchGeometry of(long global, int local) {
        return new LaunchGeometry(blocks(global, local, Integer.MAX_VALUE, "x"), 1, local, 1);
    }

    /** A 2-D launch; both global sizes &gt; 0. */
    static LaunchGeometry of(long global0, long global1, int local0, int local1) {
        return new LaunchGeometry(blocks(global0, local0, Integer.MAX_VALUE, "x"),
                blocks(global1, local1, MAX_GRID_Y, "y"), local0, local1);
    }

    /** Threads per block. */
    int threads() { return blockX * blockY; }

    private static int blocks(long global, int local, int max, String axis) {
        if (local <= 0) throw new IllegalArgumentException("local size " + axis + " must be positive: " + local);
        if (global <= 0) throw new IllegalArgumentException("global size " + axis + " must be positive: " + global);
        long blocks = (global + local - 1) / local;
        if (blocks > max)
            throw new IllegalArgumentException("grid " + axis + " of " + blocks + " blocks exceeds CUDA's " + max);
        return (int) blocks;
    }
}
