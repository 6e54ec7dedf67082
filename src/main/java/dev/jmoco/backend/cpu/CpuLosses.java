package dev.jmoco.backend.cpu;

/**
 * Softmax cross-entropy, and the accuracy rule it shares with MoCo's InfoNCE ({@link CpuInfoNce}); see Backend.
 *
 * <p>Both report accuracy with one rule. A row's <em>rank</em> is the number of competing classes whose logit is
 * greater than or equal to the target's; acc@1 counts rows of rank 0 (the target strictly beats every other
 * class) and acc@5 rows of rank below 5. Ties therefore count against the row, which only matters for
 * degenerate inputs (PyTorch's topk breaks ties by position instead).
 */
final class CpuLosses {
    /** Logits per task below which softmax cross-entropy stays on the caller's thread. */
    private static final int GRAIN = 1 << 14;

    private final CpuBackend backend;
    private final Parallel parallel;

    CpuLosses(CpuBackend backend, Parallel parallel) {
        this.backend = backend;
        this.parallel = parallel;
    }

    /**
     * Per row, three passes that stay in L1 for the row lengths used here (up to a few thousand classes): the
     * max and the rank; exp(x - max) written into dlogits while summing (the target logit is read first, so
     * dlogits may alias logits); then the scaling into softmax - one-hot. Subtracting the max keeps exp in
     * range for any logits.
     */
    void softmaxCrossEntropy(int rows, int cols, CpuBuffer logits, int[] labels, float gradScale, CpuBuffer stats,
                             CpuBuffer dlogits) {
        float[] x = logits.array, d = dlogits.array;
        int xo = logits.offset, dof = dlogits.offset;
        double scale = (double) gradScale / rows;
        try (CpuBuffer perRow = backend.scratch(2L * rows)) {
            float[] pr = perRow.array;
            parallel.forRange(rows, Math.max(1, GRAIN / cols), (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    int xb = xo + r * cols, db = dof + r * cols, y = labels[r];
                    float target = x[xb + y], max = Float.NEGATIVE_INFINITY;
                    int atLeast = 0; // includes the target itself
                    for (int j = 0; j < cols; j++) {
                        float v = x[xb + j];
                        max = Math.max(max, v);
                        if (v >= target) atLeast++;
                    }
                    double sum = 0;
                    for (int j = 0; j < cols; j++) {
                        double e = Math.exp(x[xb + j] - max);
                        d[db + j] = (float) e;
                        sum += e;
                    }
                    double f = scale / sum;
                    for (int j = 0; j < cols; j++) d[db + j] = (float) (d[db + j] * f);
                    d[db + y] = (float) (d[db + y] - scale);
                    pr[r] = (float) (Math.log(sum) + max - target);
                    pr[rows + r] = atLeast - 1;
                }
            });
            writeStats(pr, rows, stats);
        }
    }

    /**
     * Reduces per-row results in a fixed order (so the stats do not depend on the thread count): {@code perRow}
     * holds the loss of row r at [r] and its rank (see the class comment) at [rows + r]. Writes
     * [mean loss, acc@1, acc@5].
     */
    static void writeStats(float[] perRow, int rows, CpuBuffer stats) {
        double loss = 0;
        int top1 = 0, top5 = 0;
        for (int r = 0; r < rows; r++) {
            loss += perRow[r];
            float rank = perRow[rows + r];
            if (rank < 1) top1++;
            if (rank < 5) top5++;
        }
        stats.array[stats.offset] = (float) (loss / rows);
        stats.array[stats.offset + 1] = (float) top1 / rows;
        stats.array[stats.offset + 2] = (float) top5 / rows;
    }
}
