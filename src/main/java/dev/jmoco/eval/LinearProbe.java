package dev.jmoco.eval;

import dev.jmoco.autograd.Loss;
import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.optim.Sgd;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.backend.Backend;
import dev.jmoco.optim.LearningRateSchedule;
import dev.jmoco.optim.StepSchedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * The linear classification protocol on frozen features (MoCo's main_lincls.py): a Linear(dim, classes) layer
 * ("fc.weight" initialised N(0, 0.01), "fc.bias" 0, as the reference) trained by SGD with momentum on
 * softmax cross-entropy over shuffled mini-batches (the last one may be smaller, as a DataLoader without
 * drop_last), then top-1 (and top-5 when classes &gt;= 5) accuracy on the test features. Weight decay, when
 * set, applies to weight and bias alike, as torch.optim.SGD over the reference's two parameters.
 *
 * <p>Our variant: the caller computes features once with the backbone frozen in eval mode, and the classifier
 * trains on those. The paper's protocol augments the images (random resized crop, flip) in every epoch of
 * linear training and so re-runs the backbone each step; precomputing is the CPU-friendly variant and can
 * read a little lower or higher than the paper's numbers. Optional per-dimension standardisation with the
 * training features' mean and std ({@link FeatureStandardizer}).
 *
 * <p>Accuracy ranks: a test row's rank is the number of other classes whose logit is &gt;= its label's
 * (ties count against it), top-1 counts rank 0 and top-5 rank &lt; 5, as the backend's cross-entropy
 * statistics. Deterministic for a fixed seed (initialisation and shuffles come from one SplittableRandom).
 */
public final class LinearProbe {

    /**
     * Training settings. {@code schedule} gives the lr per step; {@code standardize} switches on
     * per-dimension standardisation; {@code seed} fixes the initialisation and the shuffles.
     */
    public record Settings(int epochs, int batchSize, LearningRateSchedule schedule, float momentum,
                           float weightDecay, boolean standardize, long seed) {
        public Settings {
            if (epochs <= 0) throw new IllegalArgumentException("linear probe: epochs must be > 0, got " + epochs);
            if (batchSize <= 0)
                throw new IllegalArgumentException("linear probe: batchSize must be > 0, got " + batchSize);
            if (schedule == null) throw new IllegalArgumentException("linear probe: schedule is null");
            if (!(momentum >= 0) || !(weightDecay >= 0))
                throw new IllegalArgumentException("linear probe: momentum " + momentum + " and weight decay "
                        + weightDecay + " must be >= 0");
        }

        /**
         * MoCo's linear protocol: 100 epochs, batch 256, lr 30 x0.1 at epochs 60 and 80, momentum 0.9, weight
         * decay 0, no standardisation, seed 0. (lr 30 suits the unnormalised post-ReLU features of a
         * ResNet; retune it for standardised or otherwise rescaled features.)
         */
        public static Settings mocoDefaults() {
            return new Settings(100, 256, new StepSchedule(30, new int[] {60, 80}, 0.1), 0.9f, 0f, false, 0);
        }

        /** A copy with the number of epochs changed (the other with* methods likewise). */
        public Settings withEpochs(int e) {
            return new Settings(e, batchSize, schedule, momentum, weightDecay, standardize, seed);
        }

        public Settings withBatchSize(int b) {
            return new Settings(epochs, b, schedule, momentum, weightDecay, standardize, seed);
        }

        public Settings withSchedule(LearningRateSchedule s) {
            return new Settings(epochs, batchSize, s, momentum, weightDecay, standardize, seed);
        }

        public Settings withWeightDecay(float wd) {
            return new Settings(epochs, batchSize, schedule, momentum, wd, standardize, seed);
        }

        public Settings withStandardize(boolean on) {
            return new Settings(epochs, batchSize, schedule, momentum, weightDecay, on, seed);
        }

        public Settings withSeed(long s) {
            return new Settings(epochs, batchSize, schedule, momentum, weightDecay, standardize, s);
        }
    }

    /** Progress after each epoch: mean training loss and top-1 accuracy over its batches, and its last lr. */
    public record EpochStats(int epoch, double loss, double trainAccuracy, double learningRate) {}

    /**
     * Test accuracy, the per-epoch history, and the trained layer ({@code weight} [classes, dim], {@code bias}
     * [classes]; on standardised features when standardisation was on).
     */
    public record Result(double top1, OptionalDouble top5, List<EpochStats> history, float[] weight, float[] bias) {}

    private LinearProbe() {}

    /** Trains on {@code train}, reports accuracy on {@code test}; {@code progress} (may be null) sees each epoch. */
    public static Result run(Backend backend, FeatureSet train, FeatureSet test, int classes, Settings settings,
                             Consumer<EpochStats> progress) {
        SplittableRandom random = new SplittableRandom(settings.seed());
        float[] weight = initialWeight(random, classes, train.dim());
        int n = train.rows();
        IntFunction<int[]> shuffles = epoch -> {
            int[] p = new int[n];
            for (int i = 0; i < n; i++) p[i] = i;
            for (int i = n - 1; i > 0; i--) {   // Fisher-Yates
                int j = random.nextInt(i + 1), t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
            return p;
        };
        return train(backend, train, test, classes, settings, progress, weight, new float[classes], shuffles);
    }

    /** main_lincls's fc.weight [classes, dim]: N(0, 0.01) (fine-tuning's classifier starts the same way). */
    static float[] initialWeight(SplittableRandom random, int classes, int dim) {
        float[] weight = new float[classes * dim];
        for (int i = 0; i < weight.length; i++) weight[i] = (float) (0.01 * random.nextGaussian());
        return weight;
    }

    /**
     * The protocol with a given initialisation and batch order ({@code order.apply(epoch)} is a permutation of
     * the training rows; consecutive runs of batchSize form the batches). Tests use it to replay PyTorch.
     */
    static Result train(Backend backend, FeatureSet train, FeatureSet test, int classes, Settings settings,
                        Consumer<EpochStats> progress, float[] initWeight, float[] initBias, IntFunction<int[]> order) {
        train.requireLabelsBelow(classes, "linear probe train");
        test.requireLabelsBelow(classes, "linear probe test");
        if (test.dim() != train.dim())
            throw new IllegalArgumentException("linear probe: test features have dim " + test.dim() + ", train "
                    + train.dim());
        if (settings.standardize()) {
            FeatureStandardizer z = FeatureStandardizer.fit(train);
            train = z.apply(train);
            test = z.apply(test);
        }
        int n = train.rows(), dim = train.dim(), batch = Math.min(settings.batchSize(), n);
        int stepsPerEpoch = (n + batch - 1) / batch;
        settings.schedule().lr(settings.epochs() - 1, stepsPerEpoch - 1, stepsPerEpoch); // fails fast if too short
        ParameterArena.Builder layout = new ParameterArena.Builder()
                .parameter("fc.weight", true, classes, dim)
                .parameter("fc.bias", true, classes);       // decayed too: torch.optim.SGD over both, as main_lincls
        try (ParameterArena fc = layout.build(backend, true);
             Sgd sgd = new Sgd(fc, 0f, settings.momentum(), settings.weightDecay());
             Tensor features = Tensor.fromArray(backend, train.features(), n, dim);
             Tensor x = Tensor.allocate(backend, batch, dim)) {
            fc.load("fc.weight", initWeight);
            fc.load("fc.bias", initBias);
            Tensor w = fc.tensor("fc.weight"), b = fc.tensor("fc.bias");
            List<EpochStats> history = new ArrayList<>();
            for (int epoch = 0; epoch < settings.epochs(); epoch++) {
                int[] perm = order.apply(epoch);
                if (perm.length != n)
                    throw new IllegalArgumentException("linear probe: batch order of " + perm.length + " rows for "
                            + n + " training rows");
                double lossSum = 0, correct = 0, lr = 0;
                for (int step = 0; step < stepsPerEpoch; step++) {
                    int start = step * batch, rows = Math.min(batch, n - start);
                    int[] index = Arrays.copyOfRange(perm, start, start + rows);
                    int[] y = new int[rows];
                    for (int i = 0; i < rows; i++) y[i] = train.labels()[index[i]];
                    Tensor xb = rows == batch ? x : Tensor.wrap(x.data().slice(0, (long) rows * dim), rows, dim);
                    backend.gatherRows(dim, features.data(), index, xb.data());
                    lr = settings.schedule().lr(epoch, step, stepsPerEpoch);
                    sgd.setLearningRate((float) lr);
                    try (Tape tape = Tape.record()) {
                        Loss loss = Ops.softmaxCrossEntropy(Ops.linear(xb, w, b), y);
                        fc.zeroGrad();
                        tape.backward(loss.value());
                        sgd.step();
                        Loss.Stats s = loss.read();  // throws on a non-finite loss
                        lossSum += s.loss() * rows;
                        correct += s.acc1() * rows;
                    }
                }
                EpochStats stats = new EpochStats(epoch, lossSum / n, correct / n, lr);
                history.add(stats);
                if (progress != null) progress.accept(stats);
            }
            float[] weight = fc.export("fc.weight"), bias = fc.export("fc.bias");
            double[] accuracy = testAccuracy(backend, test, w, b, classes);
            return new Result(accuracy[0], classes >= 5 ? OptionalDouble.of(accuracy[1]) : OptionalDouble.empty(),
                    List.copyOf(history), weight, bias);
        }
    }

    /** [top-1, top-5] of the layer on {@code test}, logits computed in chunks of rows on the backend. */
    static double[] testAccuracy(Backend backend, FeatureSet test, Tensor w, Tensor b, int classes) {
        int m = test.rows(), dim = test.dim(), chunk = Math.min(m, 4096);
        long top1 = 0, top5 = 0;
        float[] features = test.features();
        for (int start = 0; start < m; start += chunk) {
            int rows = Math.min(chunk, m - start);
            float[] logits;
            try (Tape scope = Tape.noGrad();
                 Tensor x = Tensor.allocate(backend, rows, dim)) {
                backend.upload(features, start * dim, x.data());
                logits = Ops.linear(x, w, b).toArray();
            }
            for (int r = 0; r < rows; r++) {
                int label = test.labels()[start + r];
                float target = logits[r * classes + label];
                int rank = 0;
                for (int c = 0; c < classes; c++) if (c != label && logits[r * classes + c] >= target) rank++;
                if (rank == 0) top1++;
                if (rank < 5) top5++;
            }
        }
        return new double[] {(double) top1 / m, (double) top5 / m};
    }
}
