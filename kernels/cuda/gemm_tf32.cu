/*
 * SGEMM on tensor cores in TF32 (CUDA only, sm_80 and later): C = alpha op(A) op(B) + beta C with exactly the
 * semantics of gemm_tiled in kernels/gemm.cl and Backend#gemm: row-major, packed leading dimensions, op(A) m x k
 * (A stored [m, k], or [k, m] when transA), op(B) k x n (B stored [k, n], or [n, k] when transB), C [m, n],
 * any m, n, k >= 1; with beta = 0, C is never read (NaNs in it do not propagate). Used by the CUDA backend only
 * when the user allows TF32 (--device cuda:tf32): inputs lose 13 of their 23 mantissa bits (rounded to
 * nearest, ties away from zero, by cvt.rna.tf32.f32); products are summed in float.
 *
 * Structure: the simple, proven wmma GEMM, with nothing clever.
 *   - A block of 128 threads (4 warps) owns a 64 x 64 tile of C; blockIdx.x runs over tiles of columns,
 *     blockIdx.y over tiles of rows (then over slices of k: split-k, at the kernel).
 *   - It walks k in steps of 16: each step stages a 64 x 16 tile of op(A) and a 16 x 64 tile of op(B) in shared
 *     memory (8 floats per thread for each), converted to TF32 once there, and zero-filled where the tile hangs
 *     over an edge of A or B, so any m, n, k works and padded rows/columns contribute exact zeros.
 *   - Warp w owns the 32 x 32 sub-tile at rows 32 (w / 2), columns 32 (w % 2): 2 x 2 accumulator fragments of
 *     16 x 16, each updated by two m16n16k8 mma steps per k step (wmma: fragments in registers).
 *   - Epilogue: the fragments go to a shared 64 x 64 staging tile, then every thread applies alpha and beta to
 *     32 elements with bounds checks; consecutive threads write consecutive columns of C (coalesced).
 *
 * Shared layouts. Both tiles are stored k-contiguous, 16 + 4 floats a row: tile_a[i][p] = op(A)[row0 + i][p0 + p]
 * (fragment matrix_a, row_major) and tile_b[j][p] = op(B)[p0 + p][col0 + j] (fragment matrix_b, col_major: element
 * (p, j) at j * ldm + p). Transposes are handled only by which global index the copy walks, so the fragments always
 * load the same layout. Why 20: wmma needs ldm a multiple of 4 floats and 32-byte-aligned fragment pointers (every
 * pointer below is a multiple of 16 rows * 20 floats plus 0 or 8 floats from a __align__(32) array: a multiple of
 * 8 floats = 32 bytes); and the tf32 fragment loads read, per lane (g = lane / 4, t = lane % 4), element
 * (g [+ 8], t [+ 4]) of the 16 x 8 operand (the operand layout of PTX mma.m16n8k8.tf32; wmma's own is not
 * documented, so this is the expected pattern, a matter of speed only), i.e. word g * 20 + t: the 8 rows start
 * on banks 0, 20, 8, 28, 16, 4, 24, 12, so the 32 lanes hit 32 distinct banks (a stride of 16 would be 4-way
 * conflicted, 24 2-way).
 * The staging tile of C is 64 + 4 floats a row (a multiple of 4, as store_matrix_sync requires).
 * Static shared memory: 2 * 64 * 20 * 4 + 64 * 68 * 4 = 27,648 bytes (under the 48 KB static limit). ptxas (nvcc 13,
 * sm_80 and sm_90): 96 registers, no spills, so registers allow 5 blocks (20 warps) per SM, shared memory 5 or more.
 *
 * Global reads: scalar (the buffers are views at arbitrary float offsets, so nothing beyond 4-byte alignment is
 * known) and coalesced in all four layouts: the copy walks along k when the source is stored with k contiguous
 * (A as [m, k], B as [n, k]: 16 consecutive floats per row of the tile, two rows per warp), along i or j otherwise
 * (64 consecutive floats per k). Offsets are applied to the pointers first, so index arithmetic stays below m k,
 * k n and m n, which the host checks fit an int (and m, n, k at most INT_MAX - 64, so that tile origins and the
 * k loop cannot overflow either).
 *
 * MIRRORED LINE BY LINE by src/test/java/dev/jmoco/backend/cuda/Tf32GemmTilingTest.java (a CPU emulation of this
 * kernel's index arithmetic, run without a GPU): change both together.
 */
#include <mma.h>

/* GEMM_TF32_TILE (64), GEMM_TF32_TK (16), GEMM_TF32_THREADS (128): tile of C per block (rows and columns), depth
   of the k step, threads per block; shared with the host (Tf32Gemm), so passed by nvcc -D from KernelGeometry. */
