package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;

/**
 * Mean softmax cross-entropy of logits [n, classes] against integer labels, fused: forward also computes
 * d(loss)/d(logits), which backward hands to the logits (the linear probe's loss).
 */
final class SoftmaxCrossEntropyOp extends Op {
    private final Tensor logits, value;
    private Buffer dlogits; // null once handed over to logits as its gradient

    private SoftmaxCrossEntropyOp(Tensor logits, Tensor value, Buffer dlogits) {
        super("softmaxCrossEntropy");
        this.logits = logits; this.value = value; this.dlogits = dlogits;
    }

    static Loss apply(Tensor logits, int[] labels) {
        String name = "softmaxCrossEntropy";
        Shapes.rank(name, "logits", logits, 2, "[n, classes]");
        int n = logits.dim(0), classes = logits.dim(1);
        if (labels.length != n)
            throw new IllegalArgumentException(name + ": logits " + Shapes.of(logits) + " and labels [" + labels.length
                    + "] disagree on the batch (" + n + " vs " + labels.length + ")");
        for (int i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] >= classes)
                throw new IllegalArgumentException(name + ": label[" + i + "] = " + labels[i] + " outside the "
                        + classes + " classes of logits " + Shapes.of(logits));
        boolean record = Tape.recordsFor(logits);
        Backend be = logits.backend();
        Loss loss = FusedLoss.newLoss(name, be, record);
        SoftmaxCrossEntropyOp op = new SoftmaxCrossEntropyOp(logits, loss.value(), be.allocate(logits.size()));
        Tape.run(op, record,
                () -> be.softmaxCrossEntropy(n, classes, logits.data(), labels, 1f, loss.stats().data(), op.dlogits));
        return loss;
    }

    @Override
    void backward(Tape tape) {
        if (FusedLoss.reached(this, tape, value)) dlogits = FusedLoss.handOver(this, logits, dlogits);
    }

    @Override
    void release() { if (dlogits != null) dlogits.close(); }
}
