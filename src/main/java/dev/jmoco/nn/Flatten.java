package dev.jmoco.nn;

import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

/** [n, c, h, w] to [n, c*h*w] without copying (torch.flatten(x, 1)). */
public record Flatten() implements StatelessModule {
    @Override
    public Tensor forward(ParameterArena arena, Tensor x, Mode mode) { return x.flatten(); }
}
