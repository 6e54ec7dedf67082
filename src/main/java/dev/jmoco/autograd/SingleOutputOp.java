package dev.jmoco.autograd;

import dev.jmoco.backend.Backend;
import dev.jmoco.backend.Buffer;

/**
 * An op with one output whose gradient flows back to its inputs (every op but the fused losses): backward runs
 * only when the output received a gradient, and gets that gradient and the output's backend.
 */
abstract class SingleOutputOp extends Op {
    private final Tensor output;

    SingleOutputOp(String name, Tensor output) {
        super(name);
        this.output = output;
    }

    @Override
    final void backward(Tape tape) {
        Buffer dy = upstream(output);
        if (dy != null) backward(dy, output.backend());
    }

    /** Adds this op's input gradients given {@code dy}, its output's gradient; an input needing none is skipped. */
    abstract void backward(Buffer dy, Backend be);
}
