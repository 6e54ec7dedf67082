/**
 * Evaluation of learned representations as the MoCo paper and its reference code do it, on feature matrices:
 * the weighted kNN monitor ({@link dev.jmoco.eval.KnnMonitor}, the reference CIFAR demo's knn_predict), the
 * linear classification protocol on frozen features ({@link dev.jmoco.eval.LinearProbe}) and the raw-pixel
 * kNN baselines ({@link dev.jmoco.eval.RawPixelBaseline}).
 *
 * <p>The package knows no data set and no encoder: features arrive as a {@link dev.jmoco.eval.FeatureSet}
 * ([rows, dim] floats with labels), or are collected from any iterator of
 * {@link dev.jmoco.eval.LabeledBatch}es through a {@link dev.jmoco.eval.FeatureExtractor} ("a batch of images
 * to features"), which the trainer implements with its encoder in eval mode.
 */
package dev.jmoco.eval;
