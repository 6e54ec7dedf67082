package dev.jmoco.backend.cuda.libraries;

/**
 * The column-major cublasSgemm call that computes jmoco's row-major GEMM ({@link dev.jmoco.backend.Backend#gemm}).
 * A row-major [r, c] matrix is, read column-major, its transpose [c, r]; so instead of C = op(A) op(B) cuBLAS
 * computes C^T = op(B)^T op(A)^T, which it stores column-major exactly where row-major C goes. The operands
 * swap: cuBLAS's first matrix ("A" in its documentation) is jmoco's {@code b}, its second is jmoco's {@code a}.
 * The fields are cublasSgemm's arguments under cuBLAS's names.
 *
 * @param transa CUBLAS_OP_N or CUBLAS_OP_T for the first operand (jmoco's b)
 * @param transb the same for the second operand (jmoco's a)
 * @param m rows of cuBLAS's C = jmoco's n
 * @param n columns of cuBLAS's C = jmoco's m
 * @param k the shared dimension (unchanged)
 * @param lda leading dimension of jmoco's b: its row length, n (stored [k, n]) or k (stored [n, k])
 * @param ldb leading dimension of jmoco's a: its row length, k (stored [m, k]) or m (stored [k, m])
 * @param ldc leading dimension of C: n, the row length of jmoco's [m, n] C
 */
record CublasGemm(int transa, int transb, int m, int n, int k, int lda, int ldb, int ldc) {

    /** The call for jmoco's {@code gemm(transA, transB, m, n, k, ...)} with packed row-major operands. */
    static CublasGemm of(boolean transA, boolean transB, int m, int n, int k) {
        // op(B)^T is B's column-major view as stored when B is [k, n], its transpose when B is stored [n, k].
        return new CublasGemm(
                transB ? CublasFunctions.OP_T : CublasFunctions.OP_N,
                transA ? CublasFunctions.OP_T : CublasFunctions.OP_N,
                n, m, k,
                transB ? k : n,
                transA ? m : k,
                n);
    }
}
