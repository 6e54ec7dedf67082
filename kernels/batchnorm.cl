#include "jmoco.h"

/*
 * Batch normalisation with statistics per group (see Backend#batchNormTrain and CpuBatchNorm): sample i
 * belongs to group i mod groups; a "slice" is one (group, channel) pair, holding m = (n / groups) * hw values.
 *
 * Reductions are deterministic (no atomics): each slice is cut into a fixed number of chunks, one work-group
 * per (slice, chunk) reduces its chunk in local memory with a fixed pairing, and a finalize kernel (one
 * work-item per channel) merges the chunks in index order. Splitting a slice across work-groups keeps a large
 * GPU busy when groups * c is small against n * h * w (the first layers of a ResNet: 64 channels, 256 x 32 x 32
 * values each).
 *
 * Variance as the CPU backend computes it, never E[x^2] - E[x]^2 (which cancels in float when |mean| is large
 * against the spread): per chunk, pass 1 gives an estimate of the mean, pass 2 sums the deviations d = x - est
 * and d^2 (the chunk is still in cache), so mean = est + sum(d) / len and M2 = sum(d^2) - sum(d)^2 / len
 * stay exact to float rounding; chunks are merged with the pairwise update of Chan, Golub and LeVeque. The
 * CPU does the same per plane, accumulating in double; kernels have no double, so here the accuracy comes from
 * short per-thread partial sums, the tree, and the shifted second pass (a few ulps; see the tolerances of
 * BatchNormConformanceTest).
 *
 * Two layouts, as on CPU:
 *   planes (hw > 1): a chunk is a run of the slice's values in (sample, pixel) order, contiguous within each
 *                    plane, so the work-group's loads coalesce;
 *   rows   (hw = 1): x is [n, c]; one slice's values are a column, c floats apart, so a work-group takes 32
 *                    adjacent channels of 8 rows at a time (each row a coalesced 128-byte load) and reduces
 *                    the 8 row lanes per channel.
 * Partial results are pairs per (slice, chunk) at part[(slice * chunks + k) * 2].
 */

/* BN_WG (256): threads of a plane work-group; the host launches exactly this many (a power of two, for the tree).
   BN_TILE_C x BN_TILE_R (32 x 8): channels x rows of a rows work-group: 32 channels = one 128-byte line of a row.
   Like every size the host shares, they come from dev.jmoco.backend.gpu.KernelGeometry as -D options. */

/* Sums a[0 .. n) and b[0 .. n) into a[0] and b[0] by halving; n a power of two, every thread of the
   work-group calls it after writing its own element and a barrier. The pairing is fixed: same result every run. */
#define BN_TREE_SUM2(a, b, lid, n)                                                    \
    for (int s_ = (n) / 2; s_ > 0; s_ >>= 1) {                                        \
        if ((lid) < s_) { (a)[lid] += (a)[(lid) + s_]; (b)[lid] += (b)[(lid) + s_]; } \
        BARRIER();                                                                    \
    }

/* The same over the BN_TILE_R rows of each column of a rows work-group's [BN_TILE_R][BN_TILE_C] arrays. */
#define BN_COLUMN_SUM2(a, b)                                                          \
    for (int s_ = BN_TILE_R / 2; s_ > 0; s_ >>= 1) {                                  \
        if (ty < s_) { (a)[ty][tx] += (a)[ty + s_][tx]; (b)[ty][tx] += (b)[ty + s_][tx]; } \
        BARRIER();                                                                    \
    }

/*
 * A thread's walk over the values e = first, first + BN_WG, ... of slice (g, ch) in (sample j within the
 * group, pixel r) order, without an integer division per value: the stride BN_WG advances j by BN_WG / hw and
 * r by BN_WG % hw, with one carry.
 */
typedef struct { int j, r, step_j, step_r; } bn_walk;

DEVICE_FN bn_walk bn_walk_start(int first, int hw) {
    bn_walk w;
    w.j = first / hw;
    w.r = first - w.j * hw;
    w.step_j = BN_WG / hw;
    w.step_r = BN_WG - w.step_j * hw;
    return w;
}

