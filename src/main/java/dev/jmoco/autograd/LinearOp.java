package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.trace.Work;

/**
 * y [n, out] = x [n, in] W^T + b, with W stored [out, in] as in torchvision; the bias is optional.
 * Backward: dx += dy W, dW += dy^T x, db += column sums of dy.
 */
final class LinearOp extends SingleOutputOp {
    private final Tensor x, w, b, y;

    private LinearOp(Tensor x, Tensor w, Tensor b, Tensor y) {
        super("linear", y);
        this.x = x; this.w = w; this.b = b; this.y = y;
    }

    static Tensor apply(Tensor x, Tensor w, Tensor b) {
        Shapes.rank("linear", "x", x, 2, "[n, in]");
        Shapes.rank("linear", "weight", w, 2, "[out, in]");
        if (x.dim(1) != w.dim(1))
            throw new IllegalArgumentException("linear: x " + Shapes.of(x) + " and weight " + Shapes.of(w)
                    + " disagree on in-features (" + x.dim(1) + " vs " + w.dim(1) + ")");
        if (b != null) Shapes.vector("linear", "bias", b, "weight", w, w.dim(0), "out-features");
        int n = x.dim(0), in = x.dim(1), out = w.dim(0);
        boolean record = Tape.recordsFor(x, w, b);
        Backend be = x.backend();
        Tensor y = Tape.output(be, record, n, out);
        Tape.run(new LinearOp(x, w, b, y), record, () -> {
            be.gemm(false, true, n, out, in, 1f, x.data(), w.data(), 0f, y.data());
            if (b != null) be.addBias(n, out, b.data(), y.data());
        });
        return y;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        int n = x.dim(0), in = x.dim(1), out = w.dim(0);
        Buffer dx = gradOf(x), dw = gradOf(w), db = gradOf(b);
        if (dx != null) be.gemm(false, false, n, in, out, 1f, dy, w.data(), 1f, dx);
        if (dw != null) be.gemm(true, false, out, in, n, 1f, dy, x.data(), 1f, dw);
        if (db != null) be.biasBackward(n, out, dy, db);
    }

    @Override
    Work work(boolean backward) {
        double n = x.dim(0), in = x.dim(1), out = w.dim(0), mac = 2 * n * in * out;
        double bytes = 4 * (n * in + out * in + n * out);
        return backward ? new Work((x.requiresGrad() ? 2 : 1) * mac, 2 * bytes) : new Work(mac, bytes);
    }
}
