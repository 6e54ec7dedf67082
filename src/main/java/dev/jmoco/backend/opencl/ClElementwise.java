package dev.jmoco.backend.opencl;

/** Elementwise ops, bias and ReLU on an OpenCL device; kernels in kernels/elementwise.cl. */
final class ClElementwise {
    /** Work-group size of the one-element-per-work-item kernels: a multiple of every vendor's warp width. */
    static final int GROUP = 256;
    /** elem_bias_backward's work-group shape (BB_COLS x BB_ROWS in the kernel). */
    private static final int BB_COLS = 32, BB_ROWS = 8;
    /** Rows summed per work-group in biasBackward's first pass: 16 per work-item, enough to amortise it. */
    private static final int ROWS_PER_CHUNK = 128;

    private final OpenClBackend cl;
    private final int group;

    ClElementwise(OpenClBackend cl) {
        this.cl = cl;
        this.group = (int) Math.min(GROUP, cl.maxWorkGroupSize());
    }

    void add(float alpha, ClBuffer x, float beta, ClBuffer y, ClBuffer out) {
        int n = count(x);
        cl.launch("elem_add").arg(alpha).arg(x).arg(beta).arg(y).arg(out).arg(n).run(n, group);
    }

    void addBias(int rows, int cols, ClBuffer bias, ClBuffer y) {
        int n = count(y);
        cl.launch("elem_add_bias").arg(bias).arg(y).arg(cols).arg(n).run(n, group);
    }

    /**
     * dbias += column sums of dy, deterministically: one pass when the rows fit one chunk, else per-chunk
     * partial sums into scratch, then a second pass of the same kernel over the partials.
     */
    void biasBackward(int rows, int cols, ClBuffer dy, ClBuffer dbias) {
        if (rows == 0 || cols == 0) return;
        int chunks = (rows + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK;
        if (chunks == 1) {
            columnSums(dy, rows, cols, rows, dbias, true);
            return;
        }
        try (ClBuffer partial = cl.scratch((long) chunks * cols)) {
            columnSums(dy, rows, cols, ROWS_PER_CHUNK, partial, false);
            columnSums(partial, chunks, cols, chunks, dbias, true);
        }
    }

    private void columnSums(ClBuffer m, int rows, int cols, int rowsPerChunk, ClBuffer out, boolean accumulate) {
        int chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        cl.launch("elem_bias_backward").arg(m).arg(rows).arg(cols).arg(rowsPerChunk).arg(out).arg(accumulate ? 1 : 0)
                .run(cols, (long) chunks * BB_ROWS, BB_COLS, BB_ROWS);
    }

    void relu(ClBuffer x, ClBuffer y) {
        int n = count(x);
        cl.launch("elem_relu").arg(x).arg(y).arg(n).run(n, group);
    }

    void reluBackward(ClBuffer y, ClBuffer dy, ClBuffer dx) {
        int n = count(y);
        cl.launch("elem_relu_backward").arg(y).arg(dy).arg(dx).arg(n).run(n, group);
    }

    void fill(ClBuffer dst, float v) {
        int n = count(dst);
        cl.launch("elem_fill").arg(dst).arg(v).arg(n).run(n, group);
    }

    /** Element count as the kernels' int; views over 2^31 floats (8 GiB) are refused rather than wrapped. */
    static int count(ClBuffer b) {
        if (b.offset() + b.size() > Integer.MAX_VALUE)
            throw new IllegalArgumentException("OpenCL kernels index with int: a view ending at float "
                    + (b.offset() + b.size()) + " is beyond 2^31");
        return (int) b.size();
    }
}