/* Offset of the walk's current value of slice (g, ch). */
DEVICE_FN int bn_walk_at(bn_walk w, int g, int ch, int c, int hw, int groups) {
    return ((g + w.j * groups) * c + ch) * hw + w.r;
}

DEVICE_FN bn_walk bn_walk_next(bn_walk w, int hw) {
    w.j += w.step_j;
    w.r += w.step_r;
    if (w.r >= hw) {
        w.r -= hw;
        w.j++;
    }
    return w;
}

/* Planes: work-group (slice, chunk), slice = g * c + ch along dimension 0, chunk k along dimension 1. */
KERNEL void bn_stats_planes(GLOBAL const float* x, int x_off, GLOBAL float* part, int part_off,
                            int c, int hw, int groups, int m, int chunk_len, int chunks) {
    LOCAL float sa[BN_WG];
    LOCAL float sb[BN_WG];
    int lid = LOCAL_ID(0), slice = GROUP_ID(0), k = GROUP_ID(1);
    int g = slice / c, ch = slice - g * c;
    int start = k * chunk_len, end = min(m, start + chunk_len);

    float s = 0.0f;
    bn_walk w = bn_walk_start(start + lid, hw);
    for (int e = start + lid; e < end; e += BN_WG, w = bn_walk_next(w, hw))
        s += x[x_off + bn_walk_at(w, g, ch, c, hw, groups)];
    sa[lid] = s;
    sb[lid] = 0.0f;
    BARRIER();
    BN_TREE_SUM2(sa, sb, lid, BN_WG);
    float len = (float) (end - start), est = sa[0] / len;
    BARRIER(); /* everyone has read sa[0] before it is overwritten */

    float d1 = 0.0f, d2 = 0.0f;
    w = bn_walk_start(start + lid, hw);
    for (int e = start + lid; e < end; e += BN_WG, w = bn_walk_next(w, hw)) {
        float d = x[x_off + bn_walk_at(w, g, ch, c, hw, groups)] - est;
        d1 += d;
        d2 += d * d;
    }
    sa[lid] = d1;
    sb[lid] = d2;
    BARRIER();
    BN_TREE_SUM2(sa, sb, lid, BN_WG);
    if (lid == 0) {
        int at = part_off + (slice * chunks + k) * 2;
        part[at] = est + sa[0] / len;
        part[at + 1] = fmax(sb[0] - sa[0] * sa[0] / len, 0.0f);
    }
}

/* Rows (hw = 1): work-group (channel tile, g * chunks + k), BN_TILE_C x BN_TILE_R threads. */
KERNEL void bn_stats_rows(GLOBAL const float* x, int x_off, GLOBAL float* part, int part_off,
                          int c, int groups, int m, int chunk_len, int chunks) {
    LOCAL float sa[BN_TILE_R][BN_TILE_C];
    LOCAL float sb[BN_TILE_R][BN_TILE_C];
    int tx = LOCAL_ID(0), ty = LOCAL_ID(1);
    int ch = GROUP_ID(0) * BN_TILE_C + tx;
    int g = GROUP_ID(1) / chunks, k = GROUP_ID(1) - g * chunks;
    int start = k * chunk_len, end = min(m, start + chunk_len);
    bool live = ch < c; /* threads past the last channel still take part in the barriers */

    float s = 0.0f;
    if (live)
        for (int j = start + ty; j < end; j += BN_TILE_R) s += x[x_off + (g + j * groups) * c + ch];
    sa[ty][tx] = s;
    sb[ty][tx] = 0.0f;
    BARRIER();
    for (int s_ = BN_TILE_R / 2; s_ > 0; s_ >>= 1) {
        if (ty < s_) sa[ty][tx] += sa[ty + s_][tx];
        BARRIER();
    }
    float len = (float) (end - start), est = sa[0][tx] / len;
    BARRIER();

    float d1 = 0.0f, d2 = 0.0f;
    if (live)
        for (int j = start + ty; j < end; j += BN_TILE_R) {
            float d = x[x_off + (g + j * groups) * c + ch] - est;
            d1 += d;
            d2 += d * d;
        }
    sa[ty][tx] = d1;
    sb[ty][tx] = d2;
    BARRIER();
    BN_COLUMN_SUM2(sa, sb);
    if (ty == 0 && live) {
        int at = part_off + ((g * c + ch) * chunks + k) * 2;
        part[at] = est + sa[0][tx] / len;
        part[at + 1] = fmax(sb[0][tx] - sa[0][tx] * sa[0][tx] / len, 0.0f);
    }
}

