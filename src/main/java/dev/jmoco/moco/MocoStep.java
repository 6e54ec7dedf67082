package dev.jmoco.moco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Buffer;

import java.util.List;

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
 *
 * <h2>Shuffle-BN across ranks</h2>
 * With N ranks (as {@code _batch_shuffle_ddp} and {@code _batch_unshuffle_ddp}): x_k of the global batch B = N n
 * is all-gathered; the permutation of the step is the same on every rank (drawn from the seed and step number,
 * so nothing needs broadcasting); rank r encodes the shuffled rows r, r + N, ... with BN over its own n
 * samples; the keys are all-gathered and unshuffled, and every rank takes its own samples' keys for the loss
 * and enqueues all B in the global batch's order, so every queue stays the same. (Shuffled rows strided, not
 * in blocks as the reference's {@code view(num_gpus, -1)}: both are uniform shuffles, and strided ones make
 * rank r's BN groups exactly those of one process with N x S splits.)
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
        int ranks = collective().size(), n = viewQ.dim(0) * ranks, enqueued = config.symmetric() ? 2 * n : n;
        if (enqueued > queue.capacity())
            throw new IllegalArgumentException("moco: " + enqueued + " keys per step (batch " + n
                    + (config.symmetric() ? ", symmetric" : "") + ") exceed the queue size " + queue.capacity());
        key.ema(config.momentum(), query);
        try (Tape tape = Tape.record()) {
            float t = config.temperature();
            // Keys first, each in a scope that frees the key encoder's activations on return: the query
            // encoder's forward and backward then never share memory with them (the result is the same in
            // either order: f_k has no gradient and every random choice depends on the step number only).
            ShuffledKeys.Keys k2 = keys(viewK, random().permutation(step, 0, n));
            ShuffledKeys.Keys k1 = config.symmetric() ? keys(viewQ, random().permutation(step, 1, n)) : null;
            Tensor q1 = embed(query, viewQ);
            Loss loss12 = Ops.infoNce(q1, k2.own(), queue.keys(), t);
            if (!config.symmetric()) {
                backwardAndUpdate(tape, loss12);
                queue.enqueue(k2.all());
                return combine(loss12);
            }
            Tensor q2 = embed(query, viewK);
            Loss loss21 = Ops.infoNce(q2, k1.own(), queue.keys(), t);
            backwardAndUpdate(tape, loss12, loss21);
            queue.enqueue(k1.all());
            queue.enqueue(k2.all());
            return combine(loss12, loss21);
        }
    }

    /** normalize(f_k(x)) with shuffle-BN (across the ranks when there are several) by {@code permutation}. */
    private ShuffledKeys.Keys keys(Tensor x, int[] permutation) {
        return ShuffledKeys.of(collective(), rows -> encode(key, rows), x, permutation);
    }

    @Override
    List<Buffer> averagedBuffers() {
        List<Buffer> b = super.averagedBuffers();
        if (key.state() != null) b.add(key.state());
        return b;
    }

    @Override
    public void close() { queue.close(); }
}
