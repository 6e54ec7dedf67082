package dev.jmoco.moco;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Buffer;
import dev.jmoco.dist.Collective;
import dev.jmoco.dist.SingleProcess;
import dev.jmoco.trace.Trace;
import dev.jmoco.trace.Work;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * One training step of a contrastive mechanism: forward of both views, InfoNCE, backward, SGD on f_q, and the
 * mechanism's dictionary update. Created by {@link #create} from a {@link MocoConfig}.
 *
 * <h2>Call order</h2>
 * Create f_q's arena (trainable) and, for MoCo, f_k's (same layout, not trainable) as a copy of it
 * ({@link ParameterArena#copyFrom}) once at the start of training, not on resume; create the {@link Sgd} on
 * f_q's arena. Then call {@link #step} once per batch; set the learning rate on the Sgd between steps. To resume,
 * restore arenas, optimizer, dictionary ({@code queue()} / {@code bank()}) and {@link #resumeAt} the step count,
 * and the run continues exactly as if uninterrupted (the random choices depend on the step number only).
 *
 * <p>After a step, f_q's arena still holds that step's gradients (zeroed at the start of the next backward).
 *
 * <h2>Data parallel (several ranks, {@link #distributeOver})</h2>
 * As facebookresearch/moco's DistributedDataParallel version: each rank steps on its share of the global batch
 * (rank r holds the batch's samples r, r + N, r + 2N, ..., as a DistributedSampler gives them); after backward
 * the gradients are averaged over the ranks in one all-reduce (with the batch-norm running statistics, so the
 * ranks stay identical; they are a mean over BN groups, which averaging extends over the ranks); the loss and
 * accuracies are averaged, so every rank sees the same numbers and stops at the same step. MoCo shuffles the
 * key encoder's batch across ranks ({@link MocoStep}). Rank r's BN group s (of S per rank) holds the global
 * batch's samples i with i mod NS = r + N s: N ranks with S BN splits are one process with N x S splits.
 */
public abstract sealed class ContrastiveStep implements TrainingStep
        permits MocoStep, EndToEndStep, MemoryBankStep {
    final MocoConfig config;
    final MocoEncoder encoder;
    final ParameterArena query;
    final Sgd sgd;
    private StepRandom random;
    private Collective collective = new SingleProcess();
    private long steps;

    ContrastiveStep(MocoConfig config, MocoEncoder encoder, ParameterArena query, Sgd sgd) {
        if (!query.trainable())
            throw new IllegalArgumentException("moco: the query encoder's arena must be trainable");
        this.config = config;
        this.encoder = encoder;
        this.query = query;
        this.sgd = sgd;
        this.random = StepRandom.seeded(config.seed());
    }

    /**
     * The step of {@code config.mechanism()}. {@code key} is f_k's arena for MoCo (same layout as {@code query},
     * not trainable) and is ignored (may be null) by the other mechanisms, which have no key encoder.
     */
    public static ContrastiveStep create(MocoConfig config, MocoEncoder encoder, ParameterArena query,
                                         ParameterArena key, Sgd sgd) {
        return switch (config.mechanism()) {
            case MOCO -> new MocoStep(config, encoder, query, key, sgd);
            case END_TO_END -> new EndToEndStep(config, encoder, query, sgd);
            case MEMORY_BANK -> new MemoryBankStep(config, encoder, query, sgd);
        };
    }

    /**
     * Runs one step on a batch: {@code viewQ} and {@code viewK} are the two augmentations [n, ...] of the same
     * n images, {@code indices} their positions in the dataset (needed by the memory bank only, else may be
     * null). Returns the loss and the acc@1 / acc@5 of the positive (fractions; symmetric MoCo: the summed
     * loss and the mean accuracies of its two terms).
     *
     * @throws dev.jmoco.autograd.NonFiniteLossException if the loss is not finite, and
     *         {@link LossOutOfRangeException} if it is outside {@link #lossBound}; the step's updates have
     *         been applied then, so the caller stops and keeps its last good checkpoint
     */
    @Override
    public final Loss.Stats step(Tensor viewQ, Tensor viewK, int[] indices) {
        if (!Arrays.equals(viewQ.shape(), viewK.shape()))
            throw new IllegalArgumentException("moco: the two views differ in shape (" + Arrays.toString(viewQ.shape())
                    + " vs " + Arrays.toString(viewK.shape()) + ")");
        int n = viewQ.dim(0);
        if (n % config.bnSplits() != 0)
            throw new IllegalArgumentException("moco: batch of " + n + " is not a multiple of the " + config.bnSplits()
                    + " BN splits");
        Loss.Stats stats = averagedOverRanks(collective, run(viewQ, viewK, indices, steps));
        requireInRange(stats, lossBound(n));
        steps++;
        return stats;
    }

    /** Refuses a loss outside [0, bound], with a little slack on both ends for the fused sums' float rounding. */
    static void requireInRange(Loss.Stats stats, double bound) {
        if (stats.loss() < -1e-3 || stats.loss() > bound * (1 + 1e-4) + 1e-3)
            throw new LossOutOfRangeException(stats.loss(), bound);
    }

    /**
     * The largest loss a step on {@code n} images can give: each InfoNCE term is log(sum_j exp(l_j)) - l_pos
     * with every logit in [-1/t, 1/t] (unit vectors), so at most log(1 + negatives) + 2/t, negatives being K
     * (MoCo's queue, the memory bank's sample) or n - 1 (end-to-end); symmetric MoCo sums two terms.
     */
    public final double lossBound(int n) {
        int negatives = Math.max(config.queueSize(), n - 1);
        return (config.symmetric() ? 2 : 1) * (Math.log1p(negatives) + 2.0 / config.temperature());
    }

    @Override public long steps() { return steps; }

    @Override public void resumeAt(long steps) {
        if (steps < 0) throw new IllegalArgumentException("moco: step count must be >= 0, got " + steps);
        this.steps = steps;
    }

    /**
     * Steps as one rank of a data-parallel job over {@code collective} (default: one process). MoCo only: the
     * end-to-end mechanism's keys carry gradients through f_q, so their negatives would have to be gathered with
     * their gradients, and the memory bank would need every rank's features and indices to stay identical;
     * neither is done, so both are refused here.
     */
    public void distributeOver(Collective collective) {
        if (collective.distributed() && !(this instanceof MocoStep))
            throw new IllegalArgumentException("moco: the " + config.mechanism().cliName() + " mechanism runs in one "
                    + "process only (its negatives are not gathered across ranks); start it without mpirun, or use moco");
        this.collective = collective;
    }

    /** The job this step is a rank of. */
    public Collective collective() { return collective; }

    /** Replaces the source of random choices (tests replaying PyTorch's; default: seeded by the config). */
    public void useRandom(StepRandom random) { this.random = random; }

    public MocoConfig config() { return config; }

    /** The mechanism's step, number {@code step}; the batch's shape and BN split are already checked. */
    abstract Loss.Stats run(Tensor viewQ, Tensor viewK, int[] indices, long step);

    StepRandom random() { return random; }

    /** normalize(encoder(params, x)), BN over the configured splits; checks the feature dimension. */
    final Tensor embed(ParameterArena params, Tensor x) {
        try (Trace.Scope phase = Trace.scope("query encoder forward", "phase")) {
            return encode(params, x);
        }
    }

    final Tensor encode(ParameterArena params, Tensor x) { return encode(encoder, params, x, config); }

    /** normalize(encoder(params, x)) with BN over the configured splits, its shape checked against the dictionary's. */
    static Tensor encode(MocoEncoder encoder, ParameterArena params, Tensor x, MocoConfig config) {
        Tensor f = encoder.forward(params, x, config.bnSplits());
        if (f.rank() != 2 || f.dim(0) != x.dim(0) || f.dim(1) != config.dim())
            throw new IllegalArgumentException("moco: encoder output " + Arrays.toString(f.shape()) + " is not [batch "
                    + x.dim(0) + ", dim " + config.dim() + "]; the dictionary holds keys of dim " + config.dim());
        return Ops.l2NormalizeRows(f);
    }

    /**
     * Shuffle-BN on one device: embeds the rows of x in the order {@code permutation}, so that BN groups mix
     * samples differently than the query pass does, and returns the keys in x's order again.
     */
    final Tensor embedShuffled(ParameterArena params, Tensor x, int[] permutation) {
        return embedShuffled(rows -> encode(params, rows), x, permutation);
    }

    /** {@link #embedShuffled(ParameterArena, Tensor, int[])} with {@code encode} (rows to normalised keys). */
    static Tensor embedShuffled(UnaryOperator<Tensor> encode, Tensor x, int[] permutation) {
        try (Trace.Scope phase = Trace.scope("key encoder forward", "phase")) {
            return unshuffled(encode.apply(Ops.gatherRows(x, permutation)), permutation);
        }
    }

    /** Rows of {@code k}, computed from rows {@code permutation} of a batch, back in the batch's order. */
    static Tensor unshuffled(Tensor k, int[] permutation) { return Ops.gatherRows(k, StepRandom.inverse(permutation)); }

    /**
     * Zeroes f_q's gradients, back-propagates from the losses (all roots of the tape), averages the gradients
     * over the ranks (with the running statistics: {@link #averagedBuffers}), and steps SGD on f_q.
     */
    final void backwardAndUpdate(Tape tape, Loss... losses) {
        query.zeroGrad();
        Tensor[] roots = new Tensor[losses.length];
        for (int i = 0; i < roots.length; i++) roots[i] = losses[i].value();
        try (Trace.Scope phase = Trace.scope("backward", "phase")) {
            tape.backward(roots);
        }
        if (collective.distributed())
            try (Trace.Scope phase = Trace.scope("gradient all-reduce", "phase")) {
                collective.allReduceMean(averagedBuffers());
            }
        try (Trace.Scope update = Trace.scope("SGD", "update")) {
            sgd.step();
            update.work(Work.streaming(5.0 * query.data().size())); // param, grad, velocity read; param, velocity written
        }
    }

    /**
     * What the ranks average after backward, in one call: f_q's gradients and its BN running statistics (MoCo
     * adds f_k's running statistics).
     */
    List<Buffer> averagedBuffers() {
        List<Buffer> b = new ArrayList<>(List.of(query.grad()));
        if (query.state() != null) b.add(query.state());
        return b;
    }

    /** The step's statistics as the mean over the ranks (each rank's are the mean over its equal share). */
    static Loss.Stats averagedOverRanks(Collective collective, Loss.Stats local) {
        if (!collective.distributed()) return local;
        double[] sums = collective.sum(new double[] {local.loss(), local.acc1(), local.acc5()});
        int n = collective.size();
        return new Loss.Stats(sums[0] / n, sums[1] / n, sums[2] / n);
    }

    /** The statistics of the step's losses, read with one download each: losses add, accuracies average. */
    static Loss.Stats combine(Loss... losses) {
        double loss = 0, acc1 = 0, acc5 = 0;
        for (Loss l : losses) {
            Loss.Stats s = l.read();
            loss += s.loss();
            acc1 += s.acc1() / losses.length;
            acc5 += s.acc5() / losses.length;
        }
        return new Loss.Stats(loss, acc1, acc5);
    }

    @Override
    public abstract void close();
}
