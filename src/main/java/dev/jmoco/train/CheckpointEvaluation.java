package dev.jmoco.train;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.data.AugmentationRecipe;
import dev.jmoco.data.ColorSpace;
import dev.jmoco.data.Dataset;
import dev.jmoco.data.Datasets;
import dev.jmoco.data.LabelSubset;
import dev.jmoco.data.Loader;
import dev.jmoco.eval.FeatureExtractor;
import dev.jmoco.eval.FeatureSet;
import dev.jmoco.eval.FineTune;
import dev.jmoco.eval.KnnMonitor;
import dev.jmoco.eval.LinearProbe;
import dev.jmoco.io.Safetensors;
import dev.jmoco.nn.Architecture;
import dev.jmoco.nn.Encoder;
import dev.jmoco.nn.Encoders;
import dev.jmoco.nn.HeadKind;
import dev.jmoco.nn.Mode;
import dev.jmoco.nn.Stem;
import dev.jmoco.optim.CosineSchedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Evaluates a saved encoder's backbone on a labelled data set, the two ways the MoCo paper does: the kNN
 * monitor (cosine, weighted vote, on the training split as the bank) or the linear protocol (frozen backbone in
 * eval mode, features computed once, linear classifier trained by SGD; here on standardised features with a
 * cosine schedule, see {@link LinearProbe}); and as the semi-supervised papers do: fine-tuning the whole
 * backbone with a classifier ({@link FineTune}), from the checkpoint or, as the supervised baseline, from a
 * random initialisation. Each may see only a seeded, class-balanced fraction of the training labels
 * ({@link LabelSubset}). All report top-1 accuracy on the whole test split.
 *
 * @param protocol    "knn", "linear" or "finetune"
 * @param checkpoint  a jmoco checkpoint or a torchvision-named state dict (safetensors); null: finetune from a
 *                    random initialisation of {@code arch} (the supervised baseline)
 * @param arch        the encoder family; null: the one a jmoco checkpoint records
 * @param dataset     data set kind (see {@code Datasets.open})
 * @param dataDir     its folder
 * @param imageSize   an image folder's view side (0: the images' own size; see {@code Datasets.open})
 * @param limitTrain  first n training images (0: all)
 * @param limitTest   first n test images (0: all)
 * @param knnK        kNN neighbours
 * @param knnT        kNN temperature
 * @param epochs      linear protocol: epochs of classifier training
 * @param lr          linear protocol: base learning rate (cosine to 0)
 * @param probe       linear protocol: "jmoco" (standardised features, cosine from {@code lr} over {@code epochs})
 *                    or "paper" (MoCo's: {@link LinearProbe.Settings#mocoDefaults}; epochs and lr unused)
 * @param device      backend
 * @param workers     loader threads (0: one per core)
 * @param labelFraction the fraction of the training labels used, in (0, 1] (1: all)
 * @param seed        the seed of the label subset, the classifier's initialisation and fine-tuning's shuffles
 * @param fineTune    finetune: its settings ({@code epochs} and {@code lr} above are the linear protocol's)
 * @param labelSubset a label subset written by an earlier evaluation, to train on instead of drawing one
 *                    (null: draw {@code labelFraction} with {@code seed})
 * @param view        a lab (CMC) checkpoint's features: "l", "ab" or "both" ([L | ab] concatenated; null: both,
 *                    for finetune required, l or ab: it tunes one encoder); must be null for other checkpoints
 */
public record CheckpointEvaluation(String protocol, Path checkpoint, String arch, String dataset, Path dataDir,
                                   int imageSize, int limitTrain, int limitTest, int knnK, float knnT, int epochs, double lr,
                                   String probe, String device, int workers, double labelFraction, long seed,
                                   FineTune.Settings fineTune, Path labelSubset, String view) {

    public CheckpointEvaluation {
        if (!"knn".equals(protocol) && !"linear".equals(protocol) && !"finetune".equals(protocol))
            throw new IllegalArgumentException("unknown evaluation '" + protocol + "' (knn, linear, finetune)");
        if (!"jmoco".equals(probe) && !"paper".equals(probe))
            throw new IllegalArgumentException("unknown linear probe '" + probe + "' (jmoco, paper)");
        if (!(labelFraction > 0 && labelFraction <= 1))
            throw new IllegalArgumentException("label fraction must be in (0, 1], got " + labelFraction);
        if (checkpoint == null && !"finetune".equals(protocol))
            throw new IllegalArgumentException("eval " + protocol + " needs a checkpoint");
        if (checkpoint == null && arch == null)
            throw new IllegalArgumentException("eval finetune from scratch needs --arch");
        if (view != null) LabEncoders.Choice.parse(view);
    }

    /** The same evaluation before label fractions and fine-tuning: all labels, seed 0. */
    public CheckpointEvaluation(String protocol, Path checkpoint, String arch, String dataset, Path dataDir,
                                int imageSize, int limitTrain, int limitTest, int knnK, float knnT, int epochs, double lr,
                                String probe, String device, int workers) {
        this(protocol, checkpoint, arch, dataset, dataDir, imageSize, limitTrain, limitTest, knnK, knnT, epochs, lr,
                probe, device, workers, 1, 0, FineTune.Settings.defaults(), null, null);
    }

    /** What an evaluation gives: the JSON result, and the labelled subset it trained on (null: all labels). */
    public record Outcome(Map<String, Object> result, LabelSubset subset) {}

    /**
     * Runs the evaluation and returns what the JSON result holds: protocol, accuracy (top-1 on the test
     * split), top-5 for the linear protocol, sizes and settings.
     */
    public Map<String, Object> run() throws IOException { return run(line -> {}); }

    /** {@link #run()}, telling {@code progress} what it does: each encoding pass and each linear epoch, timed. */
    public Map<String, Object> run(Consumer<String> progress) throws IOException { return evaluate(progress).result(); }

    /** {@link #run(Consumer)}, with the label subset it used. */
    public Outcome evaluate(Consumer<String> progress) throws IOException {
        Dataset fullTrain = Datasets.open(dataset, dataDir, "train", imageSize);
        Dataset all = limit(fullTrain, limitTrain);
        LabelSubset subset = labelSubset != null ? LabelSubset.read(labelSubset, all.labels(), all.numClasses())
                : labelFraction < 1 ? LabelSubset.balanced(all, labelFraction, seed) : null;
        Dataset train = subset == null ? all : subset.of(all);
        if (subset != null)
            progress.accept(String.format(Locale.ROOT, "%d of %d training labels (fraction %s, seed %d%s, per class %s)",
                    train.size(), all.size(), subset.fraction(), subset.seed(),
                    labelSubset != null ? ", from " + labelSubset : "", java.util.Arrays.toString(subset.perClass())));
        if (protocol.equals("knn") && knnK > train.size()) // said before minutes of encoding, not after
            throw new IllegalArgumentException("knn k " + knnK + " exceeds the " + train.size() + " labelled training "
                    + "images of the bank; lower --knn-k");
        Dataset test = limit(Datasets.openTest(dataset, dataDir, fullTrain), limitTest);
        LabEncoders.Choice choice = labChoice();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("protocol", protocol);
        if (choice != null) out.put("view", choice.cliName());
        try (Backend backend = Backends.create(device)) {
            if (protocol.equals("finetune")) fineTune(backend, train, test, out, progress, choice);
            else frozen(backend, train, test, out, progress, choice);
        }
        out.put("checkpoint", checkpoint == null ? "none (random initialisation)" : checkpoint.toString());
        out.put("dataset", dataset);
        out.put("label_fraction", subset != null ? subset.fraction() : labelFraction);
        out.put("seed", seed);
        if (labelSubset != null) out.put("label_subset_from", labelSubset.toString());
        out.put("train_images", train.size());
        out.put("test_images", test.size());
        return new Outcome(out, subset);
    }

    /**
     * Which features of a lab checkpoint ({@code view}, both by default; fine-tuning needs one), or null for a
     * checkpoint of two augmentations (which refuses a view).
     */
    private LabEncoders.Choice labChoice() throws IOException {
        boolean lab = checkpoint != null && EncoderFiles.recordedLabViews(checkpoint);
        if (!lab) {
            if (view != null)
                throw new IllegalArgumentException("--view is for checkpoints of --views lab (CMC's L and ab encoders); "
                        + (checkpoint == null ? "fine-tuning from scratch has none" : checkpoint + " has one encoder"));
            return null;
        }
        LabEncoders.Choice c = view == null ? LabEncoders.Choice.BOTH : LabEncoders.Choice.parse(view);
        if (protocol.equals("finetune") && c == LabEncoders.Choice.BOTH)
            throw new IllegalArgumentException("eval finetune tunes one encoder: " + checkpoint + " holds L's and ab's "
                    + "(--views lab): choose --view l or --view ab");
        return c;
    }

    /** kNN or the linear protocol on the frozen backbone's features (of a lab checkpoint: {@code choice}'s). */
    private void frozen(Backend backend, Dataset train, Dataset test, Map<String, Object> out,
                        Consumer<String> progress, LabEncoders.Choice choice) throws IOException {
        String family = arch != null ? arch : EncoderFiles.recordedFamily(checkpoint);
        if (choice != null) ColorSpace.LAB.requireFits(train);
        Encoder encoder = choice == null ? EncoderFiles.load(checkpoint, family, backend) : null;
        LabEncoders lab = choice == null ? null : LabEncoders.load(checkpoint, family, backend);
        ColorSpace space = choice == null ? ColorSpace.RGB : ColorSpace.LAB;
        try {
            FeatureExtractor f = choice == null ? Features.backbone(encoder, train.channels(), train.height(), train.width())
                    : lab.backbone(choice, train.height(), train.width());
            FeatureSet trainFeatures = encode(train, "training", f, space, progress);
            FeatureSet testFeatures = encode(test, "test", f, space, progress);
            if (protocol.equals("knn")) {
                try (KnnMonitor knn = KnnMonitor.build(backend, trainFeatures, train.numClasses(),
                        new KnnMonitor.Settings(knnK, knnT, 0))) {
                    out.put("accuracy", knn.evaluate(testFeatures).accuracy());
                }
                out.put("k", knnK);
                out.put("t", knnT);
            } else {
                boolean paper = probe.equals("paper");
                LinearProbe.Settings s = (paper ? LinearProbe.Settings.mocoDefaults()
                        : LinearProbe.Settings.mocoDefaults().withEpochs(epochs)
                                .withSchedule(CosineSchedule.perEpoch(lr, epochs)).withStandardize(true))
                        .withSeed(seed);
                long start = System.nanoTime();
                LinearProbe.Result r = LinearProbe.run(backend, trainFeatures, testFeatures, train.numClasses(),
                        s, e -> progress.accept(String.format(Locale.ROOT, "linear probe epoch %d/%d: loss %.4f, "
                                + "train accuracy %.4f (%.1f s)", e.epoch() + 1, s.epochs(), e.loss(),
                                e.trainAccuracy(), (System.nanoTime() - start) / 1e9)));
                out.put("accuracy", r.top1());
                out.put("top5", r.top5().orElse(Double.NaN));
                out.put("epochs", s.epochs());
                out.put("lr", paper ? s.schedule().lr(0, 0, 1) : lr);
                out.put("probe", probe);
            }
            out.put("architecture", choice == null ? encoder.id() : lab.id(choice));
        } finally {
            if (encoder != null) encoder.arena().close();
            if (lab != null) lab.close();
        }
    }

    /**
     * Fine-tuning: the checkpoint's backbone (or a random one of {@code arch}; of a lab checkpoint, {@code choice}'s
     * on its Lab channels) in a trainable arena, trained with a new classifier on crops and flips of the labelled
     * images, then the test split in eval mode.
     */
    private void fineTune(Backend backend, Dataset train, Dataset test, Map<String, Object> out,
                          Consumer<String> progress, LabEncoders.Choice choice) throws IOException {
        Architecture architecture;
        ParameterArena params;
        if (choice != null) ColorSpace.LAB.requireFits(train);
        if (checkpoint != null) {
            String family = arch != null ? arch : EncoderFiles.recordedFamily(checkpoint);
            Encoder saved = choice == LabEncoders.Choice.AB ? EncoderFiles.loadAb(checkpoint, family, backend)
                    : EncoderFiles.load(checkpoint, family, backend);
            architecture = saved.architecture();
            try {
                params = saved.arena().newLike(true);
                params.copyFrom(saved.arena());
            } finally {
                saved.arena().close();
            }
        } else {
            architecture = Encoders.create(arch, Stem.forImages(train.height(), train.width()), train.channels(),
                    HeadKind.V2, 128);
            params = architecture.arenaLayout().build(backend, true);
            architecture.initialize(params, seed);
        }
        FineTune.Settings s = fineTune.withSeed(seed);
        try (params) {
            Encoder encoder = architecture.bind(params);
            // crops of half the image or more and flips: what the supervised baseline gets too
            AugmentationRecipe recipe = AugmentationRecipe.cmc(imageSize).withCropScaleMin(0.5).withName("crop+flip");
            Loader.Builder lb = Loader.builder(train).recipe(recipe).views(1).shuffle(true).dropLast(false)
                    .seed(seed).batchSize(Math.min(s.batchSize(), train.size()));
            if (choice != null) lb.labChannels(choice.firstChannel(), choice.channels());
            int channels = architecture.inChannels();
            FeatureExtractor testFeatures = Features.backbone(encoder, channels, test.height(), test.width());
            FeatureExtractor onTest = choice == null ? testFeatures
                    : LabEncoders.onPart(testFeatures, choice, test.height(), test.width());
            ColorSpace space = choice == null ? ColorSpace.RGB : ColorSpace.LAB;
            if (workers > 0) lb.threads(workers);
            long start = System.nanoTime();
            FineTune.Result r;
            try (Loader loader = lb.build()) {
                r = FineTune.run((x, training) -> encoder.features(x, training ? Mode.train(1) : Mode.EVAL), params,
                        architecture.featureDim(), train.numClasses(), loader, () -> encode(test, "test", onTest, space,
                                progress),
                        s, e -> progress.accept(String.format(Locale.ROOT, "fine-tune epoch %d/%d: loss %.4f, train "
                                + "accuracy %.4f, lr %.4f (%.1f s)", e.epoch() + 1, s.epochs(), e.loss(),
                                e.trainAccuracy(), e.learningRate(), (System.nanoTime() - start) / 1e9)));
            }
            out.put("accuracy", r.top1());
            out.put("top5", r.top5().orElse(Double.NaN));
            out.put("architecture", architecture.id());
            out.put("from", checkpoint == null ? "scratch" : "checkpoint");
            out.put("epochs", s.epochs());
            out.put("lr", s.lr());
            out.put("backbone_lr_scale", s.backboneLrScale());
            out.put("batch", s.batchSize());
            out.put("weight_decay", (double) s.weightDecay());
            out.put("augmentation", recipe.name());
            out.put("seconds", (System.nanoTime() - start) / 1e9);
        }
    }

    private FeatureSet encode(Dataset d, String split, FeatureExtractor f, ColorSpace space, Consumer<String> progress) {
        progress.accept("encoding " + d.size() + " " + split + " images...");
        long start = System.nanoTime();
        FeatureSet s = Features.collect(d, f, workers, space);
        progress.accept(String.format(Locale.ROOT, "encoded %d %s images in %.1f s", d.size(), split,
                (System.nanoTime() - start) / 1e9));
        return s;
    }

    /** Writes {@code result} as JSON to {@code file}, atomically. */
    public static void write(Path file, Map<String, Object> result) throws IOException {
        JsonText.write(file, result);
    }

    /**
     * Writes the label subset as JSON to {@code file}, atomically: fraction, seed, images per class and the
     * chosen images' indices in the training split (ascending), so that it can be reused or checked.
     */
    public static void writeSubset(Path file, LabelSubset subset, String dataset) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dataset", dataset);
        m.put("fraction", subset.fraction());
        m.put("seed", subset.seed());
        m.put("images", subset.size());
        m.put("per_class", java.util.Arrays.stream(subset.perClass()).boxed().toList());
        m.put("indices", java.util.Arrays.stream(subset.indices()).boxed().toList());
        JsonText.write(file, m);
    }

    /**
     * The data set a jmoco checkpoint was trained on: "dataset" and "data_dir" from its recorded configuration;
     * empty for a plain state dict.
     */
    public static Map<String, String> trainedOn(Path checkpoint) throws IOException {
        Map<String, String> metadata = Safetensors.readMetadata(checkpoint);
        Map<String, String> out = new LinkedHashMap<>();
        for (String key : List.of("dataset", "data_dir")) {
            String v = metadata.get(Checkpoint.CONFIG + key);
            if (v != null) out.put(key, v);
        }
        return out;
    }

    private static Dataset limit(Dataset d, int n) { return n > 0 ? d.subset(n) : d; }
}
