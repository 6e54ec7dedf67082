package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.PoolShape;
import dev.jmoco.trace.Work;

/** Max pooling over x [n, c, h, w] with a square window; saves the winners' positions for backward. */
final class MaxPool2dOp extends SingleOutputOp {
    private final PoolShape s;
    private final Tensor x, y;
    private final Buffer argmax;

    private MaxPool2dOp(PoolShape s, Tensor x, Tensor y, Buffer argmax) {
        super("maxPool2d", y);
        this.s = s; this.x = x; this.y = y; this.argmax = argmax;
    }

    static Tensor apply(Tensor x, int window, int stride, int pad) {
        Shapes.rank("maxPool2d", "x", x, 4, "[n, c, h, w]");
        PoolShape s = new PoolShape(x.dim(0), x.dim(1), x.dim(2), x.dim(3), window, stride, pad);
        boolean record = Tape.recordsFor(x);
        Tensor y = Tape.output(x.backend(), record, s.n(), s.c(), s.p(), s.q());
        MaxPool2dOp op = new MaxPool2dOp(s, x, y, x.backend().allocate(s.outputSize()));
        Tape.run(op, record, () -> x.backend().maxPool(s, x.data(), y.data(), op.argmax));
        return y;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        Buffer dx = gradOf(x);
        if (dx != null) be.maxPoolBackward(s, dy, argmax, dx);
    }

    @Override
    void release() { argmax.close(); }

    @Override Work work(boolean backward) { return Work.streaming((double) x.size() + 2.0 * y.size()); }
}
