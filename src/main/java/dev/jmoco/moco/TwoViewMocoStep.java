package dev.jmoco.moco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Buffer;
import dev.jmoco.dist.Collective;
import dev.jmoco.dist.SingleProcess;
import dev.jmoco.optim.Sgd;
import dev.jmoco.trace.Trace;

import java.util.ArrayList;
import java.util.List;

/**
 * MoCo as the dictionary of Contrastive Multiview Coding (Tian et al. 2019): two views of each image (Lab's L
 * channel and its ab channels), one encoder per view, each with its momentum copy and its queue of keys; the
 * query of one view is contrasted with the keys of the other.
 *
 * <h2>One step</h2>
 * <ol>
 *   <li>Both momentum updates, theta_k = m theta_k + (1 - m) theta_q, per view.</li>
 *   <li>Without gradient: k_1 = normalize(f_k^1(x_1)) and k_2 = normalize(f_k^2(x_2)), each pass shuffled for BN
 *       (permutation draw 0 for view 1, draw 1 for view 2) over {@code bnSplits} groups.</li>
 *   <li>q_1 = normalize(f_q^1(x_1)), q_2 = normalize(f_q^2(x_2)); loss = InfoNCE(q_1, k_2, queue_2) +
 *       InfoNCE(q_2, k_1, queue_1), each as MoCo's (temperature t, the positive against the other view's
 *       queue).</li>
 *   <li>Both query encoders' gradients zeroed, backward, SGD on each.</li>
 *   <li>k_1 into queue_1, k_2 into queue_2.</li>
 * </ol>
 * On N ranks ({@link #distributeOver}) each rank holds a share of the batch, the keys are shuffled across the
 * ranks and every rank enqueues the whole batch's keys, and the gradients are averaged before SGD: N ranks with
 * S BN splits each step as one process with N x S. The random choices depend on (seed, step) only, so
 * {@link #resumeAt} continues a run exactly. Matched against PyTorch by {@code tools/golden/make_cmc_fixtures.py}.
 */
public final class TwoViewMocoStep implements TrainingStep {

    /** One view's parts: its encoder over f_q's (trainable) and f_k's arenas, f_q's SGD, and its queue. */
    public static final class View implements AutoCloseable {
        final MocoEncoder encoder;
        final ParameterArena query, key;
        final Sgd sgd;
        final KeyQueue queue;

        /** f_k starts as a copy of f_q; the queue is random unit rows seeded by {@code seed}. */
        public View(MocoEncoder encoder, ParameterArena query, ParameterArena key, Sgd sgd, MocoConfig config, long seed) {
            if (!query.trainable() || key.trainable())
                throw new IllegalArgumentException("moco: a view's query arena must be trainable, its key arena not");
            if (!key.entries().equals(query.entries()))
                throw new IllegalArgumentException("moco: a view's key arena does not have its query arena's layout");
            this.encoder = encoder;
            this.query = query;
            this.key = key;
            this.sgd = sgd;
            this.queue = KeyQueue.random(query.backend(), config.queueSize(), config.dim(), seed);
        }

        /** The view's dictionary (for checkpoints and inspection). */
        public KeyQueue queue() { return queue; }

        /** f_q's arena (trainable). */
        public ParameterArena query() { return query; }

        /** f_k's arena (the momentum copy). */
        public ParameterArena key() { return key; }

        /** f_q's optimizer. */
        public Sgd sgd() { return sgd; }

        @Override public void close() { queue.close(); }
    }

    private final MocoConfig config;
    private final View first, second;
    private StepRandom random;
    private Collective collective = new SingleProcess();
    private long steps;

    /** A step over views {@code first} (L) and {@code second} (ab); the views' arenas and Sgds stay the caller's. */
    public TwoViewMocoStep(MocoConfig config, View first, View second) {
        this.config = config;
        this.first = first;
        this.second = second;
        this.random = StepRandom.seeded(config.seed());
    }

    /** Replaces the source of random choices (tests replaying PyTorch's). */
    public void useRandom(StepRandom random) { this.random = random; }

    /**
     * Steps as one rank of a data-parallel job over {@code collective} (default: one process), as {@link MocoStep}
     * does: each view's keys shuffled across the ranks, every rank enqueueing the global batch's keys, and both
     * query encoders' gradients and all four encoders' running statistics averaged in one all-reduce.
     */
    public void distributeOver(Collective collective) { this.collective = collective; }

