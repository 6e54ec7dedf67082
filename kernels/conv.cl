#include "jmoco.h"

/*
 * Convolution as GEMM (see ConvKernels). The column matrix of a group of G images x [G, C, H, W] is
 * col [C R S, G P Q]: row (c, r, s) and column (g, p, q) hold x[g][c][p stride - pad + r][q stride - pad + s],
 * zero in the padding. With W as [K, C R S]:
 *   forward          Y  [K, G P Q]  = W col       (conv_fwd_implicit)
 *   backward filter  dW [K, C R S] += dY col^T    (conv_bwd_filter_implicit)
 *   backward data    at stride 1: a forward convolution of dy with conv_flip_filter's filter, adding into dx;
 *                    otherwise dcol = W^T dY (gemm_tiled), then conv_col2im_add adds dcol into dx.
 * The implicit kernels gather the tiles of col from x while staging them: col never exists in memory.
 * dY is [K, G P Q] in the GEMM but [G, K, P Q] in NCHW memory: conv_gather_kgpq reorders a group when G > 1.
 *
 * The lowering kernels are 1-D, one work-item per element of the array they write, numbered in that array's
 * memory order: consecutive work-items write consecutive addresses (coalesced), and each element is written by
 * exactly one work-item, so results never depend on scheduling (no atomics anywhere).
 */

/*
 * dx[g][ch][ih][iw] += sum of dcol[(ch, tr, ts)][(g, op, oq)] over the taps (tr, ts) whose window position
 * (op, oq) = ((ih + pad - tr) / stride, (iw + pad - ts) / stride) is a whole, in-range output pixel: the
 * adjoint of im2col, in gather form (each dx element sums its own contributions in a fixed order, where the
 * scatter form would need atomics). count = g c h w; the group starts at dx[dx_off].
 */
KERNEL void conv_col2im_add(int count, int c, int h, int w, int r, int s, int p, int q, int stride, int pad,
                            const GLOBAL float* RESTRICT dcol, int dcol_off, GLOBAL float* RESTRICT dx,
                            int dx_off) {
    int e = GLOBAL_ID(0);
    if (e >= count) return;
    int iw = e % w, ih = (e / w) % h, ch = (e / (w * h)) % c, g = e / (w * h * c);
    int pq = p * q;
    int cols = (count / (c * h * w)) * pq;
    float sum = 0.0f;
    for (int tr = 0; tr < r; tr++) {
        int oh = ih + pad - tr;
        if (oh < 0 || oh % stride != 0 || oh / stride >= p) continue;
        for (int ts = 0; ts < s; ts++) {
            int ow = iw + pad - ts;
            if (ow < 0 || ow % stride != 0 || ow / stride >= q) continue;
            sum += dcol[dcol_off + ((ch * r + tr) * s + ts) * cols + g * pq + (oh / stride) * q + ow / stride];
        }
    }
    dx[dx_off + e] += sum;
}

/* dst [k, g pq] = src [g, k, pq] (a group of NCHW outputs as one GEMM operand); count = g k pq. */
KERNEL void conv_gather_kgpq(int count, int k, int pq, const GLOBAL float* RESTRICT src, int src_off,
                             GLOBAL float* RESTRICT dst, int dst_off) {
    int e = GLOBAL_ID(0);
    if (e >= count) return;
    int cols = count / k;
    int kk = e / cols, j = e % cols;
    dst[dst_off + e] = src[src_off + ((j / pq) * k + kk) * pq + j % pq];
}

/* flipped [c, k, r, s] = w [k, c, r - 1 - tr, s - 1 - ts]: the filter of the transposed convolution. */
KERNEL void conv_flip_filter(int k, int c, int r, int s, const GLOBAL float* RESTRICT wt, int wt_off,
                             GLOBAL float* RESTRICT flipped, int flipped_off) {
    int e = GLOBAL_ID(0), rs = r * s;
    if (e >= k * c * rs) return;
    int tap = e % rs, kk = (e / rs) % k, ch = e / (rs * k);
    flipped[flipped_off + e] = wt[wt_off + (kk * c + ch) * rs + rs - 1 - tap];
}

/*
 * Forward convolution as an implicit GEMM: Y [K, N P Q] = W [K, C R S] col [C R S, N P Q], with the tiles of
 * col gathered straight from x while they are staged, so the column matrix never exists in memory. Tiling,
 * work-item blocks and local-memory padding are those of gemm_tiled (kernels/gemm.cl, where they are
 * explained): 16 x 16 work-items per 64 x 64 tile of Y, a 4 x 4 block each, steps of 16 along C R S.
 * With accumulate != 0 it adds into y (backward data runs through here as a convolution of dy, see ConvKernels).
 * Launch: local (16, 16), global (16 ceil(N P Q / 64), 16 ceil(K / 64)).
 */
