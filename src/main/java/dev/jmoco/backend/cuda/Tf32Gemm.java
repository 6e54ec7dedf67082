package dev.jmoco.backend.cuda;

import dev.jmoco.backend.gpu.DeviceBuffer;
import dev.jmoco.backend.gpu.KernelGeometry;
import dev.jmoco.backend.gpu.KernelRuntime;

/**
 * SGEMM on tensor cores in TF32 ({@code gemm_tf32_tiled} of kernels/cuda/gemm_tf32.cu, sm_80 and later), with
 * Backend#gemm's exact contract, all four transposes and any m, n, k &gt;= 1: one block of 128 threads (4 warps,
 * each 32 x 32 of C as 2 x 2 wmma m16n16k8 fragments) per 64 x 64 tile of C, k in steps of 16 staged through
 * shared memory. Inputs are rounded to TF32 (10 mantissa bits) and products summed in float, so results differ
 * from float32 GEMM by up to about k 2^-10 max|a| max|b| (derived at Tf32GemmTilingTest.tf32Abs): for
 * {@code --device cuda:tf32} only.
 * <p>
 * Split-k as {@link dev.jmoco.backend.gpu.GemmKernels} does it, with the same rule and constants: when C has
 * fewer than {@value #GROUPS_PER_UNIT} tiles per SM and k is long, k is cut into slices that run as separate blocks
 * into scratch, then summed in order by gemm.cl's {@code gemm_splitk_reduce} (deterministic). MoCo's InfoNCE
 * backward dq [256, 128] (k = 65536) has 8 tiles: unsplit, it would run on 8 SMs.
 */
final class Tf32Gemm {
    /** Tile of C per block, depth of the kernel's k step, threads per block (gemm_tf32.cu; defined in KernelGeometry). */
    static final int TILE = KernelGeometry.GEMM_TF32_TILE, TILE_K = KernelGeometry.GEMM_TF32_TK,
            THREADS = KernelGeometry.GEMM_TF32_THREADS;
    static final String KERNEL = "gemm_tf32_tiled", REDUCE = "gemm_splitk_reduce";
    /** Blocks per SM below which k is split, and the shortest slice: GemmKernels' values, for the same reasons. */
    static final int GROUPS_PER_UNIT = 4, MIN_SLICE = 256;
    /** Threads per block of the reduction (1-D). */
    private static final int REDUCE_LOCAL = 256;

    private final KernelRuntime rt;

    Tf32Gemm(KernelRuntime rt) { this.rt = rt; }

    /**
     * C = alpha op(A) op(B) + beta C (Backend#gemm); buffers already checked for size.
     *
     * @throws IllegalArgumentException when an operand has more than Integer.MAX_VALUE floats (the kernel indexes
     *                                  with int), a size is within a tile of Integer.MAX_VALUE, or m needs more
     *                                  than CUDA's 65,535 blocks along the grid's y
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DeviceBuffer a, DeviceBuffer b,
              float beta, DeviceBuffer c) {
        checkSizes(m, n, k);
        int slice = sliceLength(m, n, k, rt.computeUnits());
        if (slice == k) {
            tiled(transA, transB, m, n, k, k, 1, alpha, a, b, beta, c);
            return;
        }
        int slices = (k + slice - 1) / slice;
        try (DeviceBuffer partial = rt.scratch((long) slices * m * n)) {
            tiled(transA, transB, m, n, k, slice, slices, 1f, a, b, 0f, partial);
            rt.launch(REDUCE).arg(m * n).arg(slices).arg(alpha).arg(partial).arg(beta).arg(c)
                    .run((long) m * n, REDUCE_LOCAL);
        }
    }

    private void tiled(boolean transA, boolean transB, int m, int n, int k, int slice, int slices, float alpha,
                       DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c) {
        rt.launch(KERNEL).arg(transA ? 1 : 0).arg(transB ? 1 : 0).arg(m).arg(n).arg(k).arg(slice).arg(alpha)
                .arg(a).arg(b).arg(beta).arg(c)
                // dimension 0 over tiles of columns (128 threads each), dimension 1 over tiles of rows, then slices
                .run(tiles(n) * THREADS, tiles(m) * slices, THREADS, 1);
    }

    /** The limits of {@link #gemm}, checked before anything is queued. */
    static void checkSizes(int m, int n, int k) {
        if (m < 1 || n < 1 || k < 1)
            throw new IllegalArgumentException("gemm_tf32: sizes must be positive: m " + m + ", n " + n + ", k " + k);
        long largest = Math.max((long) m * k, Math.max((long) k * n, (long) m * n));
        if (largest > Integer.MAX_VALUE)
            throw new IllegalArgumentException("gemm_tf32: " + m + " x " + n + " x " + k + " has an operand of "
                    + largest + " floats; the kernel indexes with int");
        // Tile origins (64 ceil(n / 64)) and the k loop (p0 + 16) must not overflow an int either.
        if (Math.max(m, Math.max(n, k)) > Integer.MAX_VALUE - TILE)
            throw new IllegalArgumentException("gemm_tf32: a size within " + TILE + " of Integer.MAX_VALUE: m " + m
                    + ", n " + n + ", k " + k);
        if (tiles(m) > LaunchGeometry.MAX_GRID_Y)
            throw new IllegalArgumentException("gemm_tf32: m " + m + " needs " + tiles(m) + " tiles of " + TILE
                    + " rows; CUDA's grid holds " + LaunchGeometry.MAX_GRID_Y);
    }

    /**
     * The length of the k slices (a multiple of the kernel's k step), or k itself when k is not split: C already
     * has {@value #GROUPS_PER_UNIT} tiles per SM, k is shorter than two {@value #MIN_SLICE} slices, or the partial
     * outputs (slices m n floats) or the grid (slices ceil(m / 64) rows of blocks) would not fit. Sizes pass
     * {@link #checkSizes}.
     */
    static int sliceLength(int m, int n, int k, int multiprocessors) {
        long tiles = tiles(m) * tiles(n), targetBlocks = (long) GROUPS_PER_UNIT * Math.max(1, multiprocessors);
        long slices = Math.min(k / MIN_SLICE, (targetBlocks + tiles - 1) / tiles);
        slices = Math.min(slices, LaunchGeometry.MAX_GRID_Y / tiles(m));
        if (slices <= 1 || slices * m * n > Integer.MAX_VALUE) return k;
        return (int) ((k + slices * TILE_K - 1) / (slices * TILE_K)) * TILE_K;
    }

    /** Tiles of 64 along a dimension of {@code size}. */
    static long tiles(long size) { return (size + TILE - 1) / TILE; }
}
