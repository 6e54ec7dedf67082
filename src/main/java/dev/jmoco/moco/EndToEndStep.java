package dev.jmoco.moco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;

/**
 * The end-to-end mechanism (MoCo paper, Fig. 2a): keys come from the query encoder itself, with gradient, and
 * the dictionary is the current batch. logits = q k^T / t [n, n], the positive of row i on the diagonal,
 * mean softmax cross-entropy; the gradient reaches f_q through both q and k. No queue, no momentum encoder.
 *
 * <p>Batch norm: the two views run as two separate training-mode forwards of f_q (as MoCo's q and k passes),
 * so each view's statistics come from that view alone and the running statistics are updated twice per step.
 * The key pass is shuffled across the BN groups and unshuffled exactly as MoCo's (shuffle-BN), here inside the
 * recorded graph, so that both mechanisms see the same BN treatment and differ only in the dictionary.
 */
public final class EndToEndStep extends ContrastiveStep {
    private int[] diagonal = new int[0];

    EndToEndStep(MocoConfig config, MocoEncoder encoder, ParameterArena query, Sgd sgd) {
        super(config, encoder, query, sgd);
    }

    @Override
    Loss.Stats run(Tensor viewQ, Tensor viewK, int[] indices, long step) {
        int n = viewQ.dim(0);
        try (Tape tape = Tape.record()) {
            Tensor q = embed(query, viewQ);
            Tensor k = embedShuffled(query, viewK, random().permutation(step, 0, n));
            Tensor logits = Ops.scale(Ops.matmul(q, k, false, true), 1f / config.temperature());
            Loss loss = Ops.softmaxCrossEntropy(logits, diagonal(n));
            backwardAndUpdate(tape, loss);
            return combine(loss);
        }
    }

    /** Labels 0 .. n-1: row i's positive is key i. */
    private int[] diagonal(int n) {
        if (diagonal.length != n) {
            diagonal = new int[n];
            for (int i = 0; i < n; i++) diagonal[i] = i;
        }
        return diagonal;
    }

    /** Holds no buffers of its own. */
    @Override
    public void close() {}
}
