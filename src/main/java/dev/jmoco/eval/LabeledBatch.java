package dev.jmoco.eval;

/**
 * One batch of a labelled data set: {@code labels.length} images stored one after another in {@code images}
 * (each image's floats in whatever layout the {@link FeatureExtractor} expects, e.g. CHW). Arrays are shared,
 * not copied.
 */
public record LabeledBatch(float[] images, int[] labels) {
    public LabeledBatch {
        if (images == null || labels == null) throw new IllegalArgumentException("batch: images or labels is null");
        if (labels.length == 0) throw new IllegalArgumentException("batch: no labels (an empty batch)");
        if (images.length == 0 || images.length % labels.length != 0)
            throw new IllegalArgumentException("batch: " + images.length + " image floats do not split into "
                    + labels.length + " equal images");
    }

    /** Number of images. */
    public int count() { return labels.length; }
}
