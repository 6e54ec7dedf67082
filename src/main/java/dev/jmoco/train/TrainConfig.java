package dev.jmoco.train;

import dev.jmoco.dist.Collectives;
import dev.jmoco.io.Json;
import dev.jmoco.moco.Mechanism;
import dev.jmoco.moco.MocoConfig;
import dev.jmoco.nn.DecayPolicy;
import dev.jmoco.nn.HeadKind;
import dev.jmoco.optim.LinearScaling;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import static dev.jmoco.train.TrainSettings.*;

/**
 * Everything a training run depends on: a value for each setting of {@link TrainSettings} (names, defaults,
 * ranges and meaning are there), and the output folder. It validates what it can without the data set; the
 * {@link Trainer} checks the rest (batch against the data set size, k of kNN against the bank).
 */
public final class TrainConfig {

    private final Map<Setting<?>, Object> values;
    private final Path outDir;

    private TrainConfig(Map<Setting<?>, Object> values, Path outDir) {
        for (Setting<?> s : all()) s.validate(values.get(s));
        this.values = new LinkedHashMap<>(values); // the builder cloned the milestones; get clones them again
        this.outDir = outDir;
        require(batch() % bnSplits() == 0, "batch " + batch() + " is not divisible by bn-splits " + bnSplits());
        int keysPerStep = symmetric() ? 2 * batch() : batch();
        require(mechanism() != Mechanism.MOCO || queue() >= keysPerStep, "queue " + queue() + " is smaller than the "
                + keysPerStep + " keys enqueued per step (batch " + batch() + (symmetric() ? ", symmetric" : "")
                + "); use a queue of at least " + keysPerStep);
        require(!symmetric() || mechanism() == Mechanism.MOCO, "the symmetric loss needs mechanism moco, not "
                + mechanism().cliName());
        if (labViews()) {
            require(mechanism() == Mechanism.MOCO, "--views lab runs on the moco mechanism (CMC's MoCo variant), not "
                    + mechanism().cliName());
            require(!symmetric(), "--views lab already contrasts both ways (L queries with ab keys, ab queries with L "
                    + "keys): drop --symmetric");
            require(augmentation().equals("cmc"), "--views lab splits each augmented image into L and ab, and the "
                    + augmentation() + " recipe's random grayscale would leave its ab view blank: use --aug cmc (crop "
                    + "and flip, as CMC)");
        }
        require(warmupEpochs() >= 0 && warmupEpochs() <= epochs(), "warm-up epochs " + warmupEpochs()
                + " must lie in [0, epochs " + epochs() + "]");
    }

    /** The defaults of {@link TrainSettings}. */
    public static Builder builder() { return new Builder(Map.of(), null); }

    /** A builder holding this configuration, to change a few settings. */
    public Builder toBuilder() { return new Builder(values, outDir); }

    /** The value of {@code s} (a copy, for the milestones). */
    public <T> T get(Setting<T> s) {
        Object v = values.get(s);
        return s.type().cast(v instanceof int[] a ? a.clone() : v);
    }

    public String dataset() { return get(DATASET); }
    public Path dataDir() { return get(DATA_DIR); }
    /** Side of a folder's views (0: the images' own size). */
    public int imageSize() { return get(IMAGE_SIZE); }
    /** Whether an undecodable training image is replaced and counted rather than stopping the run. */
    public boolean skipBadImages() { return get(SKIP_BAD_IMAGES); }
    public int limitTrain() { return get(LIMIT_TRAIN); }
    public int limitTest() { return get(LIMIT_TEST); }
    public String arch() { return get(ARCH); }
    public String stem() { return get(STEM); }
    public HeadKind head() { return get(HEAD); }
    public int dim() { return get(DIM); }
    public Mechanism mechanism() { return get(MECHANISM); }
    public int epochs() { return get(EPOCHS); }
    public int batch() { return get(BATCH); }
    public int queue() { return get(QUEUE); }
    public float momentum() { return get(MOMENTUM); }
    public float temperature() { return get(TEMPERATURE); }
    public double lr() { return get(LR); }
    public double weightDecay() { return get(WEIGHT_DECAY); }
    /** Which parameters weight decay applies to. */
    public DecayPolicy decay() { return get(DECAY).equals("all") ? DecayPolicy.DECAY_ALL : DecayPolicy.EXEMPT_NORM_AND_BIAS; }
    public double sgdMomentum() { return get(SGD_MOMENTUM); }
    public int warmupEpochs() { return get(WARMUP_EPOCHS); }
    public String schedule() { return get(SCHEDULE); }
    public int[] milestones() { return get(MILESTONES); }
    public int bnSplits() { return get(BN_SPLITS); }
    public boolean symmetric() { return get(SYMMETRIC); }
    public float bankMomentum() { return get(BANK_MOMENTUM); }
    public String augmentation() { return get(AUGMENTATION); }
    /** "augment" (MoCo's two augmentations) or "lab" (CMC's L and ab views). */
    public String views() { return get(VIEWS); }
    /** Whether the run contrasts Lab's L and ab views (CMC) rather than two augmentations. */
    public boolean labViews() { return views().equals("lab"); }
    /** The recipe's smallest crop area fraction overridden, or NaN: the recipe's. */
    public double cropScaleMin() { return get(CROP_SCALE_MIN); }
    /** The recipe's blur probability overridden, or NaN: the recipe's. */
    public double blurP() { return get(BLUR_P); }
    public int knnEvery() { return get(KNN_EVERY); }
    public int knnK() { return get(KNN_K); }
    public float knnT() { return get(KNN_T); }
    public long seed() { return get(SEED); }
    public int workers() { return get(WORKERS); }
    public String device() { return get(DEVICE); }

