#include "jmoco.h"

/*
 * SGEMM: C = alpha op(A) op(B) + beta C, row-major, packed leading dimensions (see Backend#gemm).
 * op(A) is m x k: A is stored [m, k], or [k, m] when transA. op(B) is k x n: B is stored [k, n], or [n, k]
 * when transB. C is [m, n]. With beta = 0, C is never read, so NaNs in it do not propagate.
 *
 * Version 1, gemm_naive: one work-item per element of C, every operand read from global memory. Kept as the
 * readable reference (and as the fallback for devices whose work-groups cannot hold 256 work-items).
 *
 * Version 2, gemm_tiled: the classic shared-memory GEMM with register blocking.
 *   - A work-group of 16 x 16 = 256 work-items owns a 64 x 64 tile of C (GEMM_TILE x GEMM_TILE).
 *   - It walks k in steps of GEMM_TK = 16: each step stages a 64 x 16 tile of op(A) and a 16 x 64 tile of
 *     op(B) in LOCAL memory (4 floats loaded per work-item for each), then every work-item multiplies out
 *     its share from local memory. Each float loaded from global memory thus feeds 64 multiply-adds instead
 *     of one (naive), which is what turns a bandwidth-bound loop into a compute-bound one.
 *   - Work-item (tx, ty) holds a 4 x 4 block of C in registers (acc): rows ty + 16 i and columns tx + 16 j
 *     of the tile, i, j in 0..3. Per k step it reads 4 floats of A and 4 of B from local memory and does 16
 *     multiply-adds: half a local read per FMA, where tiling without register blocking needs two.
 *   - Rows/columns are strided by 16 (not a contiguous 4 x 4 block) so that, at each local read, the 16
 *     work-items of a row of the group read 16 consecutive floats of tile_b (distinct banks) and one float of
 *     tile_a (a broadcast), and at the final store consecutive work-items write consecutive columns of C
 *     (coalesced). A contiguous 4 x 4 block would read tile_b 4 floats apart, two per bank (2-way conflicts).
 *   Why these sizes: 256 work-items is a size every GPU supports (and fills a CUDA SM / AMD CU with several
 *   groups); 16 accumulators per work-item keep register pressure low enough for full occupancy; two tiles
 *   of 16 x 66 floats take 8.4 KB of local memory, far below the 32-64 KB every GPU has, so several groups
 *   fit per compute unit. Larger tiles (128 x 128, 8 x 8 per work-item) are faster on big GPUs but waste more
 *   on the small matrices of a ResNet's last stages.
 *
 * Transposes are handled where the tiles are staged, never by copying the matrices: both kernels read
 * op(A)[i][p] as A[i k + p] or A[p m + i], and the tiled kernel chooses, per layout, which index the
 * consecutive work-items walk, so that global reads stay coalesced (consecutive addresses) in all four cases.
 * transA and transB are the same for every work-item, so these branches never diverge.
 */

/* From KernelGeometry (-D, shared with the host): GEMM_TILE (64), the tile of C owned by one work-group (rows and
   columns); GEMM_TK (16), the depth (k) of the tiles staged in local memory per step; GEMM_WG (16), work-items
   per dimension of a work-group; each computes GEMM_TILE / GEMM_WG = 4 rows and 4 columns. */
#define GEMM_WORK (GEMM_TILE / GEMM_WG)
/*
 * Row length of the local tiles: 64 + 2. Stores into a tile from a row-major source walk GEMM_TK = 16
 * consecutive k indices per row of the tile, i.e. addresses 66 apart; with 32 banks of 4 bytes, 66 = 2 mod 32
 * puts the 16 k's on 16 distinct even banks and the next row's 16 on the odd ones: no conflicts. A stride of
 * 64 would put all 16 on one bank (16-way conflict), 65 would still collide between adjacent rows.
 */
#define GEMM_LD (GEMM_TILE + 2)

/* Element (i, p) of op(A), i < m, p < k. */
DEVICE_FN float gemm_op_a(const GLOBAL float* a, int a_off, int transA, int m, int k, int i, int p) {
    return transA ? a[a_off + p * m + i] : a[a_off + i * k + p];
}

/* Element (p, j) of op(B), p < k, j < n. */
DEVICE_FN float gemm_op_b(const GLOBAL float* b, int b_off, int transB, int n, int k, int p, int j) {
    return transB ? b[b_off + j * k + p] : b[b_off + p * n + j];
}

/* Version 1: one work-item per C[i][j]; 2-D launch, dimension 0 over columns j (coalesced stores). */
KERNEL void gemm_naive(int transA, int transB, int m, int n, int k, float alpha,
                       const GLOBAL float* RESTRICT a, int a_off, const GLOBAL float* RESTRICT b, int b_off,
                       float beta, GLOBAL float* RESTRICT c, int c_off) {
    int j = GLOBAL_ID(0), i = GLOBAL_ID(1);
    if (i >= m || j >= n) return;
    float sum = 0.0f;
    for (int p = 0; p < k; p++)
        sum += gemm_op_a(a, a_off, transA, m, k, i, p) * gemm_op_b(b, b_off, transB, n, k, p, j);
    int at = c_off + i * n + j;
    c[at] = beta == 0.0f ? alpha * sum : alpha * sum + beta * c[at];
}

