package dev.jmoco.autograd;

/**
 * Thrown when a loss is read and turns out NaN or infinite: training has diverged (learning rate too high,
 * a temperature too small, bad input) and continuing would only spread NaNs through the parameters.
 */
public final class NonFiniteLossException extends ArithmeticException {
    private static final long serialVersionUID = 1L;
    private final String op;
    private final double value;

    public NonFiniteLossException(String op, double value) {
        super(op + ": loss is " + value);
        this.op = op;
        this.value = value;
    }

    /** The loss op that produced the value ("infoNce", "softmaxCrossEntropy"). */
    public String op() { return op; }

    /** The non-finite value (NaN or an infinity). */
    public double value() { return value; }
}
