package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.trace.Work;

/** y = max(x, 0); backward passes dy where y &gt; 0, so it needs only the output. */
final class ReluOp extends SingleOutputOp {
    private final Tensor x, y;

    private ReluOp(Tensor x, Tensor y) {
        super("relu", y);
        this.x = x; this.y = y;
    }

    static Tensor apply(Tensor x) {
        boolean record = Tape.recordsFor(x);
        Tensor y = Tape.output(x.backend(), record, x.shape());
        Tape.run(new ReluOp(x, y), record, () -> x.backend().relu(x.data(), y.data()));
        return y;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        Buffer dx = gradOf(x);
        if (dx != null) be.reluBackward(y.data(), dy, dx);
    }

    @Override Work work(boolean backward) { return Work.streaming((backward ? 3.0 : 2.0) * x.size()); }
}