/*
 * One work-item per channel: merges each group's chunks (Chan et al.: counts, means, M2) in chunk order,
 * writes mean and invStd = 1 / sqrt(M2 / m + eps) per (group, channel), and moves the running statistics
 * towards the average over groups of the means and unbiased variances M2 / (m - 1).
 */
KERNEL void bn_finalize_stats(GLOBAL const float* part, int part_off, GLOBAL float* mean, int mean_off,
                              GLOBAL float* inv_std, int inv_std_off, GLOBAL float* run_mean, int run_mean_off,
                              GLOBAL float* run_var, int run_var_off, int c, int groups, int m, int chunk_len,
                              int chunks, float momentum, float eps) {
    int ch = GLOBAL_ID(0);
    if (ch >= c) return;
    float mean_total = 0.0f, var_total = 0.0f;
    for (int g = 0; g < groups; g++) {
        float count = 0.0f, mu = 0.0f, m2 = 0.0f;
        for (int k = 0; k < chunks; k++) {
            int at = part_off + ((g * c + ch) * chunks + k) * 2;
            float len = (float) min(chunk_len, m - k * chunk_len), total = count + len;
            float delta = part[at] - mu;
            mu += delta * (len / total);
            m2 += part[at + 1] + delta * delta * (count * len / total);
            count = total;
        }
        mean[mean_off + g * c + ch] = mu;
        inv_std[inv_std_off + g * c + ch] = 1.0f / sqrt(m2 / (float) m + eps);
        mean_total += mu;
        var_total += m2 / (float) (m - 1);
    }
    float keep = 1.0f - momentum, share = momentum / (float) groups;
    run_mean[run_mean_off + ch] = keep * run_mean[run_mean_off + ch] + share * mean_total;
    run_var[run_var_off + ch] = keep * run_var[run_var_off + ch] + share * var_total;
}

/*
 * The elementwise passes below walk planes: work-item (lane, p) of a 2-D launch (see PlaneLayout) handles values
 * lane, lane + lanes, ... of plane p, so the per-plane factors (one integer division to find the channel and
 * group, four loads) are computed once per plane and thread, not once per value; consecutive lanes read
 * consecutive floats, and with hw = 1 (lanes = 1) consecutive planes do. Planes advance by the grid's height,
 * so the host may cap it (CUDA grids are at most 65535 blocks high). The loop over a plane runs the same number
 * of rounds in every lane (a bound check inside, not in the loop condition): PoCL then vectorises across
 * lanes (1.5x faster there, measured on eval), and a GPU warp does not diverge on the trip count.
 */

/* y = (x - mean) (gamma invStd) + beta; subtracting the mean first keeps precision when |mean| is large (as on
   CPU). */
KERNEL void bn_normalize(GLOBAL const float* x, int x_off, GLOBAL const float* gamma, int gamma_off,
                         GLOBAL const float* beta, int beta_off, GLOBAL const float* mean, int mean_off,
                         GLOBAL const float* inv_std, int inv_std_off, GLOBAL float* y, int y_off,
                         int planes, int c, int hw, int groups) {
    for (int plane = GLOBAL_ID(1); plane < planes; plane += NUM_GROUPS(1) * LOCAL_SIZE(1)) {
        int sample = plane / c, ch = plane - sample * c, st = (sample % groups) * c + ch;
        float mu = mean[mean_off + st], scale = gamma[gamma_off + ch] * inv_std[inv_std_off + st];
        float shift = beta[beta_off + ch];
        for (int base = 0; base < hw; base += LOCAL_SIZE(0)) {
            int r = base + LOCAL_ID(0);
            if (r < hw) y[y_off + plane * hw + r] = (x[x_off + plane * hw + r] - mu) * scale + shift;
        }
    }
}

