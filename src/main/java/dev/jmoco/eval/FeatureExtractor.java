package dev.jmoco.eval;

/**
 * "A batch of images to features": the hook through which evaluation runs an encoder it does not know. The
 * trainer passes its backbone in eval mode (BN with running statistics, no tape); the raw-pixel baseline
 * passes the identity.
 */
@FunctionalInterface
public interface FeatureExtractor {
    /** The identity: an image's flattened pixels are its features. */
    FeatureExtractor PIXELS = (images, count) -> images;

    /**
     * Features of {@code count} images: {@code count * dim} floats, row-major, the same dim for every batch.
     * The returned array is read before the next call, so an extractor may reuse it.
     */
    float[] extract(float[] images, int count);
}
