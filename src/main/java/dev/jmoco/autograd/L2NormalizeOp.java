package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.trace.Work;

/** y = x / max(||x||, 1e-12) per row of x [rows, cols] (the embeddings q and k); saves the norms. */
final class L2NormalizeOp extends SingleOutputOp {
    private final Tensor x, y;
    private final Buffer norms;

    private L2NormalizeOp(Tensor x, Tensor y, Buffer norms) {
        super("l2NormalizeRows", y);
        this.x = x; this.y = y; this.norms = norms;
    }

    static Tensor apply(Tensor x) {
        Shapes.rank("l2NormalizeRows", "x", x, 2, "[rows, cols]");
        boolean record = Tape.recordsFor(x);
        Tensor y = Tape.output(x.backend(), record, x.shape());
        L2NormalizeOp op = new L2NormalizeOp(x, y, x.backend().allocate(x.dim(0)));
        Tape.run(op, record, () -> x.backend().l2NormalizeRows(x.dim(0), x.dim(1), x.data(), y.data(), op.norms));
        return y;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        Buffer dx = gradOf(x);
        if (dx != null) be.l2NormalizeRowsBackward(x.dim(0), x.dim(1), y.data(), norms, dy, dx);
    }

    @Override
    void release() { norms.close(); }

    @Override Work work(boolean backward) { return Work.streaming((backward ? 3.0 : 2.0) * x.size()); }
}
