package dev.jmoco.nn;

/** The projection head after the backbone's pooled features. */
public enum HeadKind {
    /** MoCo v1: fc = Linear(featureDim, dim). */
    V1,
    /** MoCo v2: fc = Sequential(Linear(featureDim, featureDim), ReLU, Linear(featureDim, dim)). */
    V2;

    /** The head module with torchvision / MoCo names (fc.weight, or fc.0.* and fc.2.*). */
    Module build(int featureDim, int dim) {
        return switch (this) {
            case V1 -> new Linear("fc", featureDim, dim);
            case V2 -> new Sequential(new Linear("fc.0", featureDim, featureDim), new Relu(),
                    new Linear("fc.2", featureDim, dim));
        };
    }
}
