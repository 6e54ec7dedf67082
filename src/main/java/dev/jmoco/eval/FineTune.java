package dev.jmoco.eval;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Backend;
import dev.jmoco.data.Batch;
import dev.jmoco.data.Loader;
import dev.jmoco.optim.CosineSchedule;
import dev.jmoco.optim.LearningRateSchedule;
import dev.jmoco.optim.Sgd;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Fine-tuning, the evaluation that trains the whole encoder (SimCLR's and CPC v2's, besides the frozen linear
 * probe): the backbone with a new classifier on top, a batch norm without affine parameters ("fc_bn", as MAE's
 * probe head: it standardises the features, whose scale differs from backbone to backbone, so one lr suits
 * them all) then Linear(featureDim, classes) ("fc.weight" N(0, 0.01), "fc.bias" 0, as main_lincls), softmax
 * cross-entropy, BN in training mode (batch statistics, running statistics updated), SGD
 * with momentum and weight decay on weights (biases and BN exempt, as the backbone's arena lays them out), the
 * backbone at {@code backboneLrScale} x the classifier's lr, both on one cosine schedule per step. Test accuracy
 * with the tuned backbone in eval mode (running statistics). Trained from a random initialisation instead of a
 * checkpoint, the same procedure is the supervised baseline.
 */
public final class FineTune {
    /** torch.nn.BatchNorm1d's eps, for the head's batch norm. */
    private static final float BN_EPS = 1e-5f;

    /** The backbone being tuned: features [n, featureDim] of images, in training or eval mode. */
    @FunctionalInterface
    public interface Backbone {
        Tensor features(Tensor images, boolean training);
    }

    /**
     * Settings: {@code lr} is the classifier's base rate (cosine to 0 over the epochs' steps), the backbone's
     * is {@code backboneLrScale} times it; {@code seed} fixes the classifier's initialisation.
     */
    public record Settings(int epochs, int batchSize, double lr, double backboneLrScale, float momentum,
                           float weightDecay, long seed) {
        public Settings {
            if (epochs < 1) throw new IllegalArgumentException("fine-tune: epochs must be >= 1, got " + epochs);
            if (batchSize < 1) throw new IllegalArgumentException("fine-tune: batch must be >= 1, got " + batchSize);
            if (!(lr > 0)) throw new IllegalArgumentException("fine-tune: lr must be > 0, got " + lr);
            if (!(backboneLrScale >= 0 && backboneLrScale <= 1))
                throw new IllegalArgumentException("fine-tune: backbone lr scale must be in [0, 1], got " + backboneLrScale);
            if (!(momentum >= 0 && momentum < 1) || !(weightDecay >= 0))
                throw new IllegalArgumentException("fine-tune: momentum " + momentum + " must be in [0, 1) and weight "
                        + "decay " + weightDecay + " >= 0");
        }

        /** 20 epochs, batch 256, lr 0.1 (backbone 0.01), momentum 0.9, weight decay 5e-4, seed 0. */
        public static Settings defaults() { return new Settings(20, 256, 0.1, 0.1, 0.9f, 5e-4f, 0); }

        public Settings withEpochs(int e) { return new Settings(e, batchSize, lr, backboneLrScale, momentum, weightDecay, seed); }
        public Settings withLr(double l) { return new Settings(epochs, batchSize, l, backboneLrScale, momentum, weightDecay, seed); }
        public Settings withBackboneLrScale(double s) { return new Settings(epochs, batchSize, lr, s, momentum, weightDecay, seed); }
        public Settings withBatchSize(int b) { return new Settings(epochs, b, lr, backboneLrScale, momentum, weightDecay, seed); }
        public Settings withSeed(long s) { return new Settings(epochs, batchSize, lr, backboneLrScale, momentum, weightDecay, s); }
    }

    /** After each epoch: mean training loss and top-1 over its batches, and the classifier's last lr. */
    public record EpochStats(int epoch, double loss, double trainAccuracy, double learningRate) {}

    public record Result(double top1, OptionalDouble top5, List<EpochStats> history) {}

    /**
     * The trainable parts and their two optimizers, one step at a time (tests replay PyTorch's steps with it).
     * {@code params} is the backbone's trainable arena; the classifier's arena is created here.
     */
    public static final class Step implements AutoCloseable {
        private final Backbone backbone;
        private final ParameterArena params, fc;
        private final Sgd backboneSgd, fcSgd;
        private final double scale;
        private long steps;

        public Step(Backbone backbone, ParameterArena params, int featureDim, int classes, Settings s,
                    float[] weight, float[] bias) {
            if (!params.trainable()) throw new IllegalArgumentException("fine-tune: the backbone's arena must be trainable");
            this.backbone = backbone;
            this.params = params;
            this.scale = s.backboneLrScale();
            this.fc = new ParameterArena.Builder().state("fc_bn.weight", featureDim).state("fc_bn.bias", featureDim)
                    .state("fc_bn.running_mean", featureDim).state("fc_bn.running_var", featureDim)
                    .parameter("fc.weight", true, classes, featureDim)
                    .parameter("fc.bias", false, classes).build(params.backend(), true);
            float[] ones = new float[featureDim];
            java.util.Arrays.fill(ones, 1f);
            fc.load("fc_bn.weight", ones); // fixed: no affine (state, so no gradient)
            fc.load("fc_bn.running_var", ones);
            fc.load("fc.weight", weight);
            fc.load("fc.bias", bias);
            this.backboneSgd = new Sgd(params, 0f, s.momentum(), s.weightDecay());
            this.fcSgd = new Sgd(fc, 0f, s.momentum(), s.weightDecay());
        }

        /** One step on {@code images} [n, ...] with {@code labels}: classifier lr {@code lr}, backbone lr x scale. */
        public Loss.Stats step(Tensor images, int[] labels, double lr) {
            backboneSgd.setLearningRate((float) (lr * scale));
            fcSgd.setLearningRate((float) lr);
            try (Tape tape = Tape.record()) {
                Tensor f = backbone.features(images, true);
                int n = f.dim(0), d = f.dim(1);
                // running statistics as the cumulative mean over the steps (BatchNorm1d(momentum=None)): a short
                // fine-tune leaves no trace of their initial 0 and 1, which eval mode would otherwise still mix in
                float momentum = (float) (1.0 / ++steps);
                Tensor z = Ops.batchNorm2d(f.view(n, d, 1, 1), fc.tensor("fc_bn.weight"), fc.tensor("fc_bn.bias"),
                        fc.tensor("fc_bn.running_mean"), fc.tensor("fc_bn.running_var"), 1, momentum, BN_EPS);
                Tensor logits = Ops.linear(z.view(n, d), fc.tensor("fc.weight"), fc.tensor("fc.bias"));
                Loss loss = Ops.softmaxCrossEntropy(logits, labels);
                params.zeroGrad();
                fc.zeroGrad();
                tape.backward(loss.value());
                backboneSgd.step();
                fcSgd.step();
                return loss.read(); // throws on a non-finite loss
            }
        }

        /** The classifier's arena ("fc_bn.*" [featureDim], "fc.weight" [classes, featureDim], "fc.bias"). */
        public ParameterArena classifier() { return fc; }

        /** {@code features} standardised by the head's batch norm in eval mode (its running statistics). */
        FeatureSet standardise(FeatureSet features) {
            float[] mean = fc.export("fc_bn.running_mean"), var = fc.export("fc_bn.running_var");
            int d = features.dim();
            float[] x = features.features().clone();
            for (int i = 0; i < x.length; i++) {
                int c = i % d;
                x[i] = (float) ((x[i] - mean[c]) / Math.sqrt(var[c] + BN_EPS));
            }
            return new FeatureSet(x, features.rows(), d, features.labels());
        }

        @Override
        public void close() {
            backboneSgd.close();
            fcSgd.close();
            fc.close();
        }
    }

    private FineTune() {}

    /**
     * Fine-tunes on {@code train}'s batches (one view each; its last batch may be short) for the settings'
     * epochs, then classifies {@code testFeatures} (computed after training, by the caller, with the tuned
     * backbone in eval mode).
     */
    public static Result run(Backbone backbone, ParameterArena params, int featureDim, int classes, Loader train,
                             Supplier<FeatureSet> testFeatures, Settings s, Consumer<EpochStats> progress) {
        Backend backend = params.backend();
        float[] weight = LinearProbe.initialWeight(new SplittableRandom(s.seed()), classes, featureDim);
        int steps = train.batchesPerEpoch(), n = train.dataset().size();
        LearningRateSchedule schedule = CosineSchedule.perStep(s.lr(), s.epochs());
        int[] shape = {train.batchSize(), train.viewChannels(0), train.viewHeight(), train.viewWidth()};
        List<EpochStats> history = new ArrayList<>();
        try (Step step = new Step(backbone, params, featureDim, classes, s, weight, new float[classes]);
             Tensor x = Tensor.allocate(backend, shape)) {
            for (int epoch = 0; epoch < s.epochs(); epoch++) {
                double lossSum = 0, correct = 0, lr = 0;
                try (Loader.Epoch batches = train.epoch(epoch)) {
                    for (int i = 0; batches.hasNext(); i++) {
                        try (Batch b = batches.next()) {
                            int rows = b.size();
                            int[] small = shape.clone();
                            small[0] = rows;
                            Tensor xb = rows == shape[0] ? x
                                    : Tensor.wrap(x.data().slice(0, (long) rows * train.viewLength(0)), small);
                            backend.upload(b.view(0), 0, xb.data());
                            int[] labels = java.util.Arrays.copyOf(b.labels(), rows);
                            lr = schedule.lr(epoch, i, steps);
                            Loss.Stats stats = step.step(xb, labels, lr);
                            lossSum += stats.loss() * rows;
                            correct += stats.acc1() * rows;
                        }
                    }
                }
                EpochStats e = new EpochStats(epoch, lossSum / n, correct / n, lr);
                history.add(e);
                if (progress != null) progress.accept(e);
            }
            FeatureSet test = step.standardise(testFeatures.get());
            double[] accuracy = LinearProbe.testAccuracy(backend, test, step.classifier().tensor("fc.weight"),
                    step.classifier().tensor("fc.bias"), classes);
            return new Result(accuracy[0], classes >= 5 ? OptionalDouble.of(accuracy[1]) : OptionalDouble.empty(),
                    List.copyOf(history));
        }
    }
}
