package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.trace.Work;

/** y [n, c] = mean of x [n, c, h, w] over each plane (ResNet's last pooling). */
final class GlobalAvgPoolOp extends SingleOutputOp {
    private final Tensor x, y;

    private GlobalAvgPoolOp(Tensor x, Tensor y) {
        super("globalAvgPool", y);
        this.x = x; this.y = y;
    }

    static Tensor apply(Tensor x) {
        Shapes.rank("globalAvgPool", "x", x, 4, "[n, c, h, w]");
        boolean record = Tape.recordsFor(x);
        Tensor y = Tape.output(x.backend(), record, x.dim(0), x.dim(1));
        Tape.run(new GlobalAvgPoolOp(x, y), record,
                () -> x.backend().globalAvgPool(x.dim(0), x.dim(1), x.dim(2) * x.dim(3), x.data(), y.data()));
        return y;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        Buffer dx = gradOf(x);
        if (dx != null) be.globalAvgPoolBackward(x.dim(0), x.dim(1), x.dim(2) * x.dim(3), dy, dx);
    }

    @Override Work work(boolean backward) { return Work.streaming((double) x.size() + y.size()); }
}
