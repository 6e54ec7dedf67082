package dev.jmoco.backend.gpu;

import dev.jmoco.backend.ConvShape;

/**
 * Convolution forward and both backward passes on an OpenCL or CUDA device (see Backend#conv2d), as GEMMs over the
 * column matrix col [C R S, N P Q] of im2col (kernels/conv.cl explains the lowering), with W as [K, C R S]:
 * <ul>
 *   <li>forward: Y = W col as one implicit GEMM ({@code conv_fwd_implicit}), which gathers its col tiles
 *       straight from x, so col never exists in memory;</li>
 *   <li>backward filter: dW += dY col^T, the same way ({@code conv_bwd_filter_implicit}), its sum over the
 *       N P Q pixels split into slices as in {@link GemmKernels}'s split-k when dW has few tiles;</li>
 *   <li>backward data: at stride 1 with a square filter and pad &lt;= r - 1, dx += the forward convolution of dy
 *       with the filter transposed over (k, c) and flipped, padded by r - 1 - pad: the forward kernel, adding
 *       into dx. Otherwise dcol = W^T dY with {@link GemmKernels}, then col2im adds dcol into dx (gather form: each
 *       dx element sums its own taps in a fixed order: deterministic, no atomics). This explicit lowering runs
 *       over groups of G images, dcol [C R S, G P Q], with dY reordered from NCHW [G, K, P Q] to [K, G P Q]
 *       (for G = 1 it is used in place); G is as large as the scratch budget allows, so that the GEMM's
 *       64 x 64 tiles stay full on small maps (4 x 4 gives 16 columns per image) and launches are few.</li>
 * </ul>
 * Implicit or explicit, measured on PoCL 3.1 (2 loaded EPYC cores, ConvBench forward, -wi 1 -i 3): at
 * n 8, 64 -&gt; 64 channels, 32 x 32, 3 x 3 p1: im2col + GEMM 1590 ms, implicit 1621 ms; at n 16, 128 -&gt; 128,
 * 8 x 8: 711 vs 661 ms: a tie within the noise under that load. In a quiet window (load 2), the filter
 * gradient at the first shape: im2col + GEMM 235 ms, implicit 206 ms (ConvBench.backwardFilter). Backward
 * data at the first shape (loaded): transposed convolution 894 ms, col2im path 1063 ms. On a GPU the implicit
 * form also saves writing and re-reading col through DRAM (C R S / K = 9 times the output at 3 x 3) and its
 * scratch (up to 128 MB per call).
 */
public final class ConvKernels {
    /** Scratch per call of the col2im path (dcol plus reordered dY), in floats: 128 MB (G is at least 1). */
    static final long SCRATCH_FLOATS = 1L << 25;
    /** Work-group size of the element-wise lowering kernels. */
    private static final int LOCAL = 256;
    /** Work-items per side of the 64 x 64 output tile of the implicit-GEMM kernels (as in gemm_tiled). */
    private static final int GROUP_SIDE = KernelGeometry.CONV_WG;
    /** That output tile's side (conv.cl). */
    private static final int TILE = KernelGeometry.CONV_TILE;

    private final KernelRuntime rt;
    private final GemmKernels gemm;

    public ConvKernels(KernelRuntime rt, GemmKernels gemm) { this.rt = rt; this.gemm = gemm; }

    public void forward(ConvShape s, DeviceBuffer x, DeviceBuffer w, DeviceBuffer y) { implicit(s, x, w, y, false); }

    public void backwardData(ConvShape s, DeviceBuffer dy, DeviceBuffer w, DeviceBuffer dx) {
        if (isTransposable(s)) {
            try (DeviceBuffer flipped = rt.scratch(s.filterSize())) {
                rt.launch("conv_flip_filter").arg(s.k()).arg(s.c()).arg(s.r()).arg(s.s()).arg(w).arg(flipped)
                        .run(s.filterSize(), LOCAL);
                implicit(transposed(s), dy, flipped, dx, true);
            }
            return;
        }
        Lowering l = new Lowering(s);
        try (DeviceBuffer scratch = rt.scratch(l.scratchSize())) {
            DeviceBuffer dcol = scratch.slice(0, l.colSize()), dyMat = scratch.slice(l.colSize(), l.dySize());
            for (int i = 0; i < s.n(); i += l.group) {
                int g = Math.min(l.group, s.n() - i);
                DeviceBuffer dyOp = dyOperand(l, i, g, dy, dyMat);
                gemm.gemm(true, false, l.crs, g * l.pq, l.k, 1f, w, dyOp, 0f, dcol);
                rt.launch("conv_col2im_add").arg(g * l.xImage).arg(s.c()).arg(s.h()).arg(s.w()).arg(s.r())
                        .arg(s.s()).arg(s.p()).arg(s.q()).arg(s.stride()).arg(s.pad())
                        .arg(dcol).arg(dx.slice((long) i * l.xImage, (long) g * l.xImage))
                        .run(g * l.xImage, LOCAL);
            }
        }
    }

