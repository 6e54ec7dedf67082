package dev.jmoco.train;

import dev.jmoco.io.Json;
import dev.jmoco.moco.Mechanism;
import dev.jmoco.nn.HeadKind;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Everything a training run depends on. Defaults ({@link #builder()}) are the Fashion-MNIST recipe for the
 * small CNN: batch 256, K 4096, m 0.99, t 0.2, lr 0.06 (x batch/256) cosine, wd 5e-4, 8 BN splits, v2
 * augmentation without blur, 10 epochs. The record validates what it can without the data set; the
 * {@link Trainer} checks the rest (batch against the data set size, k of kNN against the bank).
 *
 * @param dataset       data set kind: fashion-mnist, mnist, cifar10, cifar100, folder
 * @param dataDir       the folder holding its files
 * @param limitTrain    use only the first n training images (0: all); they are also the kNN bank
 * @param limitTest     use only the first n test images as kNN queries (0: all)
 * @param arch          encoder: small, resnet18, resnet50
 * @param stem          ResNet stem: auto (CIFAR stem for images of at most 64 px, ImageNet stem above), cifar,
 *                      imagenet
 * @param head          projection head: V1 (linear) or V2 (2-layer MLP)
 * @param dim           feature dimension C of the head's output
 * @param mechanism     dictionary mechanism
 * @param epochs        total epochs of the run (a resumed run continues up to this number)
 * @param batch         images per step
 * @param queue         K: MoCo queue size, or negatives per step of the memory bank
 * @param momentum      m of the key encoder's momentum update
 * @param temperature   t of InfoNCE
 * @param lr            base learning rate, for batch 256 (linearly scaled by batch / 256)
 * @param weightDecay   SGD weight decay
 * @param sgdMomentum   SGD momentum
 * @param warmupEpochs  epochs of linear warm-up
 * @param schedule      "cosine" (per epoch, MoCo v2) or "step" (x0.1 at each of {@code milestones})
 * @param milestones    epochs where the step schedule multiplies the lr by 0.1
 * @param bnSplits      batch-norm groups of shuffle-BN; the batch must be a multiple of it
 * @param symmetric     symmetric loss (MoCo only)
 * @param augmentation  recipe "v1" or "v2"
 * @param cropScaleMin  override of the recipe's smallest crop area fraction (NaN: the recipe's 0.2)
 * @param blurP         override of the recipe's blur probability (NaN: the recipe's)
 * @param knnEvery      run the kNN monitor every n epochs, and after the last (0: never)
 * @param knnK          neighbours of the kNN monitor
 * @param knnT          temperature of the kNN vote
 * @param seed          the seed every random choice derives from
 * @param workers       loader threads (0: one per core)
 * @param device        backend: "auto", "cpu" or "name[:option]"
 * @param logEvery      write a metrics row every n steps
 * @param checkpointMinutes also checkpoint inside an epoch once this many minutes passed since the last save
 *                      (0: at epoch ends only), so a crash loses at most that much work
 * @param outDir        where checkpoints and metrics go (null: nowhere, e.g. an embedded run)
 */
