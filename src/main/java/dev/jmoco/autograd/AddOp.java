package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.trace.Work;

/** out = a + b over equal shapes (ResNet's skip connection); both inputs receive dy unchanged. */
final class AddOp extends SingleOutputOp {
    private final Tensor a, b, out;

    private AddOp(Tensor a, Tensor b, Tensor out) {
        super("add", out);
        this.a = a; this.b = b; this.out = out;
    }

    static Tensor apply(Tensor a, Tensor b) {
        Shapes.same("add", "a", a, "b", b);
        boolean record = Tape.recordsFor(a, b);
        Tensor out = Tape.output(a.backend(), record, a.shape());
        Tape.run(new AddOp(a, b, out), record, () -> a.backend().add(1f, a.data(), 1f, b.data(), out.data()));
        return out;
    }

    @Override
    void backward(Buffer dy, Backend be) {
        Buffer da = gradOf(a), db = gradOf(b);
        if (da != null) be.add(1f, da, 1f, dy, da);
        if (db != null) be.add(1f, db, 1f, dy, db);
    }

    @Override Work work(boolean backward) { return Work.streaming((backward ? 2.0 : 3.0) * out.size()); }
}
