package dev.jmoco.backend;

/**
 * Geometry of batch normalisation over NCHW (or NC with hw = 1) with statistics per group of the batch:
 * the n samples are split into {@code groups} groups of n / groups samples, sample i in group i mod groups
 * (the reference MoCo SplitBatchNorm's {@code view(-1, C * groups, H, W)}), and each group is normalised
 * with its own per-channel mean and variance. groups = 1 is plain BN; groups > 1 emulates the per-GPU
 * statistics that MoCo's shuffle-BN relies on.
 */
public record BatchNormShape(int n, int c, int hw, int groups) {

    public BatchNormShape {
        Checks.positive("batchnorm", "n", n, "c", c, "hw", hw, "groups", groups);
        if (n % groups != 0)
            throw new IllegalArgumentException("batchnorm: batch " + n + " is not divisible by groups " + groups);
    }

    public long size() { return (long) n * c * hw; }
    /** Size of the saved per-group statistics (mean, inverse std): groups x c. */
    public int statsSize() { return groups * c; }
    /** Samples per group. */
    public int groupSize() { return n / groups; }
}