/* CONV_TILE (64) and CONV_WG (16), the launch's tile and work-group side, come from KernelGeometry (-D). */
#define CONV_TK 16
#define CONV_WORK (CONV_TILE / CONV_WG)
#define CONV_LD (CONV_TILE + 2)

/*
 * acc += A_tile^T B_tile over the CONV_TK steps staged in local memory: each work-item reads its CONV_WORK rows
 * of A and CONV_WORK columns of B (strided by CONV_WG, so neighbouring work-items hit neighbouring banks) into
 * registers, then does CONV_WORK^2 multiply-adds per pair of reads. A macro, not a DEVICE_FN, because the
 * tiles are local arrays and the header has no local-pointer parameter type.
 */
#define CONV_TILE_PRODUCT(ta, tb)                                                            \
    for (int t_ = 0; t_ < CONV_TK; t_++) {                                                   \
        float av[CONV_WORK], bv[CONV_WORK];                                                  \
        for (int i = 0; i < CONV_WORK; i++) av[i] = ta[t_][ty + i * CONV_WG];                \
        for (int j = 0; j < CONV_WORK; j++) bv[j] = tb[t_][tx + j * CONV_WG];                \
        for (int i = 0; i < CONV_WORK; i++)                                                  \
            for (int j = 0; j < CONV_WORK; j++) acc[i][j] += av[i] * bv[j];                  \
    }

KERNEL void conv_fwd_implicit(int n, int c, int h, int w, int k, int r, int s, int p, int q, int stride, int pad,
                              const GLOBAL float* RESTRICT x, int x_off, const GLOBAL float* RESTRICT wt,
                              int wt_off, int accumulate, GLOBAL float* RESTRICT y, int y_off) {
    LOCAL float tile_w[CONV_TK][CONV_LD];
    LOCAL float tile_x[CONV_TK][CONV_LD];

    const int tx = LOCAL_ID(0), ty = LOCAL_ID(1);
    const int tid = ty * CONV_WG + tx;
    const int row0 = GROUP_ID(1) * CONV_TILE, col0 = GROUP_ID(0) * CONV_TILE;
    const int rs = r * s, crs = c * rs, pq = p * q, cols = n * pq;

    /* Element e = tid + 256 l of a staged col tile sits in column e % 64 = tid % 64 for every l and every
       step: each work-item gathers from one output pixel (image, op, oq), decoded once here. Consecutive
       work-items take consecutive pixels, so at stride 1 they read consecutive x addresses. */
    const int tj = tid % CONV_TILE, gj = col0 + tj;
    const int img = gj / pq, opq = gj % pq;
    const int ih0 = (opq / q) * stride - pad, iw0 = (opq % q) * stride - pad;
    const int x_img = x_off + img * c * h * w;

    float acc[CONV_WORK][CONV_WORK];
#pragma unroll
    for (int i = 0; i < CONV_WORK; i++)
#pragma unroll
        for (int j = 0; j < CONV_WORK; j++) acc[i][j] = 0.0f;

    for (int p0 = 0; p0 < crs; p0 += CONV_TK) {
#pragma unroll
        for (int l = 0; l < CONV_WORK; l++) {
            int e = tid + l * CONV_WG * CONV_WG;
            /* W [K, C R S] is stored with C R S contiguous: consecutive work-items walk it. */
            int ti = e / CONV_TK, tp = e % CONV_TK;
            int gi = row0 + ti, gp = p0 + tp;
            tile_w[tp][ti] = gi < k && gp < crs ? wt[wt_off + gi * crs + gp] : 0.0f;

            /* col[(ch, tr, ts)][pixel] = x[img][ch][ih0 + tr][iw0 + ts], zero in the padding. */
            tp = e / CONV_TILE;
            gp = p0 + tp;
            float v = 0.0f;
            if (gj < cols && gp < crs) {
                int ch = gp / rs, tap = gp % rs;
                int ih = ih0 + tap / s, iw = iw0 + tap % s;
                if (ih >= 0 && ih < h && iw >= 0 && iw < w) v = x[x_img + (ch * h + ih) * w + iw];
            }
            tile_x[tp][tj] = v;
        }
        BARRIER();

        CONV_TILE_PRODUCT(tile_w, tile_x);
        BARRIER();
    }

    /* Y (kk, pixel) lives at y[img][kk][opq] in NCHW. */
#pragma unroll
    for (int j = 0; j < CONV_WORK; j++) {
        int col = col0 + tx + j * CONV_WG;
        if (col >= cols) break;
        int at = y_off + (col / pq) * k * pq + col % pq;
#pragma unroll
        for (int i = 0; i < CONV_WORK; i++) {
            int kk = row0 + ty + i * CONV_WG;
            if (kk < k) y[at + kk * pq] = accumulate ? y[at + kk * pq] + acc[i][j] : acc[i][j];
        }
    }
}

