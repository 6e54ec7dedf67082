package dev.jmoco.eval;

import java.util.Arrays;
import java.util.Iterator;

/**
 * A labelled feature matrix: {@code features} [rows, dim] row-major, one label per row. The arrays are shared,
 * not copied (sets can be large), and must not be modified afterwards. Construction rejects NaN and infinite
 * features, naming the first one: a diverged encoder fails here with its position, not later as a silently
 * wrong accuracy.
 */
public record FeatureSet(float[] features, int rows, int dim, int[] labels) {
    public FeatureSet {
        if (features == null || labels == null) throw new IllegalArgumentException("features: array is null");
        if (rows <= 0 || dim <= 0)
            throw new IllegalArgumentException("features: rows " + rows + " and dim " + dim
                    + " must be > 0 (empty set?)");
        if (features.length != (long) rows * dim)
            throw new IllegalArgumentException("features: " + features.length + " floats for [" + rows + ", " + dim
                    + "] (" + (long) rows * dim + ")");
        if (labels.length != rows)
            throw new IllegalArgumentException("features: " + labels.length + " labels for " + rows + " rows");
        for (int i = 0; i < features.length; i++)
            if (!Float.isFinite(features[i]))
                throw new IllegalArgumentException("features: [" + i / dim + ", " + i % dim + "] is " + features[i]);
    }

    /**
     * Runs {@code extractor} over every batch and stacks the features and labels.
     *
     * @throws IllegalArgumentException if there are no batches, or an extractor's output does not hold
     *                                  {@code count * dim} floats for the dim of the first batch
     */
    public static FeatureSet collect(Iterator<LabeledBatch> batches, FeatureExtractor extractor) {
        float[] features = new float[0];
        int[] labels = new int[0];
        int rows = 0, dim = -1, batch = 0;
        while (batches.hasNext()) {
            LabeledBatch b = batches.next();
            float[] f = extractor.extract(b.images(), b.count());
            if (f == null || f.length == 0 || f.length % b.count() != 0)
                throw new IllegalArgumentException("features: batch " + batch + ": extractor returned "
                        + (f == null ? "null" : f.length + " floats") + " for " + b.count() + " images");
            if (dim < 0) dim = f.length / b.count();
            else if (f.length != (long) b.count() * dim)
                throw new IllegalArgumentException("features: batch " + batch + ": extractor returned " + f.length
                        + " floats for " + b.count() + " images, expected dim " + dim + " as in batch 0");
            long need = (long) (rows + b.count()) * dim;
            if (need > Integer.MAX_VALUE - 8)
                throw new IllegalArgumentException("features: more than 2^31 floats; evaluate on a subset");
            if (need > features.length) { // grow by doubling: amortised O(1) per float
                long grown = Math.max(need, Math.min(Integer.MAX_VALUE - 8, 2L * features.length));
                features = Arrays.copyOf(features, (int) grown);
            }
            if (rows + b.count() > labels.length)
                labels = Arrays.copyOf(labels, Math.max(rows + b.count(), 2 * labels.length));
            System.arraycopy(f, 0, features, rows * dim, f.length);
            System.arraycopy(b.labels(), 0, labels, rows, b.count());
            rows += b.count();
            batch++;
        }
        if (rows == 0) throw new IllegalArgumentException("features: the batch iterator is empty");
        return new FeatureSet(Arrays.copyOf(features, rows * dim), rows, dim, Arrays.copyOf(labels, rows));
    }

    /**
     * Throws unless every label lies in [0, classes); {@code what} names the set in the message.
     */
    public void requireLabelsBelow(int classes, String what) {
        if (classes <= 0) throw new IllegalArgumentException(what + ": classes must be > 0, got " + classes);
        for (int i = 0; i < rows; i++)
            if (labels[i] < 0 || labels[i] >= classes)
                throw new IllegalArgumentException(what + ": label[" + i + "] = " + labels[i] + " outside [0, "
                        + classes + ")");
    }
}
