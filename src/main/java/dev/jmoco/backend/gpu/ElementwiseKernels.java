package dev.jmoco.backend.gpu;

/** Elementwise ops, bias and ReLU on an OpenCL or CUDA device; kernels in kernels/elementwise.cl. */
public final class ElementwiseKernels {
    /** Work-group size of the one-element-per-work-item kernels: a multiple of every vendor's warp width. */
    static final int GROUP = 256;
    /** elem_bias_backward's work-group shape (BB_COLS x BB_ROWS in the kernel). */
    private static final int BB_COLS = KernelGeometry.BB_COLS, BB_ROWS = KernelGeometry.BB_ROWS;
    /** Rows summed per work-group in biasBackward's first pass: 16 per work-item, enough to amortise it. */
    private static final int ROWS_PER_CHUNK = 128;

    private final KernelRuntime rt;
    private final int group;

    public ElementwiseKernels(KernelRuntime rt) {
        this.rt = rt;
        this.group = (int) Math.min(GROUP, rt.maxWorkGroupSize());
    }

    public void add(float alpha, DeviceBuffer x, float beta, DeviceBuffer y, DeviceBuffer out) {
        int n = count(x);
        rt.launch("elem_add").arg(alpha).arg(x).arg(beta).arg(y).arg(out).arg(n).run(n, group);
    }

    public void addBias(int rows, int cols, DeviceBuffer bias, DeviceBuffer y) {
        int n = count(y);
        rt.launch("elem_add_bias").arg(bias).arg(y).arg(cols).arg(n).run(n, group);
    }

    /**
     * dbias += column sums of dy, deterministically: one pass when the rows fit one chunk, else per-chunk
     * partial sums into scratch, then a second pass of the same kernel over the partials.
     */
    public void biasBackward(int rows, int cols, DeviceBuffer dy, DeviceBuffer dbias) {
        if (rows == 0 || cols == 0) return;
        int chunks = (rows + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK;
        if (chunks == 1) {
            columnSums(dy, rows, cols, rows, dbias, true);
            return;
        }
        try (DeviceBuffer partial = rt.scratch((long) chunks * cols)) {
            columnSums(dy, rows, cols, ROWS_PER_CHUNK, partial, false);
            columnSums(partial, chunks, cols, chunks, dbias, true);
        }
    }

    private void columnSums(DeviceBuffer m, int rows, int cols, int rowsPerChunk, DeviceBuffer out,
                            boolean accumulate) {
        int chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        rt.launch("elem_bias_backward").arg(m).arg(rows).arg(cols).arg(rowsPerChunk).arg(out).arg(accumulate ? 1 : 0)
                .run(cols, (long) chunks * BB_ROWS, BB_COLS, BB_ROWS);
    }

    public void relu(DeviceBuffer x, DeviceBuffer y) {
        int n = count(x);
        rt.launch("elem_relu").arg(x).arg(y).arg(n).run(n, group);
    }

    public void reluBackward(DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx) {
        int n = count(y);
        rt.launch("elem_relu_backward").arg(y).arg(dy).arg(dx).arg(n).run(n, group);
    }

    public void fill(DeviceBuffer dst, float v) {
        int n = count(dst);
        rt.launch("elem_fill").arg(dst).arg(v).arg(n).run(n, group);
    }

    /** Element count as the kernels' int; views over 2^31 floats (8 GiB) are refused rather than wrapped. */
    static int count(DeviceBuffer b) {
        if (b.offset() + b.size() > Integer.MAX_VALUE)
            throw new IllegalArgumentException("the kernels index with int: a view ending at float "
                    + (b.offset() + b.size()) + " is beyond 2^31");
        return (int) b.size();
    }
}