    @Override public void resumeAt(long steps) {
        if (steps < 0) throw new IllegalArgumentException("moco: step count must be >= 0, got " + steps);
        this.steps = steps;
    }

    @Override public long steps() { return steps; }

    /** The first view's (L's) parts. */
    public View first() { return first; }

    /** The second view's (ab's) parts. */
    public View second() { return second; }

    /** {@link #step(Tensor, Tensor)}; the data set indices are not needed. */
    @Override
    public Loss.Stats step(Tensor x1, Tensor x2, int[] indices) { return step(x1, x2); }

    /**
     * The largest loss a step can give: two InfoNCE terms of K negatives each, every logit in [-1/t, 1/t], so
     * 2 (log(1 + K) + 2 / t).
     */
    public double lossBound() { return 2 * (Math.log1p(config.queueSize()) + 2.0 / config.temperature()); }

    /**
     * One step on the two views [n, c_1, h, w] and [n, c_2, h, w] of the same n images; returns the summed loss
     * and the mean accuracies of the two terms.
     *
     * @throws dev.jmoco.autograd.NonFiniteLossException if the loss is not finite, and
     *         {@link LossOutOfRangeException} if it is outside {@link #lossBound}; the updates have been applied
     */
    public Loss.Stats step(Tensor x1, Tensor x2) {
        int local = x1.dim(0), n = local * collective.size();
        if (x2.dim(0) != local)
            throw new IllegalArgumentException("moco: the two views hold " + local + " and " + x2.dim(0) + " images");
        if (local % config.bnSplits() != 0)
            throw new IllegalArgumentException("moco: batch of " + local + " is not a multiple of the "
                    + config.bnSplits() + " BN splits");
        if (n > first.queue.capacity())
            throw new IllegalArgumentException("moco: " + n + " keys per step exceed the queue size " + first.queue.capacity());
        first.key.ema(config.momentum(), first.query);
        second.key.ema(config.momentum(), second.query);
        try (Tape tape = Tape.record()) {
            ShuffledKeys.Keys k1 = keys(first, x1, random.permutation(steps, 0, n));
            ShuffledKeys.Keys k2 = keys(second, x2, random.permutation(steps, 1, n));
            Tensor q1 = embed(first, first.query, x1), q2 = embed(second, second.query, x2);
            float t = config.temperature();
            Loss loss12 = Ops.infoNce(q1, k2.own(), second.queue.keys(), t);
            Loss loss21 = Ops.infoNce(q2, k1.own(), first.queue.keys(), t);
            first.query.zeroGrad();
            second.query.zeroGrad();
            try (Trace.Scope phase = Trace.scope("backward", "phase")) {
                tape.backward(loss12.value(), loss21.value());
            }
            if (collective.distributed())
                try (Trace.Scope phase = Trace.scope("gradient all-reduce", "phase")) {
                    collective.allReduceMean(averagedBuffers());
                }
            first.sgd.step();
            second.sgd.step();
            first.queue.enqueue(k1.all());
            second.queue.enqueue(k2.all());
            Loss.Stats stats = ContrastiveStep.averagedOverRanks(collective, ContrastiveStep.combine(loss12, loss21));
            ContrastiveStep.requireInRange(stats, lossBound());
            steps++;
            return stats;
        }
    }

    /** Both f_q's gradients and the running statistics of all four encoders, for the ranks to average. */
    private List<Buffer> averagedBuffers() {
        List<Buffer> b = new ArrayList<>();
        for (View v : List.of(first, second)) {
            b.add(v.query.grad());
            for (ParameterArena a : List.of(v.query, v.key)) if (a.state() != null) b.add(a.state());
        }
        return b;
    }

    /** A view's keys: normalize(f_k(x)) with shuffle-BN by {@code permutation}, no activations kept. */
    private ShuffledKeys.Keys keys(View v, Tensor x, int[] permutation) {
        return ShuffledKeys.of(collective, rows -> embed(v, v.key, rows), x, permutation);
    }

    private Tensor embed(View v, ParameterArena params, Tensor x) {
        return ContrastiveStep.encode(v.encoder, params, x, config);
    }

    /** Releases both queues (the arenas and Sgds are the caller's). */
    @Override
    public void close() {
        first.close();
        second.close();
    }
}