    public void backwardFilter(ConvShape s, DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dw) {
        int pixels = Math.toIntExact((long) s.n() * s.p() * s.q()), crs = Math.toIntExact(s.filterSize() / s.k());
        Math.toIntExact(Math.max(s.inputSize(), s.outputSize())); // the kernel indexes x and dy with int
        int slice = gemm.sliceLength(tiles(s.k()) * tiles(crs), pixels, s.filterSize());
        if (slice == pixels) { // one slice adds straight into dw
            filterGradient(s, x, dy, slice, 1, true, dw);
            return;
        }
        int slices = (pixels + slice - 1) / slice;
        try (DeviceBuffer partial = rt.scratch(slices * s.filterSize())) {
            filterGradient(s, x, dy, slice, slices, false, partial);
            gemm.reduceSlices((int) s.filterSize(), slices, 1f, partial, 1f, dw);
        }
    }

    /** One launch of conv_bwd_filter_implicit over {@code slices} pixel slices of {@code slice} pixels. */
    private void filterGradient(ConvShape s, DeviceBuffer x, DeviceBuffer dy, int slice, int slices, boolean accumulate,
                                DeviceBuffer out) {
        long crs = s.filterSize() / s.k();
        rt.launch("conv_bwd_filter_implicit").arg(s.n()).arg(s.c()).arg(s.h()).arg(s.w()).arg(s.k()).arg(s.r())
                .arg(s.s()).arg(s.p()).arg(s.q()).arg(s.stride()).arg(s.pad()).arg(x).arg(dy).arg(slice)
                .arg(accumulate ? 1 : 0).arg(out)
                .run(tiles(crs) * GROUP_SIDE, tiles(s.k()) * slices * GROUP_SIDE,
                        GROUP_SIDE, GROUP_SIDE);
    }

    /** y (+)= conv(x, w) as one launch of conv_fwd_implicit. */
    private void implicit(ConvShape s, DeviceBuffer x, DeviceBuffer w, DeviceBuffer y, boolean accumulate) {
        long cols = Math.toIntExact((long) s.n() * s.p() * s.q());
        Math.toIntExact(Math.max(s.inputSize(), s.outputSize())); // the kernel indexes x and y with int
        rt.launch("conv_fwd_implicit").arg(s.n()).arg(s.c()).arg(s.h()).arg(s.w()).arg(s.k()).arg(s.r()).arg(s.s())
                .arg(s.p()).arg(s.q()).arg(s.stride()).arg(s.pad()).arg(x).arg(w).arg(accumulate ? 1 : 0).arg(y)
                .run(tiles(cols) * GROUP_SIDE, tiles(s.k()) * GROUP_SIDE,
                        GROUP_SIDE, GROUP_SIDE);
    }

    /** dY of images [i, i + g) as a [K, g PQ] GEMM operand: dy itself for one image, else reordered. */
    private DeviceBuffer dyOperand(Lowering l, int i, int g, DeviceBuffer dy, DeviceBuffer dyMat) {
        DeviceBuffer group = dy.slice((long) i * l.yImage, (long) g * l.yImage);
        if (g == 1) return group;
        int count = g * l.yImage;
        rt.launch("conv_gather_kgpq").arg(count).arg(l.k).arg(l.pq).arg(group).arg(dyMat).run(count, LOCAL);
        return dyMat;
    }

    /**
     * At stride 1 with a square filter and pad &lt;= r - 1, the data gradient is itself a convolution: of dy
     * (K channels, P x Q) with the flipped, transposed filter, padded by r - 1 - pad, giving C channels of H x W.
     */
    private static boolean isTransposable(ConvShape s) {
        return s.stride() == 1 && s.r() == s.s() && s.pad() <= s.r() - 1;
    }

    /** Output tiles of the implicit-GEMM kernels along a dimension of {@code size}. */
    private static long tiles(long size) { return (size + TILE - 1) / TILE; }

    private static ConvShape transposed(ConvShape s) {
        return new ConvShape(s.n(), s.k(), s.p(), s.q(), s.c(), s.r(), s.s(), 1, s.r() - 1 - s.pad());
    }

    /** The col2im path's sizes: per image, and the group size G. */
    private static final class Lowering {
        final int k, crs, pq, xImage, yImage, group;

        Lowering(ConvShape s) {
            k = s.k();
            crs = Math.multiplyExact(s.c(), s.r() * s.s());
            pq = s.p() * s.q();
            xImage = Math.multiplyExact(s.c(), s.h() * s.w());
            yImage = Math.multiplyExact(k, pq);
            long perImage = (long) crs * pq + yImage;
            group = (int) Math.max(1, Math.min(s.n(), SCRATCH_FLOATS / perImage));
            Math.toIntExact((long) group * perImage); // the kernels index with int
        }

        /** dcol [CRS, G PQ]. */
        long colSize() { return (long) crs * group * pq; }

        /** The reordered dY [K, G PQ]; none when G is 1. */
        long dySize() { return group == 1 ? 0 : (long) group * yImage; }

        long scratchSize() { return colSize() + dySize(); }
    }
}
