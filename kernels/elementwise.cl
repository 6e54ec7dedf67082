#include "jmoco.h"

/*
 * Elementwise ops, bias and ReLU (dev.jmoco.backend.Backend: add, addBias, biasBackward, relu, reluBackward,
 * fill). All are memory-bound single passes: one work-item per element, consecutive work-items on consecutive
 * floats, so every warp / wavefront reads and writes whole cache lines (coalesced). The host rounds the global
 * size up to a multiple of the work-group size, hence the bound checks.
 */

/* out = alpha x + beta y; each element is read before it is written, so out may alias x or y. */
KERNEL void elem_add(float alpha, GLOBAL const float* x, int x_off, float beta, GLOBAL const float* y,
                     int y_off, GLOBAL float* out, int out_off, int n) {
    int i = GLOBAL_ID(0);
    if (i < n) out[out_off + i] = alpha * x[x_off + i] + beta * y[y_off + i];
}

/* y[r, j] += bias[j] over a [rows, cols] matrix flattened to n = rows * cols elements. One work-item per
   element (not per row) keeps every launch fully coalesced even for narrow matrices; the bias row is small
   and stays in cache. */
KERNEL void elem_add_bias(GLOBAL const float* bias, int bias_off, GLOBAL float* y, int y_off, int cols, int n) {
    int i = GLOBAL_ID(0);
    if (i < n) y[y_off + i] += bias[bias_off + i % cols];
}

/* Work-group shape of elem_bias_backward, BB_COLS x BB_ROWS: 32 columns (a warp reads 128 contiguous bytes of a
   row) by 8 row slices. The host launches (BB_COLS, BB_ROWS) work-groups; both sizes come from KernelGeometry (-D). */

/*
 * Column sums of a [rows, cols] matrix dy, one chunk of rows_per_chunk rows per work-group row:
 *   out[chunk, j] (+)= sum over r in the chunk of dy[r, j].
 * Deterministic (no atomics): work-item (lx, ly) sums rows ly, ly + 8, ... of its chunk in order, then the
 * 8 partial sums of a column are added in a fixed tree in local memory. With several chunks the host calls
 * this kernel twice: rows -> per-chunk partials (accumulate = 0), then partials -> dbias (accumulate = 1),
 * treating the partials as a [chunks, cols] matrix of one chunk. Summing a chunk per work-group rather than a
 * whole column keeps enough work-groups busy when cols is small and rows is large (a linear layer's bias).
 */
KERNEL void elem_bias_backward(GLOBAL const float* dy, int dy_off, int rows, int cols, int rows_per_chunk,
                               GLOBAL float* out, int out_off, int accumulate) {
    LOCAL float partial[BB_ROWS][BB_COLS];
    int lx = LOCAL_ID(0), ly = LOCAL_ID(1);
    int j = GROUP_ID(0) * BB_COLS + lx;
    int chunk = GROUP_ID(1);
    int r0 = chunk * rows_per_chunk;
    int r1 = r0 + rows_per_chunk < rows ? r0 + rows_per_chunk : rows;
    float s = 0.0f;
    if (j < cols)
        for (int r = r0 + ly; r < r1; r += BB_ROWS) s += dy[dy_off + r * cols + j];
    partial[ly][lx] = s;
    BARRIER();
    for (int h = BB_ROWS / 2; h > 0; h /= 2) {
        if (ly < h) partial[ly][lx] += partial[ly + h][lx];
        BARRIER();
    }
    if (ly == 0 && j < cols) {
        int o = out_off + chunk * cols + j;
        out[o] = accumulate ? out[o] + partial[0][lx] : partial[0][lx];
    }
}

/* y = max(x, 0) with NaN propagating (as Java's Math.max and PyTorch do; OpenCL's fmax would drop it). */
KERNEL void elem_relu(GLOBAL const float* x, int x_off, GLOBAL float* y, int y_off, int n) {
    int i = GLOBAL_ID(0);
    if (i < n) {
        float v = x[x_off + i];
        y[y_off + i] = (v > 0.0f || v != v) ? v : 0.0f;
    }
}

/* dx += dy where y > 0 (y is the forward output). A select, not a branch: no divergence within a warp. */
KERNEL void elem_relu_backward(GLOBAL const float* y, int y_off, GLOBAL const float* dy, int dy_off,
                               GLOBAL float* dx, int dx_off, int n) {
    int i = GLOBAL_ID(0);
    if (i < n) dx[dx_off + i] += y[y_off + i] > 0.0f ? dy[dy_off + i] : 0.0f;
}

/* dst = v. A kernel rather than clEnqueueFillBuffer: the same code then serves CUDA. */
KERNEL void elem_fill(GLOBAL float* dst, int dst_off, float v, int n) {
    int i = GLOBAL_ID(0);
    if (i < n) dst[dst_off + i] = v;
}
