#include "jmoco.h"

/* Row-wise ops on [rows, cols] matrices: L2 normalisation, gather and scatter by index (see Backend, CpuRows). */

/* ROWS_WG (256, from KernelGeometry as -D): largest work-group of the row reductions; the host launches a power
   of two up to this (near cols). */
/* As torch.nn.functional.normalize: norms below this divide by it instead. */
#define ROWS_NORM_FLOOR 1e-12f

/* Sums buf[0 .. n) into buf[0] by halving (n a power of two; all n threads call it after a barrier). */
#define ROWS_TREE_SUM(buf, lid, n)                                     \
    for (int s_ = (n) / 2; s_ > 0; s_ >>= 1) {                         \
        if ((lid) < s_) (buf)[lid] += (buf)[(lid) + s_];               \
        BARRIER();                                                     \
    }

/* One work-group per row: the sum of squares by a fixed tree (deterministic), then y = x / max(norm, floor). */
KERNEL void rows_l2_fwd(GLOBAL const float* x, int x_off, GLOBAL float* y, int y_off, GLOBAL float* norms,
                        int norms_off, int cols) {
    LOCAL float sums[ROWS_WG];
    int lid = LOCAL_ID(0), threads = LOCAL_SIZE(0), row = GROUP_ID(0);
    GLOBAL const float* xr = x + x_off + row * cols;
    float s = 0.0f;
    for (int j = lid; j < cols; j += threads) s += xr[j] * xr[j];
    sums[lid] = s;
    BARRIER();
    ROWS_TREE_SUM(sums, lid, threads);
    float norm = sqrt(sums[0]), d = fmax(norm, ROWS_NORM_FLOOR);
    if (lid == 0) norms[norms_off + row] = norm;
    for (int j = lid; j < cols; j += threads) y[y_off + row * cols + j] = xr[j] / d;
}

/* One work-group per row: dx += (dy - y (y . dy)) / max(norm, floor). */
KERNEL void rows_l2_bwd(GLOBAL const float* y, int y_off, GLOBAL const float* norms, int norms_off,
                        GLOBAL const float* dy, int dy_off, GLOBAL float* dx, int dx_off, int cols) {
    LOCAL float sums[ROWS_WG];
    int lid = LOCAL_ID(0), threads = LOCAL_SIZE(0), row = GROUP_ID(0);
    int at = row * cols;
    float s = 0.0f;
    for (int j = lid; j < cols; j += threads) s += y[y_off + at + j] * dy[dy_off + at + j];
    sums[lid] = s;
    BARRIER();
    ROWS_TREE_SUM(sums, lid, threads);
    float y_dot_dy = sums[0], d = fmax(norms[norms_off + row], ROWS_NORM_FLOOR);
    for (int j = lid; j < cols; j += threads)
        dx[dx_off + at + j] += (dy[dy_off + at + j] - y[y_off + at + j] * y_dot_dy) / d;
}

/* dst[i, :] = src[index[i], :], one work-item per destination value (consecutive items, consecutive columns). */
KERNEL void rows_gather(GLOBAL const float* src, int src_off, GLOBAL const int* index, int index_off,
                        GLOBAL float* dst, int dst_off, int total, int cols) {
    int t = GLOBAL_ID(0);
    if (t >= total) return;
    int i = t / cols, j = t - i * cols;
    dst[dst_off + t] = src[src_off + index[index_off + i] * cols + j];
}

/*
 * dst[index[i], :] = src[i, :] (or +=), in gather form over destination rows so no two work-items write the
 * same value: the host sorts the positions i by index (stably) into a plan of three int sections,
 *   rows[u]         the distinct destination rows, u < uniq,
 *   starts[u .. u+1] the range of row u's positions in order[],
 *   order[t]        positions i, ascending within each row,
 * and work-item (u, j) adds the sources of row u in position order (duplicates add up in the same order as
 * the CPU backend's serial loop) or, overwriting, takes the last one (as the serial loop leaves it).
 */
KERNEL void rows_scatter(GLOBAL const float* src, int src_off, GLOBAL const int* plan, int plan_off,
                         GLOBAL float* dst, int dst_off, int total, int cols, int uniq, int accumulate) {
    int t = GLOBAL_ID(0);
    if (t >= total) return;
    int u = t / cols, j = t - u * cols;
    GLOBAL const int* starts = plan + plan_off + uniq;
    GLOBAL const int* order = starts + uniq + 1;
    int to = dst_off + plan[plan_off + u] * cols + j, first = starts[u], last = starts[u + 1] - 1;
    if (accumulate) {
        float acc = dst[to];
        for (int k = first; k <= last; k++) acc += src[src_off + order[k] * cols + j];
        dst[to] = acc;
    } else {
        dst[to] = src[src_off + order[last] * cols + j];
    }
}
