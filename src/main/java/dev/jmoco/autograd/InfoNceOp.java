package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;
import dev.jmoco.trace.Work;

/**
 * MoCo's InfoNCE, fused: logits [q.k+, q.queue] / t with the positive at 0, mean cross-entropy. Forward also
 * computes dq, and dk when k requires a gradient (the end-to-end mechanism); the queue never gets one.
 */
final class InfoNceOp extends Op {
    private final Tensor q, k, value;
    private final int queueRows;
    private Buffer dq, dk; // null once handed over (or, for dk, when k needs no gradient)

    private InfoNceOp(Tensor q, Tensor k, Tensor value, int queueRows, Buffer dq, Buffer dk) {
        super("infoNce");
        this.q = q; this.k = k; this.value = value; this.queueRows = queueRows; this.dq = dq; this.dk = dk;
    }

    static Loss apply(Tensor q, Tensor k, Tensor queue, float t) {
        String name = "infoNce";
        Shapes.rank(name, "q", q, 2, "[n, c]");
        Shapes.same(name, "q", q, "k", k);
        Shapes.rank(name, "queue", queue, 2, "[K, c]");
        if (queue.dim(1) != q.dim(1))
            throw new IllegalArgumentException(name + ": q " + Shapes.of(q) + " and queue " + Shapes.of(queue)
                    + " disagree on the feature dimension (" + q.dim(1) + " vs " + queue.dim(1) + ")");
        if (!(t > 0) || !Float.isFinite(t))
            throw new IllegalArgumentException(name + ": temperature must be > 0, got " + t);
        boolean record = Tape.recordsFor(q, k);
        Backend be = q.backend();
        Loss loss = FusedLoss.newLoss(name, be, record);
        InfoNceOp op = new InfoNceOp(q, k, loss.value(), queue.dim(0), be.allocate(q.size()),
                record && k.requiresGrad() ? be.allocate(k.size()) : null);
        Tape.run(op, record, () -> be.infoNce(q.dim(0), q.dim(1), queue.dim(0), t, q.data(), k.data(), queue.data(),
                1f, loss.stats().data(), op.dq, op.dk));
        return loss;
    }

    @Override
    void backward(Tape tape) {
        if (!FusedLoss.reached(this, tape, value)) return;
        dq = FusedLoss.handOver(this, q, dq);
        if (dk != null) dk = FusedLoss.handOver(this, k, dk);
    }

    @Override
    void release() {
        if (dq != null) dq.close();
        if (dk != null) dk.close();
    }

    /** Fused: the forward also writes dq, so it reads the queue twice (logits, then dq) and backward adds only. */
    @Override
    Work work(boolean backward) {
        if (backward) return Work.NONE;
        double n = q.dim(0), c = q.dim(1), keys = queueRows + 1;
        return new Work(4 * n * c * keys, 4 * (2 * queueRows * c + 3 * n * c));
    }
}
