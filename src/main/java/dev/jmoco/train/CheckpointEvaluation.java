package dev.jmoco.train;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.data.Dataset;
import dev.jmoco.data.Datasets;
import dev.jmoco.eval.FeatureExtractor;
import dev.jmoco.eval.FeatureSet;
import dev.jmoco.eval.KnnMonitor;
import dev.jmoco.eval.LinearProbe;
import dev.jmoco.io.Safetensors;
import dev.jmoco.nn.Encoder;
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
 * cosine schedule, see {@link LinearProbe}). Both report top-1 accuracy on the test split.
 *
 * @param protocol    "knn" or "linear"
 * @param checkpoint  a jmoco checkpoint or a torchvision-named state dict (safetensors)
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
 */
public record CheckpointEvaluation(String protocol, Path checkpoint, String arch, String dataset, Path dataDir,
                                   int imageSize, int limitTrain, int limitTest, int knnK, float knnT, int epochs, double lr,
                                   String probe, String device, int workers) {

    public CheckpointEvaluation {
        if (!"knn".equals(protocol) && !"linear".equals(protocol))
            throw new IllegalArgumentException("unknown evaluation '" + protocol + "' (knn, linear)");
        if (!"jmoco".equals(probe) && !"paper".equals(probe))
            throw new IllegalArgumentException("unknown linear probe '" + probe + "' (jmoco, paper)");
    }

    /**
     * Runs the evaluation and returns what the JSON result holds: protocol, accuracy (top-1 on the test
     * split), top-5 for the linear protocol, sizes and settings.
     */
    public Map<String, Object> run() throws IOException { return run(line -> {}); }

    /** {@link #run()}, telling {@code progress} what it does: each encoding pass and each linear epoch, timed. */
    public Map<String, Object> run(Consumer<String> progress) throws IOException {
        String family = arch != null ? arch : EncoderFiles.recordedFamily(checkpoint);
        Dataset fullTrain = Datasets.open(dataset, dataDir, "train", imageSize);
        Dataset train = limit(fullTrain, limitTrain);
        Dataset test = limit(Datasets.openTest(dataset, dataDir, fullTrain), limitTest);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("protocol", protocol);
        try (Backend backend = Backends.create(device)) {
            Encoder encoder = EncoderFiles.load(checkpoint, family, backend);
            try {
                FeatureExtractor f = Features.backbone(encoder, train.channels(), train.height(), train.width());
                FeatureSet trainFeatures = encode(train, "training", f, progress);
                FeatureSet testFeatures = encode(test, "test", f, progress);
                if (protocol.equals("knn")) {
                    try (KnnMonitor knn = KnnMonitor.build(backend, trainFeatures, train.numClasses(),
                            new KnnMonitor.Settings(knnK, knnT, 0))) {
                        out.put("accuracy", knn.evaluate(testFeatures).accuracy());
                    }
                    out.put("k", knnK);
                    out.put("t", (double) knnT);
                } else {
                    boolean paper = probe.equals("paper");
                    LinearProbe.Settings s = paper ? LinearProbe.Settings.mocoDefaults()
                            : LinearProbe.Settings.mocoDefaults().withEpochs(epochs)
                                    .withSchedule(CosineSchedule.perEpoch(lr, epochs)).withStandardize(true);
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
                out.put("architecture", encoder.id());
            } finally {
                encoder.arena().close();
            }
        }
        out.put("checkpoint", checkpoint.toString());
        out.put("dataset", dataset);
        out.put("train_images", train.size());
        out.put("test_images", test.size());
        return out;
    }

    private FeatureSet encode(Dataset d, String split, FeatureExtractor f, Consumer<String> progress) {
        progress.accept("encoding " + d.size() + " " + split + " images...");
        long start = System.nanoTime();
        FeatureSet s = Features.collect(d, f, workers);
        progress.accept(String.format(Locale.ROOT, "encoded %d %s images in %.1f s", d.size(), split,
                (System.nanoTime() - start) / 1e9));
        return s;
    }

    /** Writes {@code result} as JSON to {@code file}, atomically. */
    public static void write(Path file, Map<String, Object> result) throws IOException {
        JsonText.write(file, result);
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
