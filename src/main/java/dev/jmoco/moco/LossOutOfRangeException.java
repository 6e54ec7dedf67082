package dev.jmoco.moco;

/**
 * Thrown when a step's InfoNCE loss leaves the range it can take: with unit vectors every logit lies in
 * [-1/t, 1/t], so each loss term lies in [0, log(1 + negatives) + 2/t]. A finite loss outside that range
 * means the numbers are already wrong (features not unit length, overflowed sums); the step's updates have
 * been applied, so the run stops as for a non-finite loss.
 */
public final class LossOutOfRangeException extends ArithmeticException {
    private static final long serialVersionUID = 1L;
    private final double value, bound;

    LossOutOfRangeException(double value, double bound) {
        super("loss " + value + " is outside [0, " + bound + "], the range InfoNCE can take");
        this.value = value;
        this.bound = bound;
    }

    /** The loss the step gave. */
    public double value() { return value; }

    /** The largest loss the step could give. */
    public double bound() { return bound; }
}
