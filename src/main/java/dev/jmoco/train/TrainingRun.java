package dev.jmoco.train;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.data.AugmentationRecipe;
import dev.jmoco.data.ColorSpace;
import dev.jmoco.data.Dataset;
import dev.jmoco.data.Datasets;
import dev.jmoco.data.LabColor;
import dev.jmoco.data.Normalization;
import dev.jmoco.data.Loader;
import dev.jmoco.dist.Collective;
import dev.jmoco.dist.Collectives;
import dev.jmoco.dist.Launch;
import dev.jmoco.eval.FeatureExtractor;
import dev.jmoco.eval.KnnMonitor;
import dev.jmoco.moco.ContrastiveStep;
import dev.jmoco.moco.KeyQueue;
import dev.jmoco.moco.Mechanism;
import dev.jmoco.moco.MemoryBank;
import dev.jmoco.moco.MemoryBankStep;
import dev.jmoco.moco.MocoStep;
import dev.jmoco.moco.TrainingStep;
import dev.jmoco.moco.TwoViewMocoStep;
import dev.jmoco.nn.Architecture;
import dev.jmoco.nn.Encoder;
import dev.jmoco.nn.Encoders;
import dev.jmoco.nn.Stem;
import dev.jmoco.optim.CosineSchedule;
import dev.jmoco.optim.LearningRateSchedule;
import dev.jmoco.optim.StepSchedule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The parts of a training run, assembled from its {@link TrainConfig}: the backend ({@code Backends.create(device)}),
 * the training split (first {@code limitTrain} images), the encoders f_q and f_k (arenas of one layout, f_k a
 * copy of f_q), SGD with the linearly scaled, scheduled learning rate, the mechanism's step and dictionary, a
 * loader of two augmented views per image on background threads, and the device tensors the views go to. It
 * holds no progress: {@link Trainer} runs it.
 *
 * <p>As one rank of a data-parallel job ({@code job} of N ranks): the global batch {@code config.batch()} is
 * split evenly, this rank loading its share of each; the step averages over {@link #collective} (NCCL on the
 * GPUs when the job asks for it or may use it, else the job's own); each rank takes the GPU of its local rank
 * when the device names none.
 *
 * <p>With {@code --views lab} (CMC): the loader splits each augmented image, in Lab, into its L channel (view
 * 0) and its ab channels (view 1); f_q, f_k, the Sgd and the encoder above are L's (one input channel, seeded by
 * the seed), {@link #ab} holds ab's (two input channels, seeded by seed + 1), and the step is a
 * {@link TwoViewMocoStep}, data-parallel as MoCo is.
 */
final class TrainingRun implements AutoCloseable {
    final TrainConfig config;
    final Backend backend;
    final Dataset train;
    final Architecture architecture;
    final ParameterArena query, key;
    final Encoder encoder;
    final Sgd sgd;
    final TrainingStep step;
    /** The ab view's encoder and parts ({@code --views lab}), else null. */
    final AbView ab;
    final Loader loader;
    final LearningRateSchedule schedule;
    final Tensor viewQ, viewK;
    /** The job this run is a rank of (the caller's), and what the step communicates over (it, or NCCL's). */
    final Collective job, collective;
    private final Collective ownCollective; // opened here (NCCL over the job), closed here; else null
    private Dataset test; // opened once, when the kNN monitor first needs it

    /** CMC's second view: its architecture (two input channels), f_q bound to it, and its arenas, Sgd and queue. */
    record AbView(Architecture architecture, Encoder encoder, TwoViewMocoStep.View parts) {}

    /**
     * Checks the settings against the data set and builds every part (what can fail on bad settings, before
     * anything is written); on failure, releases what was built.
     */
    TrainingRun(TrainConfig config, Collective job) throws IOException {
        this.config = config;
        this.job = job;
        if (config.batch() % job.size() != 0)
            throw new IllegalArgumentException("batch " + config.batch() + " (the global batch) does not split evenly "
                    + "over " + job.size() + " ranks");
        Dataset full = Datasets.open(config.dataset(), config.dataDir(), "train", config.imageSize());
        this.train = config.limitTrain() > 0 ? full.subset(config.limitTrain()) : full;
        if (config.batch() > train.size())
            throw new IllegalArgumentException("batch " + config.batch() + " is larger than the data set: "
                    + train.size() + " training images of " + config.dataset()
                    + (config.limitTrain() > 0 ? " (limit-train " + config.limitTrain() + ")" : ""));
        if (config.knnEvery() > 0 && config.knnK() > train.size())
            throw new IllegalArgumentException("knn k " + config.knnK() + " exceeds the " + train.size()
                    + " training images of its bank");
        if (config.labViews()) ColorSpace.LAB.requireFits(train);
        if (config.knnEvery() > 0) test = openTest(); // fail before training, not after the first epoch
        Stem stem = switch (config.stem()) {
            case "cifar" -> Stem.CIFAR;
            case "imagenet" -> Stem.IMAGENET;
            default -> Stem.forImages(train.height(), train.width());
        };
        this.architecture = Encoders.create(config.arch(), stem, config.labViews() ? 1 : train.channels(),
                config.head(), config.dim(), config.decay());
        Architecture abArchitecture = config.labViews()
                ? Encoders.create(config.arch(), stem, 2, config.head(), config.dim(), config.decay()) : null;
        this.backend = Backends.create(job.distributed() ? Launch.current().device(Backends.resolve(config.device()))
                : config.device());
        Collective own = null;
        ParameterArena q = null, k = null;
        ParameterArena q2 = null, k2 = null;
        Sgd s = null, s2 = null;
        TrainingStep c = null;
        TwoViewMocoStep.View first = null, second = null;
        Loader l = null;
        Tensor vq = null, vk = null;
        try {
            q = architecture.arenaLayout().build(backend, true);
            architecture.initialize(q, config.seed());
            if (config.mechanism() == Mechanism.MOCO) k = momentumCopy(q);
            s = sgd(q, config);
            if (job.distributed()) own = Collectives.onDevice(job, backend, config.collective(), System.err);
            Collective stepCollective = own != null ? own : job;
            if (abArchitecture != null) {
                q2 = abArchitecture.arenaLayout().build(backend, true);
                abArchitecture.initialize(q2, config.seed() + 1);
                k2 = momentumCopy(q2);
                s2 = sgd(q2, config);
                var moco = config.mocoConfig(0);
                first = new TwoViewMocoStep.View(architecture::trainingForward, q, k, s, moco, config.seed());
                second = new TwoViewMocoStep.View(abArchitecture::trainingForward, q2, k2, s2, moco, config.seed() + 1);
                TwoViewMocoStep two = new TwoViewMocoStep(moco, first, second);
                c = two;
                two.distributeOver(stepCollective);
            } else {
                int bankSize = config.mechanism() == Mechanism.MEMORY_BANK ? train.size() : 0;
                ContrastiveStep cs = ContrastiveStep.create(config.mocoConfig(bankSize), architecture::trainingForward,
                        q, k, s);
                c = cs;
                cs.distributeOver(stepCollective);
            }
            int share = config.batch() / job.size();
            Loader.Builder lb = Loader.builder(train).training(recipe(config), config.seed()).batchSize(share)
                    .shard(job.rank(), job.size()).skipUndecodable(config.skipBadImages());
            if (config.labViews()) lb.labSplit();
            if (config.workers() > 0) lb.threads(config.workers());
            l = lb.build();
            vq = Tensor.allocate(backend, share, l.viewChannels(0), l.viewHeight(), l.viewWidth());
            vk = Tensor.allocate(backend, share, l.viewChannels(1), l.viewHeight(), l.viewWidth());
        } catch (RuntimeException e) {
            if (c == null) // the step owns the views' queues once it exists
                for (AutoCloseable r : new AutoCloseable[] {second, first})
                    if (r != null) try { r.close(); } catch (Exception suppressed) { e.addSuppressed(suppressed); }
            for (AutoCloseable r : new AutoCloseable[] {vk, vq, l, c, own, s2, k2, q2, s, k, q, backend})
                if (r != null) try { r.close(); } catch (Exception suppressed) { e.addSuppressed(suppressed); }
            throw e;
        }
        this.query = q;
        this.key = k;
        this.encoder = architecture.bind(q);
        this.sgd = s;
        this.step = c;
        this.ab = abArchitecture == null ? null : new AbView(abArchitecture, abArchitecture.bind(q2), second);
        this.loader = l;
        this.viewQ = vq;
        this.viewK = vk;
        this.ownCollective = own;
        this.collective = own != null ? own : job;
        this.schedule = schedule(config);
    }

    /** f_k: f_q's layout, not trainable, a copy of f_q to start with. */
    private static ParameterArena momentumCopy(ParameterArena query) {
        ParameterArena k = query.newLike(false);
        k.copyFrom(query);
        return k;
    }

    private static Sgd sgd(ParameterArena query, TrainConfig config) {
        return new Sgd(query, (float) config.scaledLr(), (float) config.sgdMomentum(), (float) config.weightDecay());
    }

    /** What the encoders' inputs are normalised with: the data set's statistics, or CMC's of Lab values. */
    Normalization inputNormalization() { return ab == null ? train.normalization() : LabColor.NORMALIZATION; }

    /** Every optimizer of the run (two with lab views), to set the scheduled learning rate on. */
    List<Sgd> sgds() { return ab == null ? List.of(sgd) : List.of(sgd, ab.parts().sgd()); }

    /** The number of ranks of the job (1 for a single process). */
    int ranks() { return job.size(); }

    /** Whether this rank writes the run's files and runs the kNN monitor (rank 0). */
    boolean leads() { return job.rank() == 0; }

    /** The MoCo queue (lab views: L's), or null for the other mechanisms. */
    KeyQueue queue() {
        return step instanceof MocoStep m ? m.queue() : step instanceof TwoViewMocoStep t ? t.first().queue() : null;
    }

    /** The memory bank, or null for the other mechanisms. */
    MemoryBank bank() { return step instanceof MemoryBankStep m ? m.bank() : null; }

    /**
     * kNN top-1 accuracy of f_q's backbone features now (lab views: L's and ab's concatenated, as CMC evaluates):
     * training split as the bank, test split as queries.
     */
    double knnAccuracy() {
        try {
            if (test == null) test = openTest();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        FeatureExtractor f = ab == null ? Features.backbone(encoder, train.channels(), train.height(), train.width())
                : LabEncoders.of(encoder, ab.encoder()).backbone(LabEncoders.Choice.BOTH, train.height(), train.width());
        ColorSpace space = ab == null ? ColorSpace.RGB : ColorSpace.LAB;
        KnnMonitor.Settings settings = new KnnMonitor.Settings(config.knnK(), config.knnT(), 0);
        try (KnnMonitor knn = KnnMonitor.build(backend, Features.collect(train, f, config.workers(), space),
                train.numClasses(), settings)) {
            return knn.evaluate(Features.collect(test, f, config.workers(), space)).accuracy();
        }
    }

    /** The test split, its first {@code limitTest} images when limited: the kNN queries. */
    private Dataset openTest() throws IOException {
        Dataset t = Datasets.openTest(config.dataset(), config.dataDir(), train);
        return config.limitTest() > 0 ? t.subset(config.limitTest()) : t;
    }

    /** The configured recipe at the images' own size, with the overrides applied. */
    static AugmentationRecipe recipe(TrainConfig config) {
        AugmentationRecipe r = AugmentationRecipe.named(config.augmentation(), 0);
        if (!Double.isNaN(config.cropScaleMin())) r = r.withCropScaleMin(config.cropScaleMin());
        if (!Double.isNaN(config.blurP())) r = r.withBlurP(config.blurP());
        return r;
    }

    /** The lr per step: linearly scaled base rate, cosine (per epoch) or step decay, then the warm-up. */
    static LearningRateSchedule schedule(TrainConfig config) {
        LearningRateSchedule s = config.schedule().equals("step")
                ? new StepSchedule(config.scaledLr(), config.milestones(), 0.1)
                : CosineSchedule.perEpoch(config.scaledLr(), config.epochs());
        return config.warmupEpochs() > 0 ? s.withWarmup(config.warmupEpochs()) : s;
    }

    /** Stops the loader and releases every buffer and the backend. */
    @Override
    public void close() {
        loader.close();
        viewQ.close();
        viewK.close();
        step.close();
        if (ownCollective != null) ownCollective.close();
        if (ab != null) {
            ab.parts().sgd().close();
            ab.parts().key().close();
            ab.parts().query().close();
        }
        sgd.close();
        if (key != null) key.close();
        query.close();
        backend.close();
    }
}