public record TrainConfig(String dataset, Path dataDir, int limitTrain, int limitTest, String arch, String stem,
                          HeadKind head, int dim, Mechanism mechanism, int epochs, int batch, int queue,
                          float momentum, float temperature, double lr, double weightDecay, double sgdMomentum,
                          int warmupEpochs, String schedule, int[] milestones, int bnSplits, boolean symmetric,
                          String augmentation, double cropScaleMin, double blurP, int knnEvery, int knnK,
                          float knnT, long seed, int workers, String device, int logEvery, double checkpointMinutes,
                          Path outDir) {

    /**
     * Sane ranges of the settings that, outside them, train to garbage without failing (a temperature of 1e-9
     * still gives finite losses near 5e7): the published MoCo, SimCLR and CMC settings lie well inside.
     */
    public static final float MIN_TEMPERATURE = 0.01f, MAX_TEMPERATURE = 1f;
    public static final double MAX_LR = 10, MAX_WEIGHT_DECAY = 0.1;

    /** Where Debian's dataset-fashion-mnist package puts the files. */
    public static final Path FASHION_MNIST_DIR = Path.of("/usr/share/datasets/fashion-mnist");

    public TrainConfig {
        require(dataset != null && !dataset.isBlank(), "dataset is not set");
        require(dataDir != null, "data dir is not set");
        require(limitTrain >= 0, "limit-train must be >= 0 (0: all), got " + limitTrain);
        require(limitTest >= 0, "limit-test must be >= 0 (0: all), got " + limitTest);
        require(arch != null && (arch.equals("small") || arch.equals("resnet18") || arch.equals("resnet50")),
                "unknown arch '" + Json.visible(String.valueOf(arch)) + "' (small, resnet18, resnet50)");
        require(stem != null && (stem.equals("auto") || stem.equals("cifar") || stem.equals("imagenet")),
                "unknown stem '" + Json.visible(String.valueOf(stem)) + "' (auto, cifar, imagenet)");
        require(head != null, "head is not set");
        require(mechanism != null, "mechanism is not set");
        require(dim >= 1, "dim must be >= 1, got " + dim);
        require(epochs >= 1, "epochs must be >= 1, got " + epochs);
        require(batch >= 1, "batch must be >= 1, got " + batch);
        require(queue >= 1, "queue must be >= 1, got " + queue);
        require(bnSplits >= 1, "bn-splits must be >= 1, got " + bnSplits);
        require(batch % bnSplits == 0, "batch " + batch + " is not divisible by bn-splits " + bnSplits);
        int keysPerStep = symmetric ? 2 * batch : batch;
        require(mechanism != Mechanism.MOCO || queue >= keysPerStep, "queue " + queue + " is smaller than the "
                + keysPerStep + " keys enqueued per step (batch " + batch + (symmetric ? ", symmetric" : "")
                + "); use a queue of at least " + keysPerStep);
        require(!symmetric || mechanism == Mechanism.MOCO, "the symmetric loss needs mechanism moco, not "
                + mechanism.cliName());
        require(momentum >= 0 && momentum <= 1, "momentum must be in [0, 1], got " + momentum);
        require(temperature >= MIN_TEMPERATURE && temperature <= MAX_TEMPERATURE, "temperature must be in ["
                + MIN_TEMPERATURE + ", " + MAX_TEMPERATURE + "] (MoCo: 0.07 to 0.2), got " + temperature);
        require(lr >= 0 && lr <= MAX_LR, "lr must be in [0, " + MAX_LR + "] (the rate for batch 256; MoCo: 0.03), got "
                + lr);
        require(weightDecay >= 0 && weightDecay <= MAX_WEIGHT_DECAY, "weight decay must be in [0, "
                + MAX_WEIGHT_DECAY + "] (MoCo: 1e-4), got " + weightDecay);
        require(sgdMomentum >= 0 && sgdMomentum < 1, "SGD momentum must be in [0, 1), got " + sgdMomentum);
        require(warmupEpochs >= 0 && warmupEpochs <= epochs, "warm-up epochs " + warmupEpochs
                + " must lie in [0, epochs " + epochs + "]");
        require(schedule != null && (schedule.equals("cosine") || schedule.equals("step")),
                "unknown schedule '" + Json.visible(String.valueOf(schedule)) + "' (cosine, step)");
        milestones = milestones == null ? new int[0] : milestones.clone();
        for (int i = 0; i < milestones.length; i++)
            require(milestones[i] >= 1 && (i == 0 || milestones[i] > milestones[i - 1]),
                    "milestones must be increasing epochs >= 1, got " + Arrays.toString(milestones));
        require(augmentation != null && (augmentation.equals("v1") || augmentation.equals("v2")),
                "unknown augmentation '" + Json.visible(String.valueOf(augmentation)) + "' (v1, v2)");
        require(Double.isNaN(cropScaleMin) || (cropScaleMin > 0 && cropScaleMin <= 1),
                "crop scale min must be in (0, 1], got " + cropScaleMin);
        require(Double.isNaN(blurP) || (blurP >= 0 && blurP <= 1), "blur probability must be in [0, 1], got " + blurP);
        require(knnEvery >= 0, "knn-every must be >= 0 (0: never), got " + knnEvery);
        require(knnK >= 1, "knn k must be >= 1, got " + knnK);
        require(knnT > 0 && Float.isFinite(knnT), "knn temperature must be > 0, got " + knnT);
        require(workers >= 0, "workers must be >= 0 (0: one per core), got " + workers);
        require(device != null && !device.isBlank(), "device is not set");
        require(logEvery >= 1, "log-every must be >= 1, got " + logEvery);
        require(checkpointMinutes >= 0 && Double.isFinite(checkpointMinutes),
                "checkpoint-minutes must be >= 0 (0: at epoch ends only), got " + checkpointMinutes);
    }

    /** The Fashion-MNIST defaults (see the class comment). */
    public static Builder builder() { return new Builder(); }

    /** A builder holding this configuration, to change a few settings. */
    public Builder toBuilder() { return Builder.from(asMap(), outDir); }

    @Override public int[] milestones() { return milestones.clone(); }

    /** The learning rate after linear scaling: lr x batch / 256. */
    public double scaledLr() { return lr * batch / 256.0; }

    /**
     * The settings by name, as the command line spells them, with JSON-friendly values (String, Integer,
     * Long, Double, Boolean, int[]); NaN overrides are written as the string "recipe". The output folder is
     * not part of it (a run may be moved or resumed elsewhere).
     */
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dataset", dataset);
        m.put("data_dir", dataDir.toString());
        m.put("limit_train", limitTrain);
        m.put("limit_test", limitTest);
        m.put("arch", arch);
        m.put("stem", stem);
        m.put("head", head.name().toLowerCase(Locale.ROOT));
        m.put("dim", dim);
        m.put("mechanism", mechanism.cliName());
        m.put("epochs", epochs);
        m.put("batch", batch);
        m.put("queue", queue);
        m.put("momentum", (double) momentum);
        m.put("temperature", (double) temperature);
        m.put("lr", lr);
        m.put("lr_scaled", scaledLr());
        m.put("weight_decay", weightDecay);
        m.put("sgd_momentum", sgdMomentum);
        m.put("warmup_epochs", warmupEpochs);
        m.put("schedule", schedule);
        m.put("milestones", milestones.clone());
        m.put("bn_splits", bnSplits);
        m.put("symmetric", symmetric);
        m.put("augmentation", augmentation);
        m.put("crop_scale_min", Double.isNaN(cropScaleMin) ? "recipe" : cropScaleMin);
        m.put("blur_p", Double.isNaN(blurP) ? "recipe" : blurP);
        m.put("knn_every", knnEvery);
        m.put("knn_k", knnK);
        m.put("knn_t", (double) knnT);
        m.put("seed", seed);
        m.put("workers", workers);
        m.put("device", device);
        m.put("log_every", logEvery);
        m.put("checkpoint_minutes", checkpointMinutes);
        return m;
    }

    /**
     * The configuration that {@link #asMap} wrote, from its values as strings (a checkpoint's metadata), with
     * {@code outDir}. Unknown keys are ignored; missing ones keep the defaults.
     *
     * @throws IllegalArgumentException if a value does not parse, naming the key
     */
    public static TrainConfig fromStrings(Map<String, String> values, Path outDir) {
        return Builder.from(new LinkedHashMap<>(values), outDir).build();
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    /** Equal when every setting is (the record's own equals would compare the milestones array by identity). */
    @Override public boolean equals(Object o) {
        return o instanceof TrainConfig c && toString().equals(c.toString()) && Objects.equals(outDir, c.outDir);
    }

    @Override public int hashCode() { return toString().hashCode(); }

    @Override public String toString() {
        Map<String, Object> m = asMap();
        m.put("milestones", Arrays.toString(milestones));
        return "TrainConfig" + m;
    }

    /** Collects settings, starting from the defaults; {@link #build} validates them. */
    public static final class Builder {
        private String dataset = "fashion-mnist", arch = "small", stem = "auto", schedule = "cosine",
                augmentation = "v2", device = "auto";
        private Path dataDir = FASHION_MNIST_DIR, outDir;
        private int limitTrain, limitTest, dim = 128, epochs = 10, batch = 256, queue = 4096, warmupEpochs,
                bnSplits = 8, knnEvery = 1, knnK = 200, workers, logEvery = 10;
        private int[] milestones = {};
        private HeadKind head = HeadKind.V2;
        private Mechanism mechanism = Mechanism.MOCO;
        private float momentum = 0.99f, temperature = 0.2f, knnT = 0.1f;
        private double lr = 0.06, weightDecay = 5e-4, sgdMomentum = 0.9, cropScaleMin = Double.NaN, blurP = 0,
                checkpointMinutes = 10;
        private boolean symmetric;
        private long seed;

        public Builder dataset(String v) { dataset = v; return this; }
        public Builder dataDir(Path v) { dataDir = v; return this; }
        public Builder limitTrain(int v) { limitTrain = v; return this; }
        public Builder limitTest(int v) { limitTest = v; return this; }
        public Builder arch(String v) { arch = v; return this; }
        public Builder stem(String v) { stem = v; return this; }
        public Builder head(HeadKind v) { head = v; return this; }
        public Builder dim(int v) { dim = v; return this; }
        public Builder mechanism(Mechanism v) { mechanism = v; return this; }
        public Builder epochs(int v) { epochs = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        public Builder queue(int v) { queue = v; return this; }
        public Builder momentum(float v) { momentum = v; return this; }
        public Builder temperature(float v) { temperature = v; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder sgdMomentum(double v) { sgdMomentum = v; return this; }
        public Builder warmupEpochs(int v) { warmupEpochs = v; return this; }
        public Builder schedule(String v) { schedule = v; return this; }
        public Builder milestones(int... v) { milestones = v.clone(); return this; }
        public Builder bnSplits(int v) { bnSplits = v; return this; }
        public Builder symmetric(boolean v) { symmetric = v; return this; }
        public Builder augmentation(String v) { augmentation = v; return this; }
        public Builder cropScaleMin(double v) { cropScaleMin = v; return this; }
        public Builder blurP(double v) { blurP = v; return this; }
        public Builder knnEvery(int v) { knnEvery = v; return this; }
        public Builder knnK(int v) { knnK = v; return this; }
        public Builder knnT(float v) { knnT = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder workers(int v) { workers = v; return this; }
        public Builder device(String v) { device = v; return this; }
        public Builder logEvery(int v) { logEvery = v; return this; }
        public Builder checkpointMinutes(double v) { checkpointMinutes = v; return this; }
        public Builder outDir(Path v) { outDir = v; return this; }

        public TrainConfig build() {
            return new TrainConfig(dataset, dataDir, limitTrain, limitTest, arch, stem, head, dim, mechanism, epochs,
                    batch, queue, momentum, temperature, lr, weightDecay, sgdMomentum, warmupEpochs, schedule,
                    milestones, bnSplits, symmetric, augmentation, cropScaleMin, blurP, knnEvery, knnK, knnT, seed,
                    workers, device, logEvery, checkpointMinutes, outDir);
        }

        /** A builder over asMap()-style values (objects or their strings). */
        static Builder from(Map<String, ?> m, Path outDir) {
            Builder b = new Builder().outDir(outDir);
            Parser p = new Parser(m);
            p.apply("dataset", s -> s, b::dataset);
            p.apply("data_dir", Path::of, b::dataDir);
            p.apply("limit_train", Integer::parseInt, b::limitTrain);
            p.apply("limit_test", Integer::parseInt, b::limitTest);
            p.apply("arch", s -> s, b::arch);
            p.apply("stem", s -> s, b::stem);
            p.apply("head", s -> HeadKind.valueOf(s.toUpperCase(Locale.ROOT)), b::head);
            p.apply("dim", Integer::parseInt, b::dim);
            p.apply("mechanism", Mechanism::parse, b::mechanism);
            p.apply("epochs", Integer::parseInt, b::epochs);
            p.apply("batch", Integer::parseInt, b::batch);
            p.apply("queue", Integer::parseInt, b::queue);
            p.apply("momentum", Float::parseFloat, b::momentum);
            p.apply("temperature", Float::parseFloat, b::temperature);
            p.apply("lr", Double::parseDouble, b::lr);
            p.apply("weight_decay", Double::parseDouble, b::weightDecay);
            p.apply("sgd_momentum", Double::parseDouble, b::sgdMomentum);
            p.apply("warmup_epochs", Integer::parseInt, b::warmupEpochs);
            p.apply("schedule", s -> s, b::schedule);
            p.apply("milestones", Parser::ints, b::milestones);
            p.apply("bn_splits", Integer::parseInt, b::bnSplits);
            p.apply("symmetric", Boolean::parseBoolean, b::symmetric);
            p.apply("augmentation", s -> s, b::augmentation);
            p.apply("crop_scale_min", Parser::override, b::cropScaleMin);
            p.apply("blur_p", Parser::override, b::blurP);
            p.apply("knn_every", Integer::parseInt, b::knnEvery);
            p.apply("knn_k", Integer::parseInt, b::knnK);
            p.apply("knn_t", Float::parseFloat, b::knnT);
            p.apply("seed", Long::parseLong, b::seed);
            p.apply("workers", Integer::parseInt, b::workers);
            p.apply("device", s -> s, b::device);
            p.apply("log_every", Integer::parseInt, b::logEvery);
            p.apply("checkpoint_minutes", Double::parseDouble, b::checkpointMinutes);
            return b;
        }
    }

    /** Reads asMap()-style values given as objects or strings, naming the key of a value that does not parse. */
    private record Parser(Map<String, ?> values) {
        <T> void apply(String key, Function<String, T> parse, java.util.function.Consumer<T> set) {
            Object v = values.get(key);
            if (v == null) return;
            String s = v instanceof int[] a ? Arrays.toString(a) : v.toString();
            try {
                set.accept(parse.apply(s));
            } catch (RuntimeException e) {
                String why = e instanceof NumberFormatException ? "not a number"
                        : Json.visible(String.valueOf(e.getMessage()));
                throw new IllegalArgumentException("config: cannot read " + key + " = '" + Json.visible(s) + "': "
                        + why, e);
            }
        }

        static int[] ints(String s) {
            String body = s.replaceAll("[\\[\\]\\s]", "");
            return body.isEmpty() ? new int[0] : Arrays.stream(body.split(",")).mapToInt(Integer::parseInt).toArray();
        }

        static double override(String s) { return s.equals("recipe") ? Double.NaN : Double.parseDouble(s); }
    }
}
