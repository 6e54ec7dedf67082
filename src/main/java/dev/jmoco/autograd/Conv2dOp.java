package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.ConvShape;
import dev.jmoco.trace.Work;

/** y [n, k, p, q] = conv(x [n, c, h, w], w [k, c, r, s]) with square stride and padding, no bias (NCHW). */
final class Conv2dOp extends SingleOutputOp {
    private final ConvShape s;
    private final Tensor x, w, y;

    private Conv2dOp(ConvShape s, Tensor x, Tensor w, Tensor y) {
        super("conv2d", y);
        this.s = s; this.x = x; this.w = w; this.y = y;
    }

    static Tensor apply(Tensor x, Tensor w, int stride, int pad) {
        Shapes.rank("conv2d", "x", x, 4, "[n, c, h, w]");
        Shapes.rank("conv2d", "weight", w, 4, "[k, c, r, s]");
        if (x.dim(1) != w.dim(1))
            throw new IllegalArgumentException("conv2d: x " + Shapes.of(x) + " and weight " + Shapes.of(w)
                    + " disagree on in-channels (" + x.dim(1) + " vs " + w.dim(1) + ")");
        ConvShape s = new ConvShape(x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), w.dim(3), stride, pad);
        boolean record = Tape.recordsFor(x, w);
        Tensor y = Tape.output(x.backend(), record, s.n(), s.k(), s.p(), s.q());
        Tape.run(new Conv2dOp(s, x, w, y), record, () -> x.backend().conv2d(s, x.data(), w.data(), y.data()));
        return y;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        Buffer dx = gradOf(x), dw = gradOf(w);
        if (dx != null) be.conv2dBackwardData(s, dy, w.data(), dx);
        if (dw != null) be.conv2dBackwardFilter(s, x.data(), dy, dw);
    }

    @Override
    Work work(boolean backward) {
        double bytes = 4.0 * (s.inputSize() + s.filterSize() + s.outputSize());
        if (!backward) return new Work(s.flops(), bytes);
        int passes = x.requiresGrad() ? 2 : 1; // filter gradient, and the data gradient unless x is the input
        return new Work(passes * s.flops(), passes * bytes);
    }
}
