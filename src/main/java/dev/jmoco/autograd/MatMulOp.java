package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.trace.Work;

/**
 * y [m, n] = op(a) op(b), where op(a) is a [m, k] or, with {@code transA}, the transpose of a stored [k, m]
 * (likewise b: [k, n] or transposed from [n, k]). Backward: d op(a) = dy op(b)^T and d op(b) = op(a)^T dy,
 * each written as one GEMM straight into the stored layout.
 */
final class MatMulOp extends SingleOutputOp {
    private final Tensor a, b, y;
    private final boolean transA, transB;
    private final int m, n, k;

    private MatMulOp(Tensor a, Tensor b, Tensor y, boolean transA, boolean transB, int m, int n, int k) {
        super("matmul", y);
        this.a = a; this.b = b; this.y = y;
        this.transA = transA; this.transB = transB;
        this.m = m; this.n = n; this.k = k;
    }

    static Tensor apply(Tensor a, Tensor b, boolean transA, boolean transB) {
        Shapes.rank("matmul", "a", a, 2, "[m, k]");
        Shapes.rank("matmul", "b", b, 2, "[k, n]");
        int m = transA ? a.dim(1) : a.dim(0), ka = transA ? a.dim(0) : a.dim(1);
        int kb = transB ? b.dim(1) : b.dim(0), n = transB ? b.dim(0) : b.dim(1);
        if (ka != kb)
            throw new IllegalArgumentException("matmul: a " + Shapes.of(a) + (transA ? "^T" : "") + " and b "
                    + Shapes.of(b) + (transB ? "^T" : "") + " disagree on the inner dimension (" + ka + " vs " + kb
                    + ")");
        boolean record = Tape.recordsFor(a, b);
        Tensor y = Tape.output(a.backend(), record, m, n);
        Tape.run(new MatMulOp(a, b, y, transA, transB, m, n, ka), record,
                () -> a.backend().gemm(transA, transB, m, n, ka, 1f, a.data(), b.data(), 0f, y.data()));
        return y;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        Buffer da = gradOf(a), db = gradOf(b);
        if (da != null) {
            if (!transA) be.gemm(false, !transB, m, k, n, 1f, dy, b.data(), 1f, da);   // da [m, k] = dy op(b)^T
            else be.gemm(transB, true, k, m, n, 1f, b.data(), dy, 1f, da);           // da [k, m] = op(b) dy^T
        }
        if (db != null) {
            if (!transB) be.gemm(!transA, false, k, n, m, 1f, a.data(), dy, 1f, db);   // db [k, n] = op(a)^T dy
            else be.gemm(true, transA, n, k, m, 1f, dy, a.data(), 1f, db);           // db [n, k] = dy^T op(a)
        }
    }

    @Override
    Work work(boolean backward) {
        double mac = 2.0 * m * n * k, bytes = 4.0 * ((double) m * k + (double) k * n + (double) m * n);
        return backward ? new Work(2 * mac, 2 * bytes) : new Work(mac, bytes);
    }
}
