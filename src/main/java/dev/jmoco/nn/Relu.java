package dev.jmoco.nn;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

/** max(x, 0). */
public record Relu() implements StatelessModule {
    @Override
    public Tensor forward(ParameterArena arena, Tensor x, Mode mode) { return Ops.relu(x); }
}