/*
 * Version 2 (see the file comment). Launch: local size (16, 16), global size (16 ceil(n / 64),
 * 16 ceil(m / 64) slices); dimension 0 runs over columns of C, dimension 1 over rows, then over slices of k.
 * Tiles hanging over the edges of A, B or C are zero-filled when staged and masked when stored, so any
 * m, n, k >= 1 works.
 *
 * Split-k: with slices > 1, work-group row GROUP_ID(1) = slice * ceil(m / 64) + tile row sums only
 * p in [slice k_slice, (slice + 1) k_slice) and writes its partial C, unscaled, to c + slice m n (scratch);
 * gemm_splitk_reduce then adds the slices in order. A GEMM whose C has few tiles but a long k (the weight
 * gradients: dW [64, 576] summed over 65536 pixels is 9 tiles) would otherwise run as a handful of
 * work-groups on a GPU with a hundred compute units. Summing slices in a fixed order keeps it deterministic.
 */
KERNEL void gemm_tiled(int transA, int transB, int m, int n, int k, int k_slice, float alpha,
                       const GLOBAL float* RESTRICT a, int a_off, const GLOBAL float* RESTRICT b, int b_off,
                       float beta, GLOBAL float* RESTRICT c, int c_off) {
    /* tile_a[p][i] = op(A)[row0 + i][p0 + p], tile_b[p][j] = op(B)[p0 + p][col0 + j]: both k-major, so that the
       inner loop reads a row of each (see the bank argument at GEMM_LD). */
    LOCAL float tile_a[GEMM_TK][GEMM_LD];
    LOCAL float tile_b[GEMM_TK][GEMM_LD];

    const int tx = LOCAL_ID(0), ty = LOCAL_ID(1);
    const int tid = ty * GEMM_WG + tx;
    const int row_tiles = (m + GEMM_TILE - 1) / GEMM_TILE, slice = GROUP_ID(1) / row_tiles;
    const int row0 = (GROUP_ID(1) % row_tiles) * GEMM_TILE, col0 = GROUP_ID(0) * GEMM_TILE;
    const int k0 = slice * k_slice, k1 = min(k, k0 + k_slice);

    float acc[GEMM_WORK][GEMM_WORK];
#pragma unroll
    for (int i = 0; i < GEMM_WORK; i++)
#pragma unroll
        for (int j = 0; j < GEMM_WORK; j++) acc[i][j] = 0.0f;

    for (int p0 = k0; p0 < k1; p0 += GEMM_TK) {
        /* Stage the tiles: 1024 floats each, 4 per work-item. Linear index e = tid + 256 l is split into
           (tile row, tile k) so that consecutive work-items read consecutive global addresses: along k when
           the source is stored with k contiguous (A as [m, k], B as [n, k]), along i or j otherwise. */
#pragma unroll
        for (int l = 0; l < GEMM_WORK; l++) {
            int e = tid + l * GEMM_WG * GEMM_WG;
            int ti = transA ? e % GEMM_TILE : e / GEMM_TK;
            int tp = transA ? e / GEMM_TILE : e % GEMM_TK;
            int gi = row0 + ti, gp = p0 + tp;
            tile_a[tp][ti] = gi < m && gp < k1 ? gemm_op_a(a, a_off, transA, m, k, gi, gp) : 0.0f;

            int tj = transB ? e / GEMM_TK : e % GEMM_TILE;
            tp = transB ? e % GEMM_TK : e / GEMM_TILE;
            int gj = col0 + tj;
            gp = p0 + tp;
            tile_b[tp][tj] = gj < n && gp < k1 ? gemm_op_b(b, b_off, transB, n, k, gp, gj) : 0.0f;
        }
        BARRIER(); /* the tiles are complete before anyone reads them */

#pragma unroll
        for (int p = 0; p < GEMM_TK; p++) {
            float av[GEMM_WORK], bv[GEMM_WORK];
#pragma unroll
            for (int i = 0; i < GEMM_WORK; i++) av[i] = tile_a[p][ty + i * GEMM_WG];
#pragma unroll
            for (int j = 0; j < GEMM_WORK; j++) bv[j] = tile_b[p][tx + j * GEMM_WG];
#pragma unroll
            for (int i = 0; i < GEMM_WORK; i++)
#pragma unroll
                for (int j = 0; j < GEMM_WORK; j++) acc[i][j] += av[i] * bv[j];
        }
        BARRIER(); /* everyone is done with the tiles before the next step overwrites them */
    }

#pragma unroll
    for (int i = 0; i < GEMM_WORK; i++) {
        int gi = row0 + ty + i * GEMM_WG;
        if (gi >= m) break;
#pragma unroll
        for (int j = 0; j < GEMM_WORK; j++) {
            int gj = col0 + tx + j * GEMM_WG;
            if (gj >= n) break;
            int at = c_off + slice * m * n + gi * n + gj;
            c[at] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c[at];
        }
    }
}

/* c[e] = alpha sum over s of partial[s count + e] (+ beta c[e] unless beta = 0), s in order; count = m n. */
KERNEL void gemm_splitk_reduce(int count, int slices, float alpha, const GLOBAL float* RESTRICT partial,
                               int partial_off, float beta, GLOBAL float* RESTRICT c, int c_off) {
    int e = GLOBAL_ID(0);
    if (e >= count) return;
    float sum = 0.0f;
    for (int s = 0; s < slices; s++) sum += partial[partial_off + s * count + e];
    c[c_off + e] = beta == 0.0f ? alpha * sum : alpha * sum + beta * c[c_off + e];
}