/* Eval mode: y = (x - runningMean) gamma / sqrt(runningVar + eps) + beta. */
KERNEL void bn_eval(GLOBAL const float* x, int x_off, GLOBAL const float* gamma, int gamma_off,
                    GLOBAL const float* beta, int beta_off, GLOBAL const float* run_mean, int run_mean_off,
                    GLOBAL const float* run_var, int run_var_off, GLOBAL float* y, int y_off,
                    int planes, int c, int hw, float eps) {
    for (int plane = GLOBAL_ID(1); plane < planes; plane += NUM_GROUPS(1) * LOCAL_SIZE(1)) {
        int ch = plane % c;
        float mu = run_mean[run_mean_off + ch], shift = beta[beta_off + ch];
        float scale = gamma[gamma_off + ch] / sqrt(run_var[run_var_off + ch] + eps);
        for (int base = 0; base < hw; base += LOCAL_SIZE(0)) {
            int r = base + LOCAL_ID(0);
            if (r < hw) y[y_off + plane * hw + r] = (x[x_off + plane * hw + r] - mu) * scale + shift;
        }
    }
}

/*
 * Backward sums per (slice, chunk): sum(dy) and sum(dy (x - mean)), the latter centred on the saved mean so
 * it does not cancel (as on CPU). Same work-group layout as bn_stats_planes; one pass.
 */
KERNEL void bn_grad_planes(GLOBAL const float* x, int x_off, GLOBAL const float* dy, int dy_off,
                           GLOBAL const float* mean, int mean_off, GLOBAL float* part, int part_off,
                           int c, int hw, int groups, int m, int chunk_len, int chunks) {
    LOCAL float sa[BN_WG];
    LOCAL float sb[BN_WG];
    int lid = LOCAL_ID(0), slice = GROUP_ID(0), k = GROUP_ID(1);
    int g = slice / c, ch = slice - g * c;
    int start = k * chunk_len, end = min(m, start + chunk_len);
    float mu = mean[mean_off + slice];

    float s1 = 0.0f, s2 = 0.0f;
    bn_walk w = bn_walk_start(start + lid, hw);
    for (int e = start + lid; e < end; e += BN_WG, w = bn_walk_next(w, hw)) {
        int at = bn_walk_at(w, g, ch, c, hw, groups);
        float d = dy[dy_off + at];
        s1 += d;
        s2 += d * (x[x_off + at] - mu);
    }
    sa[lid] = s1;
    sb[lid] = s2;
    BARRIER();
    BN_TREE_SUM2(sa, sb, lid, BN_WG);
    if (lid == 0) {
        int at = part_off + (slice * chunks + k) * 2;
        part[at] = sa[0];
        part[at + 1] = sb[0];
    }
}

