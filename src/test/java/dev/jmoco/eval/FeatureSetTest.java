package dev.jmoco.eval;

import dev.jmoco.testing.Tolerance;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static dev.jmoco.eval.KnnMonitorTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link FeatureSet} (validation, collection from batches) and {@link FeatureStandardizer} against double loops. */
class FeatureSetTest {

    @Test
    void collectStacksBatchesInOrder() {
        Random r = new Random(3);
        FeatureSet whole = KnnMonitorTest.clustered(r, 103, 4, 3, 1);
        FeatureSet collected = FeatureSet.collect(KnnMonitorTest.batches(whole, 10).iterator(),
                FeatureExtractor.PIXELS);
        assertEquals(103, collected.rows());
        assertEquals(4, collected.dim());
        assertArrayEquals(whole.features(), collected.features());
        assertArrayEquals(whole.labels(), collected.labels());
    }

    @Test
    void rejectsMalformedSetsAndBatches() {
        assertMessage("features: [1, 0] is NaN",
                () -> new FeatureSet(new float[] {1, 2, Float.NaN, 4}, 2, 2, new int[2]));
        assertMessage("is Infinity", () -> new FeatureSet(new float[] {Float.POSITIVE_INFINITY}, 1, 1, new int[1]));
        assertMessage("5 floats for [2, 2] (4)", () -> new FeatureSet(new float[5], 2, 2, new int[2]));
        assertMessage("3 labels for 2 rows", () -> new FeatureSet(new float[4], 2, 2, new int[3]));
        assertMessage("rows 0 and dim 2 must be > 0", () -> new FeatureSet(new float[0], 0, 2, new int[0]));
        assertMessage("batch: 5 image floats do not split into 2 equal images",
                () -> new LabeledBatch(new float[5], new int[2]));
        assertMessage("batch: no labels", () -> new LabeledBatch(new float[5], new int[0]));
        var batches = List.of(new LabeledBatch(new float[8], new int[2]), new LabeledBatch(new float[6], new int[2]));
        assertMessage("batch 1: extractor returned 6 floats for 2 images, expected dim 4 as in batch 0",
                () -> FeatureSet.collect(batches.iterator(), FeatureExtractor.PIXELS));
        assertMessage("batch 0: extractor returned 3 floats for 2 images",
                () -> FeatureSet.collect(batches.iterator(), (images, count) -> new float[3]));
        assertMessage("classes must be > 0, got 0",
                () -> new FeatureSet(new float[1], 1, 1, new int[1]).requireLabelsBelow(0, "x"));
    }

    @Test
    void standardizerMatchesDoubleLoops() {
        Random r = new Random(4);
        int n = 50, d = 6;
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) x[i * d + j] = j == 2 ? 7f : (float) (j * 10 + (j + 1) * r.nextGaussian());
        FeatureSet set = new FeatureSet(x, n, d, new int[n]);
        FeatureStandardizer z = FeatureStandardizer.fit(set);
        double[] mean = new double[d], std = new double[d];
        for (int j = 0; j < d; j++) {
            for (int i = 0; i < n; i++) mean[j] += x[i * d + j] / (double) n;
            for (int i = 0; i < n; i++) std[j] += Math.pow(x[i * d + j] - mean[j], 2) / n;
            std[j] = Math.sqrt(std[j]);
        }
        Tolerance.assertClose("mean", mean, z.mean(), 1e-6, 1e-6);
        std[2] = 1; // a constant column is centred, not scaled
        Tolerance.assertClose("std", std, z.std(), 1e-6, 1e-6);
        float[] y = z.apply(set).features();
        double[] expected = new double[n * d];
        for (int i = 0; i < n * d; i++) expected[i] = (x[i] - mean[i % d]) / std[i % d];
        Tolerance.assertClose("standardised", expected, y, 1e-5, 1e-5);
        assertEquals(0f, y[2]);
        assertMessage("features have dim 1, the standardizer 6",
                () -> z.apply(new FeatureSet(new float[1], 1, 1, new int[1])));
    }
}
