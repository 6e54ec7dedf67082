package dev.jmoco.train;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.Tape;
import dev.jmoco.autograd.Tensor;
import dev.jmoco.data.Batch;
import dev.jmoco.data.ColorSpace;
import dev.jmoco.data.Dataset;
import dev.jmoco.data.Loader;
import dev.jmoco.eval.FeatureExtractor;
import dev.jmoco.eval.FeatureSet;
import dev.jmoco.eval.LabeledBatch;
import dev.jmoco.nn.Encoder;
import dev.jmoco.nn.Mode;

import java.util.Arrays;
import java.util.Iterator;

/**
 * Features of images through a trained encoder, in eval mode (batch norm with running statistics, no tape
 * recording): the backbone's pooled features for kNN and the linear probe, and the normalised head output for
 * embedding. Evaluation images are the data set's, unaugmented and normalised, in order.
 */
public final class Features {
    /** Images per forward pass when extracting: large enough to keep GEMMs efficient, small in memory. */
    static final int EVAL_BATCH = 512;

    private Features() {}

    /** The backbone of {@code encoder} in eval mode, for images of shape [channels, height, width]. */
    public static FeatureExtractor backbone(Encoder encoder, int channels, int height, int width) {
        return (images, count) -> {
            try (Tape scope = Tape.noGrad();
                 Tensor x = Tensor.fromArray(encoder.arena().backend(),
                         images.length == count * channels * height * width ? images
                                 : Arrays.copyOf(images, count * channels * height * width),
                         count, channels, height, width)) {
                return encoder.features(x, Mode.EVAL).toArray();
            }
        };
    }

    /** The backbone features [n, featureDim] and normalised projections [n, dim] of {@code images} [n, c, h, w]. */
    public static float[][] embed(Encoder encoder, float[] images, int[] shape) {
        try (Tape scope = Tape.noGrad();
             Tensor x = Tensor.fromArray(encoder.arena().backend(), images, shape)) {
            Tensor features = encoder.features(x, Mode.EVAL);
            Tensor projections = Ops.l2NormalizeRows(encoder.project(features, Mode.EVAL));
            return new float[][] {features.toArray(), projections.toArray()};
        }
    }

    /** The features of every image of {@code data} (normalised, unaugmented), with the labels. */
    public static FeatureSet collect(Dataset data, FeatureExtractor extractor, int workers) {
        return collect(data, extractor, workers, ColorSpace.RGB);
    }

    /** {@link #collect(Dataset, FeatureExtractor, int)} of the images in {@code space} (Lab: a lab run's encoders). */
    public static FeatureSet collect(Dataset data, FeatureExtractor extractor, int workers, ColorSpace space) {
        Loader.Builder b = Loader.builder(data).batchSize(Math.min(EVAL_BATCH, data.size())).colorSpace(space);
        if (workers > 0) b.threads(workers);
        try (Loader loader = b.build(); Loader.Epoch epoch = loader.epoch(0)) {
            int length = loader.sampleLength();
            Iterator<LabeledBatch> batches = new Iterator<>() {
                @Override public boolean hasNext() { return epoch.hasNext(); }

                @Override public LabeledBatch next() {
                    try (Batch batch = epoch.next()) {
                        int n = batch.size();
                        return new LabeledBatch(Arrays.copyOf(batch.view(0), n * length),
                                Arrays.copyOf(batch.labels(), n));
                    }
                }
            };
            return FeatureSet.collect(batches, extractor);
        }
    }
}
