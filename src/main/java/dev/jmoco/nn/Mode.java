package dev.jmoco.nn;

/**
 * How a forward pass treats batch norm. Training: statistics of the batch, taken per group of
 * {@code bnGroups} (sample i in group i mod bnGroups; more than one group emulates MoCo's shuffle-BN on one
 * device), and the running statistics are updated. Eval: the running statistics, left unchanged; eval-mode
 * batch norm has no backward, so run it in {@code Tape.noGrad()} or on an arena without gradients.
 */
public record Mode(boolean training, int bnGroups) {
    /** Batch statistics over the whole batch. */
    public static final Mode TRAIN = new Mode(true, 1);
    /** Running statistics (kNN, linear probe, embedding). */
    public static final Mode EVAL = new Mode(false, 1);

    public Mode {
        if (bnGroups < 1) throw new IllegalArgumentException("mode: bnGroups must be >= 1, got " + bnGroups);
        if (!training && bnGroups != 1)
            throw new IllegalArgumentException("mode: eval uses running statistics, bnGroups must be 1");
    }

    /** Training with batch-norm statistics per group (shuffle-BN splits). */
    public static Mode train(int bnGroups) { return new Mode(true, bnGroups); }
}
