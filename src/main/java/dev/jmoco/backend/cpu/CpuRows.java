package dev.jmoco.backend.cpu;

/** Row-wise ops: L2 normalisation, gather and scatter by index (see Backend). */
final class CpuRows {
    /** Floats per task below which a loop stays on the caller's thread. */
    private static final int GRAIN = 1 << 15;
    /** As torch.nn.functional.normalize: norms below this divide by it instead. */
    private static final float NORM_FLOOR = 1e-12f;

    private final Parallel parallel;

    CpuRows(Parallel parallel) { this.parallel = parallel; }

    /** y = x / max(||x||, 1e-12) per row, norms = ||x|| (accumulated in double, rounded once). */
    void l2Normalize(int rows, int cols, CpuBuffer x, CpuBuffer y, CpuBuffer norms) {
        float[] xa = x.array, ya = y.array, na = norms.array;
        int xo = x.offset, yo = y.offset, no = norms.offset;
        parallel.forRange(rows, rowGrain(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int xr = xo + r * cols, yr = yo + r * cols;
                float norm = (float) Math.sqrt(CpuReductions.dot(xa, xr, xa, xr, cols, 0f));
                na[no + r] = norm;
                float d = Math.max(norm, NORM_FLOOR);
                for (int j = 0; j < cols; j++) ya[yr + j] = xa[xr + j] / d;
            }
        });
    }

    /** dx += (dy - y (y . dy)) / max(norm, 1e-12) per row. */
    void l2NormalizeBackward(int rows, int cols, CpuBuffer y, CpuBuffer norms, CpuBuffer dy, CpuBuffer dx) {
        float[] ya = y.array, na = norms.array, da = dy.array, ga = dx.array;
        int yo = y.offset, no = norms.offset, dyo = dy.offset, dxo = dx.offset;
        parallel.forRange(rows, rowGrain(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int yr = yo + r * cols, dr = dyo + r * cols, gr = dxo + r * cols;
                float yDotDy = (float) CpuReductions.dot(ya, yr, da, dr, cols, 0f);
                float d = Math.max(na[no + r], NORM_FLOOR);
                for (int j = 0; j < cols; j++) ga[gr + j] += (da[dr + j] - ya[yr + j] * yDotDy) / d;
            }
        });
    }

    /** dst[i, :] = src[index[i], :]; tasks own rows of dst. */
    void gather(int cols, CpuBuffer src, int[] index, CpuBuffer dst) {
        float[] sa = src.array, da = dst.array;
        int so = src.offset, dso = dst.offset;
        parallel.forRange(index.length, rowGrain(cols), (i0, i1) -> {
            for (int i = i0; i < i1; i++) System.arraycopy(sa, so + index[i] * cols, da, dso + i * cols, cols);
        });
    }

    /**
     * dst[index[i], :] = src[i, :] (or +=). Tasks own column ranges and walk index in order, so duplicate
     * indices add up when accumulating and the last one wins when overwriting, exactly as a serial loop,
     * whatever the number of threads.
     */
    void scatter(int cols, CpuBuffer src, int[] index, CpuBuffer dst, boolean accumulate) {
        float[] sa = src.array, da = dst.array;
        int so = src.offset, dso = dst.offset;
        // At least 16 columns (a cache line) per task: neighbours share at most the line at their boundary.
        int grain = Math.max(16, GRAIN / Math.max(1, index.length));
        parallel.forRange(cols, grain, (j0, j1) -> {
            for (int i = 0; i < index.length; i++) {
                int from = so + i * cols, to = dso + index[i] * cols;
                if (accumulate) for (int j = j0; j < j1; j++) da[to + j] += sa[from + j];
                else System.arraycopy(sa, from + j0, da, to + j0, j1 - j0);
            }
        });
    }

    private static int rowGrain(int cols) { return Math.max(1, GRAIN / cols); }
}