/* Row lengths (floats) of the shared tiles: k-contiguous operand tiles, and the staging tile of C (see above). */
#define GEMM_TF32_LDK (GEMM_TF32_TK + 4)
#define GEMM_TF32_LDC (GEMM_TF32_TILE + 4)
/* Side of a warp's sub-tile, and of a wmma fragment (m = n = 16, k = 8). */
#define GEMM_TF32_WARP_TILE 32
#define GEMM_TF32_FRAG 16
#define GEMM_TF32_FRAG_K 8
/* Blocks per SM asked of ptxas: 5 caps registers at 96 (65536 / (5 * 128) = 102.4, rounded down to a multiple of 8),
   which it meets without spills on sm_80 and sm_90; left free, sm_80 took 128 (4 blocks). */
#define GEMM_TF32_MIN_BLOCKS 5

/*
 * Launch: blocks of (128, 1) threads, grid (ceil(n / 64), slices ceil(m / 64)); the host (Tf32Gemm) passes global
 * sizes (128 ceil(n / 64), slices ceil(m / 64)) and local sizes (128, 1). Arguments as gemm_tiled's (gemm.cl).
 *
 * Split-k, exactly as gemm_tiled: with slices > 1, block row blockIdx.y = slice * ceil(m / 64) + tile row sums only
 * p in [slice k_slice, min(k, (slice + 1) k_slice)) and writes its partial C to c + slice m n (scratch; the host
 * passes alpha 1, beta 0), and gemm.cl's gemm_splitk_reduce adds the slices in order (deterministic). MoCo's
 * InfoNCE backward, dq [256, 128] = dlogits [256, 65536] queue [65536, 128], has 8 tiles of C: unsplit, 8 blocks
 * would walk k = 65536 on 8 of 100+ SMs. With slices = 1, k_slice = k.
 */
