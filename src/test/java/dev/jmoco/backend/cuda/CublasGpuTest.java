package dev.jmoco.backend.cuda;

import dev.jmoco.backend.cuda.libraries.Cublas;
import dev.jmoco.backend.cuda.libraries.NativeLibraryAssumptions;
import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

/**
 * {@link Cublas#gemm} on a GPU (skipped without one, or without cuBLAS) against {@link ReferenceOps#gemm}:
 * all four transpose cases, odd sizes, operands at odd float offsets (views), beta 0 over a C full of NaN
 * (must not be read) and beta 0.75 (must accumulate). Tolerance without TF32: abs 1e-4 + rel 1e-4 (float
 * sums of at most 129 products of values in [-1, 1], any summation order); with TF32 (10-bit mantissa
 * inputs): abs 5e-2 + rel 1e-2.
 */
class CublasGpuTest {
    private static final int[][] SIZES = {{1, 1, 1}, {3, 5, 7}, {17, 1, 33}, {1, 19, 2}, {65, 129, 31},
            {128, 64, 129}};

    @Test
    void gemmMatchesTheReferenceInAllTransposeCases() {
        NativeLibraryAssumptions.requireLoadable("cuBLAS", Cublas.SONAMES);
        try (NativeTestDevice device = NativeTestDevice.openOrSkip()) {
            for (boolean tf32 : new boolean[] {false, true}) {
                try (Cublas cublas = Cublas.open(device.stream.handle(), tf32)) {
                    Random random = new Random(7);
                    for (boolean transA : new boolean[] {false, true})
                        for (boolean transB : new boolean[] {false, true})
                            for (int[] size : SIZES)
                                for (float beta : new float[] {0f, 0.75f})
                                    check(device, cublas, random, tf32, transA, transB,
                                            size[0], size[1], size[2], beta);
                }
            }
        }
    }

    private static void check(NativeTestDevice device, Cublas cublas, Random random, boolean tf32, boolean transA,
                              boolean transB, int m, int n, int k, float beta) {
        float alpha = -1.5f;
        float[] a = values(random, m * k), b = values(random, k * n), c = values(random, m * n);
        double[] expected = ReferenceOps.gemm(transA, transB, m, n, k, alpha, a, b, beta, ReferenceOps.widen(c));
        if (beta == 0) Arrays.fill(c, Float.NaN);
        NativeTestDevice.Floats da = device.upload(a, 1), db = device.upload(b, 3), dc = device.upload(c, 5);
        cublas.gemm(transA, transB, m, n, k, alpha, da.address(), db.address(), beta, dc.address());
        Tolerance.assertClose(cublas.describe() + " gemm transA " + transA + " transB " + transB + " " + m + "x" + n
                        + "x" + k + " beta " + beta, expected, device.download(dc),
                tf32 ? 5e-2 : 1e-4, tf32 ? 1e-2 : 1e-4);
    }

    static float[] values(Random random, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = random.nextFloat() * 2 - 1;
        return v;
    }
}
