package dev.jmoco.eval;

import dev.jmoco.backend.Backend;

/**
 * The raw-pixel baselines that a learned encoder's kNN accuracy is read against (MoCo issue 3 reports them
 * beside the trained encoder's): the same kNN vote ({@link KnnMonitor}) on flattened pixels, either
 * unit-normalised as they are (cosine similarity of raw images) or first standardised per pixel with the
 * training split's mean and std ({@link FeatureStandardizer}) and then unit-normalised. Collect the pixel sets
 * with {@link FeatureSet#collect} and {@link FeatureExtractor#PIXELS}.
 */
public final class RawPixelBaseline {
    private RawPixelBaseline() {}

    /** kNN accuracy of the test pixels against the training pixels, each image unit-normalised. */
    public static KnnResult unitNormalised(Backend backend, FeatureSet trainPixels, FeatureSet testPixels,
                                           int classes, KnnMonitor.Settings settings) {
        try (KnnMonitor knn = KnnMonitor.build(backend, trainPixels, classes, settings)) {
            return knn.evaluate(testPixels);
        }
    }

    /** As {@link #unitNormalised}, on pixels standardised with the training split's per-pixel mean and std. */
    public static KnnResult standardised(Backend backend, FeatureSet trainPixels, FeatureSet testPixels,
                                         int classes, KnnMonitor.Settings settings) {
        FeatureStandardizer z = FeatureStandardizer.fit(trainPixels);
        return unitNormalised(backend, z.apply(trainPixels), z.apply(testPixels), classes, settings);
    }
}
