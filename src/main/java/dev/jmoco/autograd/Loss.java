package dev.jmoco.autograd;

import dev.jmoco.trace.Trace;

/**
 * The result of a fused loss op: {@code value} is the scalar [1] to pass to {@link Tape#backward(Tensor...)},
 * {@code stats} the [3] tensor [loss, acc@1, acc@5] it is a slice of. Reading is explicit ({@link #read}) so
 * a training step downloads three floats once, when it wants to log them.
 */
public record Loss(String op, Tensor value, Tensor stats) implements AutoCloseable {

    /** Loss and top-1 / top-5 accuracy of the positive (fractions of the rows). */
    public record Stats(double loss, double acc1, double acc5) {}

    /**
     * Downloads the statistics (waits for queued work).
     *
     * @throws NonFiniteLossException if the loss is NaN or infinite
     */
    public Stats read() {
        float[] s;
        try (Trace.Scope slice = Trace.scope("loss read-back", "transfer")) {
            s = stats.toArray();
        }
        if (!Float.isFinite(s[0])) throw new NonFiniteLossException(op, s[0]);
        return new Stats(s[0], s[1], s[2]);
    }

    /** Releases the statistics when the loss was computed outside a tape (inside one, the tape does). */
    @Override
    public void close() { value.close(); }
}
