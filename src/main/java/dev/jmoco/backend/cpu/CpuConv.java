package dev.jmoco.backend.cpu;

import dev.jmoco.backend.ConvShape;

/**
 * Convolution forward and both backward passes (see Backend#conv2d), lowered to GEMM per image with
 * {@link CpuConvColumns} (im2col / col2im). With W as [K, CRS] and the image's columns col [CRS, PQ]:
 * forward y_n = W col_n; backward filter dW += dy_n col_n^T; backward data dx_n += W'' col''(dy_n) at stride 1
 * (a forward convolution with the flipped filter, see {@link #isTransposable}), else dcol_n = W^T dy_n followed
 * by dx_n += col2im(dcol_n). A 1x1, stride 1, unpadded convolution needs no lowering: col_n is x_n itself.
 * <p>
 * With at least as many images as threads, the images are split over the threads and each runs serial GEMMs
 * on its own column scratch (no synchronisation, and im2col runs in parallel too); the filter gradient is then
 * summed per thread and the partial sums are added in a fixed order, so results do not depend on timing. With
 * fewer images the images run one after another and each GEMM is spread over all cores instead.
 */
final class CpuConv {
    private final CpuBackend backend;
    private final Parallel parallel;
    private final CpuGemm gemm;

    CpuConv(CpuBackend backend, Parallel parallel, CpuGemm gemm) {
        this.backend = backend; this.parallel = parallel; this.gemm = gemm;
    }

    void forward(ConvShape s, CpuBuffer x, CpuBuffer w, CpuBuffer y) {
        convolve(s, x.array, x.offset, w.array, w.offset, y.array, y.offset, 0f);
    }

    void backwardData(ConvShape s, CpuBuffer dy, CpuBuffer w, CpuBuffer dx) {
        if (isTransposable(s)) { // dx += the forward convolution of dy with the flipped filter: no col2im
            try (CpuBuffer flipped = backend.scratch(s.filterSize())) {
                flipFilter(s, w, flipped.array);
                convolve(transposed(s), dy.array, dy.offset, flipped.array, 0, dx.array, dx.offset, 1f);
            }
            return;
        }
        int k = s.k(), crs = s.c() * s.r() * s.s(), pq = s.p() * s.q();
        int xImage = s.c() * s.h() * s.w(), yImage = k * pq;
        boolean direct = isPointwise(s);
        forImages(s.n(), direct ? 0 : (long) crs * pq, (i0, i1, col, serial) -> {
            for (int i = i0; i < i1; i++) {
                int dyo = dy.offset + i * yImage, dxo = dx.offset + i * xImage;
                if (direct) { // dx_n += W^T dy_n straight into dx
                    gemm(serial, true, false, crs, pq, k, w.array, w.offset, dy.array, dyo, 1f, dx.array, dxo);
                } else {
                    gemm(serial, true, false, crs, pq, k, w.array, w.offset, dy.array, dyo, 0f, col.array, 0);
                    CpuConvColumns.col2imAdd(s, col.array, dx.array, dxo);
                }
            }
        });
    }

    /** y = conv(x, w) + beta y over all images (beta is 0 or 1). */
    private void convolve(ConvShape s, float[] x, int xOffset, float[] w, int wo, float[] y, int yOffset, float beta) {
        int k = s.k(), crs = s.c() * s.r() * s.s(), pq = s.p() * s.q();
        int xImage = s.c() * s.h() * s.w(), yImage = k * pq;
        boolean direct = isPointwise(s);
        forImages(s.n(), direct ? 0 : (long) crs * pq, (i0, i1, col, serial) -> {
            for (int i = i0; i < i1; i++) {
                int xo = xOffset + i * xImage, yo = yOffset + i * yImage;
                if (direct) {
                    gemm(serial, false, false, k, pq, crs, w, wo, x, xo, beta, y, yo);
                } else {
                    CpuConvColumns.im2col(s, x, xo, col.array);
                    gemm(serial, false, false, k, pq, crs, w, wo, col.array, 0, beta, y, yo);
                }
            }
        });
    }

    /**
     * At stride 1 with a square filter and pad &lt;= r - 1, the data gradient is itself a convolution: of dy
     * (K channels, P x Q) with the filter transposed over (k, c) and flipped in space, padded by r - 1 - pad,
     * giving C channels of H x W. It then runs as fast as the forward pass and needs no col2im.
     */
    private static boolean isTransposable(ConvShape s) {
        return s.stride() == 1 && s.r() == s.s() && s.pad() <= s.r() - 1 && !isPointwise(s);
    }

    private static ConvShape transposed(ConvShape s) {
        return new ConvShape(s.n(), s.k(), s.p(), s.q(), s.c(), s.r(), s.s(), 1, s.r() - 1 - s.pad());
    }

