package dev.jmoco.train;

/**
 * Training stopped because a step's loss was not finite. The step's updates reached the weights, so the
 * trainer is unusable afterwards; the checkpoint on disk is the last good one (written at the end of the last
 * complete epoch) and is never overwritten by a diverged run.
 */
public final class TrainingDivergedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    private final int epoch, step;

    TrainingDivergedException(String message, int epoch, int step, Throwable cause) {
        super(message, cause);
        this.epoch = epoch;
        this.step = step;
    }

    /** The epoch (from 1) of the step whose loss was not finite. */
    public int epoch() { return epoch; }

    /** The step within that epoch, from 1. */
    public int step() { return step; }
}
