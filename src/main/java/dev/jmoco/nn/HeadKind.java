package dev.jmoco.nn;

/** The projection head after the backbone's pooled features. */
public enum HeadKind {
    /** MoCo v1: fc = Linear(featureDim, dim). */
    V1,
    /** MoCo v2: fc = Sequential(Linear(featureDim, featureDim), ReLU, Linear(featureDim, dim)). */
    V2,
    /**
     * MoCo v2's MLP with batch norm after both linear layers (whose biases BN makes redundant, so they have
     * none), as SimCLR v2's and MoCo v3's projectors: fc = Sequential(Linear(featureDim, featureDim, no bias),
     * BN, ReLU, Linear(featureDim, dim, no bias), BN). The last BN keeps every output dimension spread over the
     * batch, so the encoder cannot settle on one output for all images: the stationary point that two
     * encoders which start unrelated (CMC's L and ab) fall into with the v2 head (README, "Lab views").
     */
    BN;

    /** The head module with torchvision / MoCo names (fc.weight; fc.0.* and fc.2.*; fc.0, fc.1, fc.3, fc.4). */
    Module build(int featureDim, int dim) {
        return switch (this) {
            case V1 -> new Linear("fc", featureDim, dim);
            case V2 -> new Sequential(new Linear("fc.0", featureDim, featureDim), new Relu(),
                    new Linear("fc.2", featureDim, dim));
            case BN -> new Sequential(new Linear("fc.0", featureDim, featureDim, false),
                    new BatchNorm2d("fc.1", featureDim), new Relu(), new Linear("fc.3", featureDim, dim, false),
                    new BatchNorm2d("fc.4", dim));
        };
    }
}