/*
 * Filter gradient as an implicit GEMM: dW [K, C R S] (+)= dY [K, N P Q] col^T [N P Q, C R S], reduced over the
 * output pixels, with the tiles of dY read from NCHW and those of col^T gathered from x while staged (no column
 * matrix in memory). Same tiling as gemm_tiled, with the pixels as its k. Split over pixels like gemm_tiled's
 * split-k: work-group row GROUP_ID(1) = slice * ceil(K / 64) + tile row sums the pixels
 * [slice pix_slice, (slice + 1) pix_slice) and stores into dw + slice K C R S, adding to it when accumulate is
 * set (one slice, straight into dW) or writing a partial sum for gemm_splitk_reduce (several slices).
 * Launch: local (16, 16), global (16 ceil(C R S / 64), 16 ceil(K / 64) slices).
 */
KERNEL void conv_bwd_filter_implicit(int n, int c, int h, int w, int k, int r, int s, int p, int q, int stride,
                                     int pad, const GLOBAL float* RESTRICT x, int x_off,
                                     const GLOBAL float* RESTRICT dy, int dy_off, int pix_slice, int accumulate,
                                     GLOBAL float* RESTRICT dw, int dw_off) {
    LOCAL float tile_dy[CONV_TK][CONV_LD];
    LOCAL float tile_x[CONV_TK][CONV_LD];

    const int tx = LOCAL_ID(0), ty = LOCAL_ID(1);
    const int tid = ty * CONV_WG + tx;
    const int rs = r * s, crs = c * rs, pq = p * q, pixels = n * pq;
    const int row_tiles = (k + CONV_TILE - 1) / CONV_TILE, slice = GROUP_ID(1) / row_tiles;
    const int row0 = (GROUP_ID(1) % row_tiles) * CONV_TILE, col0 = GROUP_ID(0) * CONV_TILE;
    const int pix0 = slice * pix_slice, pix1 = min(pixels, pix0 + pix_slice);

    /* Both tiles are staged with the pixel index t = e % 16 = tid % 16 varying fastest (consecutive work-items,
       consecutive pixels: consecutive addresses in dy, and in x at stride 1), and the other index
       e / 16 = tid / 16 + 16 l fixed per work-item and l: the filter taps (ch, tr, ts) of its col^T columns are
       decoded once here, and each step decodes one pixel. */
    const int t = tid % CONV_TK;
    int tap_x[CONV_WORK], tap_h[CONV_WORK], tap_w[CONV_WORK];
#pragma unroll
    for (int l = 0; l < CONV_WORK; l++) {
        int gj = col0 + tid / CONV_TK + l * CONV_WG;
        int ch = gj / rs, tap = gj % rs;
        tap_x[l] = gj < crs ? ch * h * w : -1;
        tap_h[l] = tap / s - pad;
        tap_w[l] = tap % s - pad;
    }

    float acc[CONV_WORK][CONV_WORK];
#pragma unroll
    for (int i = 0; i < CONV_WORK; i++)
#pragma unroll
        for (int j = 0; j < CONV_WORK; j++) acc[i][j] = 0.0f;

    for (int p0 = pix0; p0 < pix1; p0 += CONV_TK) {
        int pix = p0 + t;
        int img = pix / pq, opq = pix % pq;
        int oh = (opq / q) * stride, ow = (opq % q) * stride;
#pragma unroll
        for (int l = 0; l < CONV_WORK; l++) {
            int tl = tid / CONV_TK + l * CONV_WG;
            int kk = row0 + tl;
            tile_dy[t][tl] = pix < pix1 && kk < k ? dy[dy_off + (img * k + kk) * pq + opq] : 0.0f;
            int ih = oh + tap_h[l], iw = ow + tap_w[l];
            tile_x[t][tl] = pix < pix1 && tap_x[l] >= 0 && ih >= 0 && ih < h && iw >= 0 && iw < w
                    ? x[x_off + img * c * h * w + tap_x[l] + ih * w + iw] : 0.0f;
        }
        BARRIER();

        CONV_TILE_PRODUCT(tile_dy, tile_x);
        BARRIER();
    }

#pragma unroll
    for (int i = 0; i < CONV_WORK; i++) {
        int kk = row0 + ty + i * CONV_WG;
        if (kk >= k) break;
#pragma unroll
        for (int j = 0; j < CONV_WORK; j++) {
            int gj = col0 + tx + j * CONV_WG;
            if (gj >= crs) break;
            int at = dw_off + slice * k * crs + kk * crs + gj;
            dw[at] = accumulate ? dw[at] + acc[i][j] : acc[i][j];
        }
    }
}