    /** What carries a data-parallel run's collectives (see {@link TrainSettings#COLLECTIVE}). */
    public Collectives.Transport collective() { return Collectives.Transport.parse(get(COLLECTIVE)); }
    public int logEvery() { return get(LOG_EVERY); }
    public double checkpointMinutes() { return get(CHECKPOINT_MINUTES); }
    /** Where checkpoints and metrics go (null: nowhere, e.g. an embedded run). */
    public Path outDir() { return outDir; }

    /** The learning rate after linear scaling: lr x batch / 256. */
    public double scaledLr() { return LinearScaling.lr(lr(), batch()); }

    /** The contrastive step's settings; {@code bankSize} is the data set's size for the memory bank, else 0. */
    public MocoConfig mocoConfig(int bankSize) {
        return new MocoConfig(mechanism(), dim(), queue(), temperature(), momentum(), bnSplits(), symmetric(),
                bankSize, bankMomentum(), seed());
    }

    /**
     * The settings by name, as checkpoint.json spells them, with JSON-friendly values (String, Integer, Long,
     * Double, Boolean, int[]); NaN overrides are written as the string "recipe", and the scaled lr follows the
     * lr (for the reader; it is not read back). The output folder is not part of it (a run may be moved or
     * resumed elsewhere).
     */
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Setting<?> s : all()) {
            m.put(s.key(), json(s));
            if (s == LR) m.put("lr_scaled", scaledLr());
        }
        return m;
    }

    private <T> Object json(Setting<T> s) { return s.json(get(s)); }

    /**
     * The configuration that {@link #asMap} wrote, from its values as strings (a checkpoint's metadata), with
     * {@code outDir}. Unknown keys are ignored; missing ones keep the defaults (a checkpoint older than a setting
     * was trained with its default).
     *
     * @throws IllegalArgumentException if a value does not parse, naming the key
     */
    public static TrainConfig fromStrings(Map<String, String> values, Path outDir) {
        Builder b = builder().outDir(outDir);
        for (Setting<?> s : all()) {
            String text = values.get(s.key());
            if (text != null) b.parse(s, text);
        }
        return b.build();
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    /** Equal when every setting is and the output folders are. */
    @Override public boolean equals(Object o) {
        return o instanceof TrainConfig c && toString().equals(c.toString()) && Objects.equals(outDir, c.outDir);
    }

    @Override public int hashCode() { return toString().hashCode(); }

    @Override public String toString() {
        Map<String, Object> m = asMap();
        m.put("milestones", Arrays.toString(milestones()));
        return "TrainConfig" + m;
    }

    /** Collects settings, starting from the defaults; {@link #build} validates them. */
    public static final class Builder {
        private final Map<Setting<?>, Object> values = new LinkedHashMap<>();
        /** The settings given (set, or carried over from a built configuration); the rest hold defaults. */
        private final Set<Setting<?>> given = new HashSet<>();
        private Path outDir;

        private Builder(Map<Setting<?>, Object> from, Path outDir) {
            for (Setting<?> s : all()) values.put(s, from.getOrDefault(s, s.defaultValue()));
            given.addAll(from.keySet());
            this.outDir = outDir;
        }

        /** Sets {@code s} (checked by {@link #build}). */
        public <T> Builder set(Setting<T> s, T v) {
            values.put(s, v instanceof int[] a ? a.clone() : v);
            given.add(s);
            return this;
        }

        /** Sets {@code s} from its text, naming the key of a value that does not parse. */
        <T> Builder parse(Setting<T> s, String text) {
            try {
                return set(s, s.parse(text));
            } catch (RuntimeException e) {
                String why = e instanceof NumberFormatException ? "not a number"
                        : Json.visible(String.valueOf(e.getMessage()));
                throw new IllegalArgumentException("config: cannot read " + s.key() + " = '" + Json.visible(text)
                        + "': " + why, e);
            }
        }

        public Builder dataset(String v) { return set(DATASET, v); }
        public Builder dataDir(Path v) { return set(DATA_DIR, v); }
        public Builder imageSize(int v) { return set(IMAGE_SIZE, v); }
        public Builder skipBadImages(boolean v) { return set(SKIP_BAD_IMAGES, v); }
        public Builder limitTrain(int v) { return set(LIMIT_TRAIN, v); }
        public Builder limitTest(int v) { return set(LIMIT_TEST, v); }
        public Builder arch(String v) { return set(ARCH, v); }
        public Builder stem(String v) { return set(STEM, v); }
        public Builder head(HeadKind v) { return set(HEAD, v); }
        public Builder dim(int v) { return set(DIM, v); }
        public Builder mechanism(Mechanism v) { return set(MECHANISM, v); }
        public Builder epochs(int v) { return set(EPOCHS, v); }
        public Builder batch(int v) { return set(BATCH, v); }
        public Builder queue(int v) { return set(QUEUE, v); }
        public Builder momentum(float v) { return set(MOMENTUM, v); }
        public Builder temperature(float v) { return set(TEMPERATURE, v); }
        public Builder lr(double v) { return set(LR, v); }
        public Builder weightDecay(double v) { return set(WEIGHT_DECAY, v); }
        public Builder decay(DecayPolicy v) { return set(DECAY, v == DecayPolicy.DECAY_ALL ? "all" : "weights"); }
        public Builder sgdMomentum(double v) { return set(SGD_MOMENTUM, v); }
        public Builder warmupEpochs(int v) { return set(WARMUP_EPOCHS, v); }
        public Builder schedule(String v) { return set(SCHEDULE, v); }
        public Builder milestones(int... v) { return set(MILESTONES, v); }
        public Builder bnSplits(int v) { return set(BN_SPLITS, v); }
        public Builder symmetric(boolean v) { return set(SYMMETRIC, v); }
        public Builder bankMomentum(float v) { return set(BANK_MOMENTUM, v); }
        public Builder augmentation(String v) { return set(AUGMENTATION, v); }
        /** The views; "lab" takes {@code augmentation("cmc")} and {@code head(HeadKind.BN)} unless told otherwise. */
        public Builder views(String v) { return set(VIEWS, v); }
        public Builder cropScaleMin(double v) { return set(CROP_SCALE_MIN, v); }
        public Builder blurP(double v) { return set(BLUR_P, v); }
        public Builder knnEvery(int v) { return set(KNN_EVERY, v); }
        public Builder knnK(int v) { return set(KNN_K, v); }
        public Builder knnT(float v) { return set(KNN_T, v); }
        public Builder seed(long v) { return set(SEED, v); }
        public Builder workers(int v) { return set(WORKERS, v); }
        public Builder device(String v) { return set(DEVICE, v); }

        public Builder collective(String v) { return set(COLLECTIVE, v); }
        public Builder logEvery(int v) { return set(LOG_EVERY, v); }
        public Builder checkpointMinutes(double v) { return set(CHECKPOINT_MINUTES, v); }
        public Builder outDir(Path v) { outDir = v; return this; }

        /**
         * The configuration, checked. With lab views, an augmentation and a head not given take the ones lab
         * views need: CMC's recipe (the only one they accept) and the bn head (with v2 the two encoders collapse
         * to one output: {@link HeadKind#BN}).
         */
        public TrainConfig build() {
            Map<Setting<?>, Object> v = new LinkedHashMap<>(values);
            if ("lab".equals(v.get(VIEWS))) {
                if (!given.contains(AUGMENTATION)) v.put(AUGMENTATION, "cmc");
                if (!given.contains(HEAD)) v.put(HEAD, HeadKind.BN);
            }
            return new TrainConfig(v, outDir);
        }
    }
}