    /** flipped [C, K, R, S] = w [K, C, R - 1 - r, S - 1 - s]. */
    private static void flipFilter(ConvShape s, CpuBuffer w, float[] flipped) {
        int rs = s.r() * s.s();
        for (int k = 0; k < s.k(); k++)
            for (int c = 0; c < s.c(); c++) {
                int src = w.offset + (k * s.c() + c) * rs, dst = (c * s.k() + k) * rs;
                for (int j = 0; j < rs; j++) flipped[dst + j] = w.array[src + rs - 1 - j];
            }
    }

    void backwardFilter(ConvShape s, CpuBuffer x, CpuBuffer dy, CpuBuffer dw) {
        int k = s.k(), crs = s.c() * s.r() * s.s(), pq = s.p() * s.q(), n = s.n();
        int xImage = s.c() * s.h() * s.w(), yImage = k * pq, filter = k * crs;
        boolean direct = isPointwise(s);
        int tasks = tasks(n);
        if (tasks == 1) { // one image at a time, each GEMM over all cores, accumulating into dw
            try (CpuBuffer col = direct ? null : backend.scratch((long) crs * pq)) {
                for (int i = 0; i < n; i++)
                    filterGradient(s, x, i * xImage, dy, i * yImage, col, dw.array, dw.offset, 1f, false, direct);
            }
            return;
        }
        // Each task sums its images' gradients into its own slice of `partial`; the slices are added in order.
        try (CpuBuffer partial = backend.scratch((long) tasks * filter)) {
            long colSize = direct ? 0 : (long) crs * pq;
            parallel.forRange(tasks, 1, (t0, t1) -> {
                for (int t = t0; t < t1; t++) {
                    int i0 = (int) ((long) n * t / tasks), i1 = (int) ((long) n * (t + 1) / tasks);
                    try (CpuBuffer col = colSize == 0 ? null : backend.scratch(colSize)) {
                        for (int i = i0; i < i1; i++)
                            filterGradient(s, x, i * xImage, dy, i * yImage, col, partial.array,
                                    partial.offset + t * filter, i == i0 ? 0f : 1f, true, direct);
                    }
                }
            });
            float[] d = dw.array, p = partial.array;
            parallel.forRange(filter, 4096, (j0, j1) -> {
                for (int t = 0; t < tasks; t++) {
                    int po = partial.offset + t * filter;
                    for (int j = j0; j < j1; j++) d[dw.offset + j] += p[po + j];
                }
            });
        }
    }

    /** dw[dwo...] = dy_n col_n^T + beta dw, with col_n lowered into {@code col} unless the conv is pointwise. */
    private void filterGradient(ConvShape s, CpuBuffer x, int xImageOffset, CpuBuffer dy, int dyImageOffset,
                                CpuBuffer col, float[] dw, int dwo, float beta, boolean serial, boolean direct) {
        int k = s.k(), crs = s.c() * s.r() * s.s(), pq = s.p() * s.q();
        int xo = x.offset + xImageOffset, dyo = dy.offset + dyImageOffset;
        if (direct) {
            gemm(serial, false, true, k, crs, pq, dy.array, dyo, x.array, xo, beta, dw, dwo);
        } else {
            CpuConvColumns.im2col(s, x.array, xo, col.array);
            gemm(serial, false, true, k, crs, pq, dy.array, dyo, col.array, 0, beta, dw, dwo);
        }
    }

    /** Body over images [i0, i1) with a column scratch of the requested size (null when none is needed). */
    @FunctionalInterface
    private interface ImageRange {
        void run(int i0, int i1, CpuBuffer col, boolean serial);
    }

    /** Runs {@code body} over all images: split over the threads when there are enough images, else in order. */
    private void forImages(int n, long colSize, ImageRange body) {
        if (tasks(n) == 1) {
            try (CpuBuffer col = colSize == 0 ? null : backend.scratch(colSize)) {
                body.run(0, n, col, false);
            }
            return;
        }
        parallel.forRange(n, 1, (i0, i1) -> {
            try (CpuBuffer col = colSize == 0 ? null : backend.scratch(colSize)) {
                body.run(i0, i1, col, true);
            }
        });
    }

    /** How many image groups run side by side: one per thread when every thread gets an image, else 1. */
    private int tasks(int n) { return n >= parallel.threads() ? parallel.threads() : 1; }

    private void gemm(boolean serial, boolean ta, boolean tb, int m, int n, int k, float[] a, int ao, float[] b,
                      int bo, float beta, float[] c, int co) {
        if (serial) gemm.gemmSerial(ta, tb, m, n, k, 1f, a, ao, b, bo, beta, c, co);
        else gemm.gemm(ta, tb, m, n, k, 1f, a, ao, b, bo, beta, c, co);
    }

    private static boolean isPointwise(ConvShape s) {
        return s.r() == 1 && s.s() == 1 && s.stride() == 1 && s.pad() == 0;
    }
}