/* Backward sums for rows (hw = 1); same work-group layout as bn_stats_rows. */
KERNEL void bn_grad_rows(GLOBAL const float* x, int x_off, GLOBAL const float* dy, int dy_off,
                         GLOBAL const float* mean, int mean_off, GLOBAL float* part, int part_off,
                         int c, int groups, int m, int chunk_len, int chunks) {
    LOCAL float sa[BN_TILE_R][BN_TILE_C];
    LOCAL float sb[BN_TILE_R][BN_TILE_C];
    int tx = LOCAL_ID(0), ty = LOCAL_ID(1);
    int ch = GROUP_ID(0) * BN_TILE_C + tx;
    int g = GROUP_ID(1) / chunks, k = GROUP_ID(1) - g * chunks;
    int start = k * chunk_len, end = min(m, start + chunk_len);
    bool live = ch < c;

    float s1 = 0.0f, s2 = 0.0f;
    if (live) {
        float mu = mean[mean_off + g * c + ch];
        for (int j = start + ty; j < end; j += BN_TILE_R) {
            int at = (g + j * groups) * c + ch;
            float d = dy[dy_off + at];
            s1 += d;
            s2 += d * (x[x_off + at] - mu);
        }
    }
    sa[ty][tx] = s1;
    sb[ty][tx] = s2;
    BARRIER();
    BN_COLUMN_SUM2(sa, sb);
    if (ty == 0 && live) {
        int at = part_off + ((g * c + ch) * chunks + k) * 2;
        part[at] = sa[0][tx];
        part[at + 1] = sb[0][tx];
    }
}

/*
 * One work-item per channel: with xhat = (x - mean) invStd, per group dgamma += sum(dy xhat), dbeta += sum(dy),
 * and the coefficients of dx += a dy + b (x - mean) + k (a = gamma invStd) go to coef[(g * c + ch) * 2]:
 * k = -gamma invStd sum(dy) / m, b = -gamma invStd^2 sum(dy xhat) / m.
 */
KERNEL void bn_finalize_grad(GLOBAL const float* part, int part_off, GLOBAL const float* gamma, int gamma_off,
                             GLOBAL const float* inv_std, int inv_std_off, GLOBAL float* coef, int coef_off,
                             GLOBAL float* dgamma, int dgamma_off, GLOBAL float* dbeta, int dbeta_off,
                             int c, int groups, int m, int chunks) {
    int ch = GLOBAL_ID(0);
    if (ch >= c) return;
    float gam = gamma[gamma_off + ch], dgamma_total = 0.0f, dbeta_total = 0.0f;
    for (int g = 0; g < groups; g++) {
        float sum_dy = 0.0f, sum_dy_centred = 0.0f;
        for (int k = 0; k < chunks; k++) {
            int at = part_off + ((g * c + ch) * chunks + k) * 2;
            sum_dy += part[at];
            sum_dy_centred += part[at + 1];
        }
        float inv = inv_std[inv_std_off + g * c + ch], sum_dy_xhat = sum_dy_centred * inv;
        dgamma_total += sum_dy_xhat;
        dbeta_total += sum_dy;
        int at = coef_off + (g * c + ch) * 2;
        coef[at] = -gam * inv * sum_dy / (float) m;
        coef[at + 1] = -gam * inv * inv * sum_dy_xhat / (float) m;
    }
    dgamma[dgamma_off + ch] += dgamma_total;
    dbeta[dbeta_off + ch] += dbeta_total;
}

/* dx += a dy + b (x - mean) + k (coefficients from bn_finalize_grad), walking planes as bn_normalize. */
KERNEL void bn_backward_apply(GLOBAL const float* x, int x_off, GLOBAL const float* dy, int dy_off,
                              GLOBAL const float* gamma, int gamma_off, GLOBAL const float* mean, int mean_off,
                              GLOBAL const float* inv_std, int inv_std_off, GLOBAL const float* coef, int coef_off,
                              GLOBAL float* dx, int dx_off, int planes, int c, int hw, int groups) {
    for (int plane = GLOBAL_ID(1); plane < planes; plane += NUM_GROUPS(1) * LOCAL_SIZE(1)) {
        int sample = plane / c, ch = plane - sample * c, st = (sample % groups) * c + ch;
        float a = gamma[gamma_off + ch] * inv_std[inv_std_off + st], mu = mean[mean_off + st];
        float k = coef[coef_off + st * 2], b = coef[coef_off + st * 2 + 1];
        for (int base = 0; base < hw; base += LOCAL_SIZE(0)) {
            int r = base + LOCAL_ID(0), at = plane * hw + r;
            if (r < hw) dx[dx_off + at] += a * dy[dy_off + at] + b * (x[x_off + at] - mu) + k;
        }
    }
}
