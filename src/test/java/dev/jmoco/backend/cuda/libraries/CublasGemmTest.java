package dev.jmoco.backend.cuda.libraries;

import dev.jmoco.backend.reference.ReferenceOps;
import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The row-major to column-major mapping of {@link CublasGemm}, without cuBLAS: the call it produces is run by
 * a plain column-major SGEMM written here to the letter of cuBLAS's documentation (including its checks on the
 * leading dimensions), with jmoco's b as cuBLAS's first operand, and compared with {@link ReferenceOps#gemm}. Exact array sizes make any index past a packed operand
 * an exception. Tolerance: float accumulation over k terms of products of values in [-1, 1] against double,
 * abs 1e-5 + rel 1e-5 (k is at most 33 here).
 */
class CublasGemmTest {
    private static final int[][] SIZES = {{1, 1, 1}, {3, 5, 7}, {17, 1, 33}, {1, 19, 2}, {7, 3, 1}, {16, 16, 16},
            {33, 17, 5}, {2, 31, 29}};

    @Test
    void mapsTheOperandsSwappedWithRowLengthsAsLeadingDimensions() {
        // C [2, 3] = A [2, 4] B [4, 3]: cuBLAS computes C^T [3, 2] = B^T [3, 4] A^T [4, 2].
        assertEquals(new CublasGemm(0, 0, 3, 2, 4, 3, 4, 3), CublasGemm.of(false, false, 2, 3, 4));
        // A stored [4, 2], B stored [3, 4]: both transposed, leading dimensions their row lengths 2 and 4.
        assertEquals(new CublasGemm(1, 1, 3, 2, 4, 4, 2, 3), CublasGemm.of(true, true, 2, 3, 4));
        assertEquals(new CublasGemm(1, 0, 3, 2, 4, 4, 4, 3), CublasGemm.of(false, true, 2, 3, 4));
        assertEquals(new CublasGemm(0, 1, 3, 2, 4, 3, 2, 3), CublasGemm.of(true, false, 2, 3, 4));
    }

    @Test
    void columnMajorCallComputesTheRowMajorGemmInAllTransposeCases() {
        Random random = new Random(42);
        for (boolean transA : new boolean[] {false, true})
            for (boolean transB : new boolean[] {false, true})
                for (int[] size : SIZES)
                    for (float beta : new float[] {0f, 0.75f}) {
                        int m = size[0], n = size[1], k = size[2];
                        float alpha = -1.5f;
                        float[] a = values(random, m * k), b = values(random, k * n), c = values(random, m * n);
                        double[] expected = ReferenceOps.gemm(transA, transB, m, n, k, alpha, a, b, beta,
                                ReferenceOps.widen(c));
                        if (beta == 0) Arrays.fill(c, Float.NaN); // beta 0 must not read C
                        CublasGemm g = CublasGemm.of(transA, transB, m, n, k);
                        columnMajorSgemm(g, alpha, b, a, beta, c);
                        Tolerance.assertClose("gemm transA " + transA + " transB " + transB + " " + m + "x" + n + "x"
                                + k + " beta " + beta, expected, c, 1e-5, 1e-5);
                    }
    }

    private static float[] values(Random random, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = random.nextFloat() * 2 - 1;
        return v;
    }

    /**
     * cublasSgemm's definition: C = alpha op(A) op(B) + beta C, column-major, op(A) m x k, op(B) k x n,
     * element (i, j) of a matrix with leading dimension ld at [i + j ld]; C is not read when beta is 0. Asserts
     * the argument checks that make cuBLAS return CUBLAS_STATUS_INVALID_VALUE.
     */
    private static void columnMajorSgemm(CublasGemm g, float alpha, float[] A, float[] B, float beta, float[] C) {
        boolean tA = g.transa() == CublasFunctions.OP_T, tB = g.transb() == CublasFunctions.OP_T;
        int m = g.m(), n = g.n(), k = g.k();
        assertTrue(g.lda() >= Math.max(1, tA ? k : m), "lda " + g);
        assertTrue(g.ldb() >= Math.max(1, tB ? n : k), "ldb " + g);
        assertTrue(g.ldc() >= Math.max(1, m), "ldc " + g);
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                float sum = 0;
                for (int l = 0; l < k; l++)
                    sum += (tA ? A[l + i * g.lda()] : A[i + l * g.lda()])
                            * (tB ? B[j + l * g.ldb()] : B[l + j * g.ldb()]);
                int at = i + j * g.ldc();
                C[at] = beta == 0 ? alpha * sum : alpha * sum + beta * C[at];
            }
    }
}
