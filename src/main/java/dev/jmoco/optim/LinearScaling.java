package dev.jmoco.optim;

/**
 * The linear scaling rule (Goyal et al. 2017) as MoCo states its rates: {@code lr = base * batch / 256}, so
 * MoCo's 0.03 for a batch of 256 becomes 0.06 for 512.
 */
public final class LinearScaling {
    /** The batch size the papers quote their base rates for. */
    public static final int REFERENCE_BATCH = 256;

    private LinearScaling() {}

    /** {@code baseLr * batchSize / 256}. */
    public static double lr(double baseLr, int batchSize) {
        ScheduleChecks.base("linear scaling", baseLr);
        if (batchSize <= 0)
            throw new IllegalArgumentException("linear scaling: batchSize must be > 0, got " + batchSize);
        return baseLr * batchSize / REFERENCE_BATCH;
    }
}
