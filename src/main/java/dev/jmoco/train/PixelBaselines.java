package dev.jmoco.train;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Backends;
import dev.jmoco.data.Dataset;
import dev.jmoco.data.Datasets;
import dev.jmoco.data.Normalization;
import dev.jmoco.eval.FeatureExtractor;
import dev.jmoco.eval.FeatureSet;
import dev.jmoco.eval.KnnMonitor;
import dev.jmoco.eval.RawPixelBaseline;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The raw-pixel baselines a learned representation must beat: the same kNN as the monitor (k, t) on the
 * flattened pixels in [0, 1], once unit-normalised as they are and once standardised per pixel with the
 * training split's mean and std.
 */
public final class PixelBaselines {
    private PixelBaselines() {}

    /** Runs both baselines; the map holds "pixels_unit" and "pixels_standardised" accuracies and the sizes. */
    public static Map<String, Object> run(String dataset, Path dataDir, int imageSize, int limitTrain, int limitTest,
                                          int knnK, float knnT, String device, int workers) throws IOException {
        Dataset fullTrain = Datasets.open(dataset, dataDir, "train", imageSize);
        Dataset train = raw(fullTrain, limitTrain);
        Dataset test = raw(Datasets.openTest(dataset, dataDir, fullTrain), limitTest);
        FeatureSet trainPixels = Features.collect(train, FeatureExtractor.PIXELS, workers);
        FeatureSet testPixels = Features.collect(test, FeatureExtractor.PIXELS, workers);
        KnnMonitor.Settings settings = new KnnMonitor.Settings(knnK, knnT, 0);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("protocol", "pixels");
        try (Backend backend = Backends.create(device)) {
            out.put("pixels_unit", RawPixelBaseline.unitNormalised(backend, trainPixels, testPixels,
                    train.numClasses(), settings).accuracy());
            out.put("pixels_standardised", RawPixelBaseline.standardised(backend, trainPixels, testPixels,
                    train.numClasses(), settings).accuracy());
        }
        out.put("k", knnK);
        out.put("t", knnT);
        out.put("train_images", train.size());
        out.put("test_images", test.size());
        return out;
    }

    /** The first n images (all for 0), with pixels left in [0, 1] (no normalisation). */
    private static Dataset raw(Dataset d, int n) {
        return (n > 0 && n < d.size() ? d.subset(n) : d).withNormalization(
                Normalization.IDENTITY.forChannels(d.channels()));
    }
}
