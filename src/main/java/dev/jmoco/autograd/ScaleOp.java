package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;

/** y = alpha x (e.g. logits / t); the input receives alpha dy. */
final class ScaleOp extends SingleOutputOp {
    private final Tensor x, y;
    private final float alpha;

    private ScaleOp(Tensor x, Tensor y, float alpha) {
        super("scale", y);
        this.x = x; this.y = y; this.alpha = alpha;
    }

    static Tensor apply(Tensor x, float alpha) {
        if (!Float.isFinite(alpha)) throw new IllegalArgumentException("scale: factor must be finite, got " + alpha);
        boolean record = Tape.recordsFor(x);
        Tensor y = Tape.output(x.backend(), record, x.shape());
        Tape.run(new ScaleOp(x, y, alpha), record, () -> x.backend().add(alpha, x.data(), 0f, x.data(), y.data()));
        return y;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        Buffer dx = gradOf(x);
        if (dx != null) be.add(alpha, dy, 1f, dx, dx);
    }
}
