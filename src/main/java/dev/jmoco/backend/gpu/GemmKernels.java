package dev.jmoco.backend.gpu;

/**
 * SGEMM on an OpenCL or CUDA device (see Backend#gemm for the contract): the tiled kernel {@code gemm_tiled} of
 * kernels/gemm.cl, one work-group of 16 x 16 work-items per 64 x 64 tile of C, each work-item computing a
 * 4 x 4 block in registers. Transposes are read in place (no copies). Devices whose work-groups cannot hold
 * 256 work-items get the naive one-element-per-work-item kernel instead.
 * <p>
 * Split-k: when C has fewer tiles than {@value #GROUPS_PER_UNIT} per compute unit and k is long, k is cut into
 * slices of at least {@value #MIN_SLICE} that run as separate work-groups into scratch, then summed in order
 * by {@code gemm_splitk_reduce} (deterministic). Weight gradients need it: on a GPU with 100+ compute units,
 * the 9 tiles of a 3 x 3, 64-channel filter gradient would otherwise leave nearly all of them idle.
 * <p>
 * On PoCL 3.1 (2 shared EPYC cores, GemmBench -f 1 -wi 2 -i 3) the tiled kernel ran 1024^3 in 2.4-3.0 s
 * (0.7-0.9 GFLOP/s; the CPU backend in the same runs: 24-42 ms) and 512^3 at 0.45 vs 0.35 GFLOP/s for the
 * naive kernel: PoCL compiles this GPU-shaped kernel (barriers inside the k loop) to scalar code, and a
 * barrier-free register-blocked variant reached only about 2 GFLOP/s. Split-k changed nothing there (2 compute
 * units). PoCL is the test bed; the kernel's targets are GPUs.
 */
public final class GemmKernels {
    /** Tile of C per work-group, work-items per tile side, k step (gemm.cl; defined in KernelGeometry). */
    private static final int TILE = KernelGeometry.GEMM_TILE, GROUP_SIDE = KernelGeometry.GEMM_WG,
            TILE_K = KernelGeometry.GEMM_TK;
    /** Work-group side of the naive kernel (64 work-items: allowed everywhere). */
    private static final int NAIVE_SIDE = 8;
    /** Work-groups per compute unit below which k is split: enough to hide latency on a GPU. */
    static final int GROUPS_PER_UNIT = 4;
    /** Shortest k slice: its partial C (m n floats written, then read) stays small next to its m n k FMAs. */
    static final int MIN_SLICE = 256;
    private static final int LOCAL = 256;

    private final KernelRuntime rt;
    private final boolean tiled;
    private final long targetGroups;

    public GemmKernels(KernelRuntime rt) {
        this.rt = rt;
        this.tiled = rt.maxWorkGroupSize() >= (long) GROUP_SIDE * GROUP_SIDE;
        this.targetGroups = (long) GROUPS_PER_UNIT * Math.max(1, rt.computeUnits());
    }

    /** C = alpha op(A) op(B) + beta C; buffers already checked for size. */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DeviceBuffer a, DeviceBuffer b,
                     float beta, DeviceBuffer c) {
        Math.toIntExact(Math.max((long) m * k, Math.max((long) k * n, (long) m * n))); // kernels index with int
        if (!tiled) {
            rt.launch("gemm_naive").arg(transA ? 1 : 0).arg(transB ? 1 : 0).arg(m).arg(n).arg(k).arg(alpha)
                    .arg(a).arg(b).arg(beta).arg(c).run(n, m, NAIVE_SIDE, NAIVE_SIDE);
            return;
        }
        int slice = sliceLength(tiles(m) * tiles(n), k, (long) m * n);
        if (slice == k) {
            tiled(transA, transB, m, n, k, k, 1, alpha, a, b, beta, c);
            return;
        }
        int slices = (k + slice - 1) / slice;
        try (DeviceBuffer partial = rt.scratch((long) slices * m * n)) {
            tiled(transA, transB, m, n, k, slice, slices, 1f, a, b, 0f, partial);
            reduceSlices(m * n, slices, alpha, partial, beta, c);
        }
    }

    /**
     * The length of the k slices (a multiple of the kernels' k step) for a product whose output has
     * {@code tiles} 64 x 64 tiles and {@code outFloats} floats, summed over {@code k}: k itself when it is not
     * split (enough tiles already, or k too short). Shared with the convolution's filter gradient.
     */
    int sliceLength(long tiles, int k, long outFloats) {
        long slices = Math.min(k / MIN_SLICE, (targetGroups + tiles - 1) / tiles);
        if (slices <= 1 || slices * outFloats > Integer.MAX_VALUE) return k;
        return (int) ((k + slices * TILE_K - 1) / (slices * TILE_K)) * TILE_K;
    }

    /** c = alpha (sum of the {@code slices} partial outputs of {@code count} floats, in order) + beta c. */
    void reduceSlices(int count, int slices, float alpha, DeviceBuffer partial, float beta, DeviceBuffer c) {
        rt.launch("gemm_splitk_reduce").arg(count).arg(slices).arg(alpha).arg(partial).arg(beta).arg(c)
                .run(count, LOCAL);
    }

    private void tiled(boolean transA, boolean transB, int m, int n, int k, int slice, int slices, float alpha,
                       DeviceBuffer a, DeviceBuffer b, float beta, DeviceBuffer c) {
        rt.launch("gemm_tiled").arg(transA ? 1 : 0).arg(transB ? 1 : 0).arg(m).arg(n).arg(k).arg(slice)
                .arg(alpha).arg(a).arg(b).arg(beta).arg(c)
                // dimension 0 over tile columns, 1 over tile rows and then slices (see the kernel)
                .run(tiles(n) * GROUP_SIDE, tiles(m) * slices * GROUP_SIDE, GROUP_SIDE, GROUP_SIDE);
    }

    /** Tiles of 64 along a dimension of {@code size}. */
    static long tiles(long size) { return (size + TILE - 1) / TILE; }
}
