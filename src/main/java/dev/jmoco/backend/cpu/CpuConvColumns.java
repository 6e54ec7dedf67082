package dev.jmoco.backend.cpu;

import dev.jmoco.backend.ConvShape;

import java.util.Arrays;

/**
 * The im2col lowering of one image and its adjoint. The column matrix has one row per filter tap (c, r, s) and
 * one column per output pixel (p, q): col[(c R + r) S + s][p Q + q] = x[c][p stride - pad + r][q stride - pad + s],
 * zero where that falls in the padding. An image's columns may be a block of a wider matrix (row length
 * {@code ld}, first column at {@code co}), so that several images lower side by side into one GEMM operand.
 * For each row and output row p, the valid output columns form one range [qLo, qHi), so the inner loops are
 * branch-free (and plain copies at stride 1).
 */
final class CpuConvColumns {
    private CpuConvColumns() {}

    /** col[co...] [CRS, PQ] (rows {@code ld} apart) = im2col(x[xo...] of one image [C, H, W]). */
    static void im2col(ConvShape s, float[] x, int xo, float[] col, int co, int ld) {
        int h = s.h(), w = s.w(), p = s.p(), q = s.q(), st = s.stride(), pad = s.pad();
        int row = 0;
        for (int c = 0; c < s.c(); c++)
            for (int r = 0; r < s.r(); r++)
                for (int t = 0; t < s.s(); t++, row++) {
                    int qLo = qLo(t, pad, st, q), qHi = qHi(t, pad, st, q, w);
                    for (int op = 0; op < p; op++) {
                        int d = co + row * ld + op * q, ih = op * st - pad + r;
                        if (ih < 0 || ih >= h || qLo >= qHi) {
                            Arrays.fill(col, d, d + q, 0f);
                            continue;
                        }
                        Arrays.fill(col, d, d + qLo, 0f);
                        int src = xo + (c * h + ih) * w - pad + t;
                        if (st == 1) System.arraycopy(x, src + qLo, col, d + qLo, qHi - qLo);
                        else for (int oq = qLo; oq < qHi; oq++) col[d + oq] = x[src + oq * st];
                        Arrays.fill(col, d + qHi, d + q, 0f);
                    }
                }
    }

    /** dx[dxo...] of one image [C, H, W] += col2im(col[co...] [CRS, PQ], rows {@code ld} apart). */
    static void col2imAdd(ConvShape s, float[] col, int co, int ld, float[] dx, int dxo) {
        int h = s.h(), w = s.w(), p = s.p(), q = s.q(), st = s.stride(), pad = s.pad();
        int row = 0;
        for (int c = 0; c < s.c(); c++)
            for (int r = 0; r < s.r(); r++)
                for (int t = 0; t < s.s(); t++, row++) {
                    int qLo = qLo(t, pad, st, q), qHi = qHi(t, pad, st, q, w);
                    for (int op = 0; op < p; op++) {
                        int ih = op * st - pad + r;
                        if (ih < 0 || ih >= h) continue;
                        int d = co + row * ld + op * q, dst = dxo + (c * h + ih) * w - pad + t;
                        if (st == 1) for (int oq = qLo; oq < qHi; oq++) dx[dst + oq] += col[d + oq];
                        else for (int oq = qLo; oq < qHi; oq++) dx[dst + oq * st] += col[d + oq];
                    }
                }
    }

    /** First output column whose input column q stride - pad + t is >= 0. */
    private static int qLo(int t, int pad, int stride, int q) {
        return Math.min(q, Math.max(0, pad - t + stride - 1) / stride);
    }

    /** One past the last output column whose input column is < w. */
    private static int qHi(int t, int pad, int stride, int q, int w) {
        int lim = w + pad - t; // need q stride < lim
        return lim <= 0 ? 0 : Math.min(q, (lim + stride - 1) / stride);
    }
}
