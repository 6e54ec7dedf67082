package dev.jmoco.autograd;

import dev.jmoco.backend.Buffer;
import dev.jmoco.backend.Checks;
import dev.jmoco.trace.Work;

/**
 * One differentiable op after its forward ran: the tensors and statistics its backward needs (the saved
 * context) and the backward itself. Subclasses hold a static {@code apply} (the forward) that validates
 * shapes, allocates the output and the saved context, and runs the backend's forward through {@link Tape#run}.
 */
abstract class Op {
    /** Op name for messages, as in the facade ("conv2d", "linear", ...). */
    final String name;
    /** The output whose gradient backward consumed; freed right after, since every consumer ran before. */
    private Tensor consumed;

    Op(String name) { this.name = name; }

    /**
     * Adds this op's input gradients, given its output's gradient. Runs only when the output received a
     * gradient; an input that does not require one is skipped.
     */
    abstract void backward(Tape tape);

    /**
     * The work of this op's forward ({@code backward} false) or backward pass, counted by hand from its shapes,
     * for the profile's rates; {@link Work#NONE} where not counted.
     */
    Work work(boolean backward) { return Work.NONE; }

    /**
     * Returns buffers saved for backward to the pool: right after this op's backward, or when the tape closes
     * (or right after forward when not recorded). Must be idempotent.
     */
    void release() {}

    /** The output's gradient, or null when backward never reached the output (the op then does nothing). */
    final Buffer upstream(Tensor out) {
        consumed = out;
        return out.hasGrad() ? checked(out, out.grad()) : null;
    }

    /**
     * Frees the gradient of the output that {@link #backward} consumed. The tape records ops in topological
     * order and walks it backwards, so once the producer ran, no op will add to or read that gradient again:
     * at most a few activation gradients are alive at any time instead of all of them.
     */
    final void releaseConsumedGradient() {
        if (consumed != null) consumed.releaseGradient();
        consumed = null;
    }

    /** The gradient of an input, allocated and zeroed on first use, or null if the input needs none. */
    final Buffer gradOf(Tensor in) {
        return in != null && in.requiresGrad() ? checked(in, in.ensureGrad()) : null;
    }

    /** Every gradient must have its tensor's size: a mismatch is a bug in an op, so it fails loudly. */
    private Buffer checked(Tensor t, Buffer g) {
        if (g.size() != t.size())
            throw new IllegalStateException(name + " backward: gradient of " + g.size() + " floats for tensor "
                    + Checks.shape(t.shape()) + " (" + t.size() + ")");
        return g;
    }
}