extern "C" __global__ void __launch_bounds__(GEMM_TF32_THREADS, GEMM_TF32_MIN_BLOCKS)
gemm_tf32_tiled(int transA, int transB, int m, int n, int k, int k_slice, float alpha,
                const float* __restrict__ a, int a_off, const float* __restrict__ b, int b_off,
                float beta, float* __restrict__ c, int c_off) {
    using namespace nvcuda;
    __shared__ __align__(32) float tile_a[GEMM_TF32_TILE][GEMM_TF32_LDK];
    __shared__ __align__(32) float tile_b[GEMM_TF32_TILE][GEMM_TF32_LDK];
    __shared__ __align__(32) float tile_c[GEMM_TF32_TILE][GEMM_TF32_LDC];

    const float* A = a + a_off;
    const float* B = b + b_off;
    const int tid = threadIdx.x;
    const int row_tiles = (m + GEMM_TF32_TILE - 1) / GEMM_TF32_TILE, slice = blockIdx.y / row_tiles;
    const int row0 = (blockIdx.y % row_tiles) * GEMM_TF32_TILE, col0 = blockIdx.x * GEMM_TF32_TILE;
    const int k0 = slice * k_slice, k1 = k0 + min(k_slice, k - k0); /* min(k, k0 + k_slice) without overflow */
    /* slice m n <= INT_MAX (host check), but the product is formed in 64 bits anyway before it moves a pointer */
    float* C = c + c_off + (long long) slice * m * n;
    const int warp = tid / 32;
    const int warp_row = (warp / 2) * GEMM_TF32_WARP_TILE, warp_col = (warp % 2) * GEMM_TF32_WARP_TILE;

    wmma::fragment<wmma::accumulator, GEMM_TF32_FRAG, GEMM_TF32_FRAG, GEMM_TF32_FRAG_K, float> acc[2][2];
#pragma unroll
    for (int fi = 0; fi < 2; fi++)
#pragma unroll
        for (int fj = 0; fj < 2; fj++) wmma::fill_fragment(acc[fi][fj], 0.0f);

    /* This thread's share of each staged tile: elements l = 0..7 at (tile row, tile k) = (ti0 + l dti, tp0 + l dtp),
       the same for every k step. It is the split of e = tid + 128 l that makes consecutive threads read consecutive
       global addresses: (e / 16, e % 16), walking k, when the source is stored with k contiguous (A as [m, k],
       B as [n, k]); (e % 64, e / 64), walking rows of op(A) or columns of op(B), otherwise. And op(A)[i][p] is
       A[i si + p sp], op(B)[p][j] is B[p sp + j sj]: strides instead of branches on the layout. */
    const int a_ti0 = transA ? tid % GEMM_TF32_TILE : tid / GEMM_TF32_TK;
    const int a_tp0 = transA ? tid / GEMM_TF32_TILE : tid % GEMM_TF32_TK;
    const int a_dti = transA ? 0 : GEMM_TF32_THREADS / GEMM_TF32_TK;
    const int a_dtp = transA ? GEMM_TF32_THREADS / GEMM_TF32_TILE : 0;
    const int a_si = transA ? 1 : k, a_sp = transA ? m : 1;
    const int b_tj0 = transB ? tid / GEMM_TF32_TK : tid % GEMM_TF32_TILE;
    const int b_tp0 = transB ? tid % GEMM_TF32_TK : tid / GEMM_TF32_TILE;
    const int b_dtj = transB ? GEMM_TF32_THREADS / GEMM_TF32_TK : 0;
    const int b_dtp = transB ? 0 : GEMM_TF32_THREADS / GEMM_TF32_TILE;
    const int b_sp = transB ? 1 : n, b_sj = transB ? k : 1;

    for (int p0 = k0; p0 < k1; p0 += GEMM_TF32_TK) {
        /* Stage the tiles: 64 x 16 = 1024 floats each, 8 per thread; zeros where the tile hangs over an edge. */
#pragma unroll
        for (int l = 0; l < GEMM_TF32_TILE * GEMM_TF32_TK / GEMM_TF32_THREADS; l++) {
            const int ti = a_ti0 + l * a_dti, tp = a_tp0 + l * a_dtp;
            const int gi = row0 + ti, gp = p0 + tp;
            tile_a[ti][tp] = wmma::__float_to_tf32(gi < m && gp < k1 ? A[gi * a_si + gp * a_sp] : 0.0f);
        }
#pragma unroll
        for (int l = 0; l < GEMM_TF32_TILE * GEMM_TF32_TK / GEMM_TF32_THREADS; l++) {
            const int tj = b_tj0 + l * b_dtj, tp = b_tp0 + l * b_dtp;
            const int gj = col0 + tj, gp = p0 + tp;
            tile_b[tj][tp] = wmma::__float_to_tf32(gj < n && gp < k1 ? B[gp * b_sp + gj * b_sj] : 0.0f);
        }
        __syncthreads(); /* the tiles are complete before any warp loads a fragment */

#pragma unroll
        for (int ks = 0; ks < GEMM_TF32_TK; ks += GEMM_TF32_FRAG_K) {
            wmma::fragment<wmma::matrix_a, GEMM_TF32_FRAG, GEMM_TF32_FRAG, GEMM_TF32_FRAG_K,
                           wmma::precision::tf32, wmma::row_major> fa[2];
            wmma::fragment<wmma::matrix_b, GEMM_TF32_FRAG, GEMM_TF32_FRAG, GEMM_TF32_FRAG_K,
                           wmma::precision::tf32, wmma::col_major> fb[2];
#pragma unroll
            for (int fi = 0; fi < 2; fi++)
                wmma::load_matrix_sync(fa[fi], &tile_a[warp_row + fi * GEMM_TF32_FRAG][ks], GEMM_TF32_LDK);
#pragma unroll
            for (int fj = 0; fj < 2; fj++)
                wmma::load_matrix_sync(fb[fj], &tile_b[warp_col + fj * GEMM_TF32_FRAG][ks], GEMM_TF32_LDK);
#pragma unroll
            for (int fi = 0; fi < 2; fi++)
#pragma unroll
                for (int fj = 0; fj < 2; fj++) wmma::mma_sync(acc[fi][fj], fa[fi], fb[fj], acc[fi][fj]);
        }
        __syncthreads(); /* every warp is done with the tiles before the next step overwrites them */
    }

    /* Epilogue: fragments to the staging tile (their own region per warp, so no barrier is needed before),
       then alpha/beta with bounds checks, 32 elements per thread, consecutive threads on consecutive columns. */
#pragma unroll
    for (int fi = 0; fi < 2; fi++)
#pragma unroll
        for (int fj = 0; fj < 2; fj++)
            wmma::store_matrix_sync(&tile_c[warp_row + fi * GEMM_TF32_FRAG][warp_col + fj * GEMM_TF32_FRAG],
                                    acc[fi][fj], GEMM_TF32_LDC, wmma::mem_row_major);
    __syncthreads(); /* the whole staging tile is written before threads read other warps' regions */

#pragma unroll 4
    for (int l = 0; l < GEMM_TF32_TILE * GEMM_TF32_TILE / GEMM_TF32_THREADS; l++) {
        const int e = tid + l * GEMM_TF32_THREADS;
        const int ti = e / GEMM_TF32_TILE, tj = e % GEMM_TF32_TILE;
        const int gi = row0 + ti, gj = col0 + tj;
        if (gi < m && gj < n) {
            const int at = gi * n + gj;
            const float sum = tile_c[ti][tj];
            C[at] = beta == 0.0f ? alpha * sum : alpha * sum + beta * C[at];
        }
    }
}
