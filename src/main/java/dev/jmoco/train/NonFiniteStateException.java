package dev.jmoco.train;

/**
 * A tensor of the run's state (a weight, SGD's velocity, a BN running statistic, the queue or the memory bank)
 * holds NaN or an infinity, so it is not saved: the loss can stay finite while, say, a running variance has
 * overflowed (train-mode BN does not read it), and a checkpoint of that state would only diverge again on
 * resume.
 */
public final class NonFiniteStateException extends ArithmeticException {
    private static final long serialVersionUID = 1L;
    private final String tensor;

    NonFiniteStateException(String tensor, int index, float value) {
        super("tensor " + tensor + " holds " + value + " at element " + index);
        this.tensor = tensor;
    }

    /** The checkpoint name of the first non-finite tensor. */
    public String tensor() { return tensor; }
}
