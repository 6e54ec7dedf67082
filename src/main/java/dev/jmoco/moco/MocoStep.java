package dev.jmoco.moco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;

/**
 * MoCo (v1 and v2 alike: they differ in the encoder's head and the augmentation, outside this class): a queue
 * of keys from a momentum-updated key encoder.
 *
 * <h2>Order of one step (as the reference, moco/builder.py and the CIFAR demo's ModelMoCo)</h2>
 * <ol>
 *   <li>Momentum update, first: theta_k = m theta_k + (1 - m) theta_q over the parameters (not the BN running
 *       statistics), with theta_q as the previous step's SGD left it ({@code _momentum_update_key_encoder()}
 *       at the start of {@code forward}).</li>
 *   <li>Without gradient: shuffle x_k by a seeded permutation, k = normalize(f_k(shuffled)) with BN over
 *       {@code bnSplits} groups (shuffle-BN emulation), unshuffle k with the inverse permutation. (The
 *       reference computes q first; with no gradient through f_k the order changes nothing, and keys first
 *       frees f_k's activations before f_q's exist.)</li>
 *   <li>q = normalize(f_q(x_q)), BN over {@code bnSplits} groups, recorded for backward.</li>
 *   <li>loss = InfoNCE(q, k, queue, t), fused; f_q's gradients zeroed; backward; SGD step on f_q.</li>
 *   <li>Enqueue k over the oldest keys. (The reference enqueues inside forward, before backward, but its
 *       logits already hold a copy of the queue, so the result is the same.)</li>
 * </ol>
 * Symmetric: one momentum update, then k2 = f_k(x_k), k1 = f_k(x_q) (each key pass with its own shuffle),
 * q1 = f_q(x_q), q2 = f_q(x_k), loss = InfoNCE(q1, k2) + InfoNCE(q2, k1) against the same queue,
 * and k1 then k2 enqueued (the reference's {@code torch.cat([k1, k2])}); 2n keys must fit in the queue.
 */
public final class MocoStep extends ContrastiveStep {
    private final ParameterArena key;
    private final KeyQueue queue;

    MocoStep(MocoConfig config, MocoEncoder encoder, ParameterArena query, ParameterArena key, Sgd sgd) {
        super(config, encoder, query, sgd);
        if (key == null) throw new IllegalArgumentException("moco: the key encoder's arena is missing");
        if (key.trainable())
            throw new IllegalArgumentException("moco: the key encoder's arena must not be trainable (no gradients)");
        if (!key.entries().equals(query.entries()))
            throw new IllegalArgumentException("moco: the key encoder's arena (" + key.entries().size()
                    + " entries) does not have the query encoder's layout (" + query.entries().size()
                    + " entries); build it with newLike");
        this.key = key;
        this.queue = KeyQueue.random(query.backend(), config.queueSize(), config.dim(), config.seed());
    }

    /** The dictionary (for checkpoints and inspection). */
    public KeyQueue queue() { return queue; }

    @Override
    Loss.Stats run(Tensor viewQ, Tensor viewK, int[] indices, long step) {
        int n = viewQ.dim(0), enqueued = config.symmetric() ? 2 * n : n;
        if (enqueued > queue.capacity())
            throw new IllegalArgumentException("moco: " + enqueued + " keys per step (batch " + n
                    + (config.symmetric() ? ", symmetric" : "") + ") exceed the queue size " + queue.capacity());
        key.ema(config.momentum(), query);
        try (Tape tape = Tape.record()) {
            float t = config.temperature();
            // Keys first, each in a scope that frees the key encoder's activations on return: the query
            // encoder's forward and backward then never share memory with them (the result is the same in
            // either order: f_k has no gradient and every random choice depends on the step number only).
            Tensor k2 = keys(viewK, random().permutation(step, 0, n));
            Tensor k1 = config.symmetric() ? keys(viewQ, random().permutation(step, 1, n)) : null;
            Tensor q1 = embed(query, viewQ);
            Loss loss12 = Ops.infoNce(q1, k2, queue.keys(), t);
            if (!config.symmetric()) {
                backwardAndUpdate(tape, loss12);
                queue.enqueue(k2);
                return combine(loss12);
            }
            Tensor q2 = embed(query, viewK);
            Loss loss21 = Ops.infoNce(q2, k1, queue.keys(), t);
            backwardAndUpdate(tape, loss12, loss21);
            queue.enqueue(k1);
            queue.enqueue(k2);
            return combine(loss12, loss21);
        }
    }

    /** normalize(f_k(x)) with shuffle-BN, computed without keeping f_k's activations. */
    private Tensor keys(Tensor x, int[] permutation) {
        return Tape.detached(() -> embedShuffled(key, x, permutation));
    }

    @Override
    public void close() { queue.close(); }
}
