package dev.jmoco.nn;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

/** Mean over each plane, [n, c, h, w] to [n, c]: torchvision's avgpool followed by flatten(x, 1). */
public record GlobalAvgPool() implements StatelessModule {
    @Override
    public Tensor forward(ParameterArena arena, Tensor x, Mode mode) { return Ops.globalAvgPool(x); }
}
