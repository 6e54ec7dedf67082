package dev.jmoco.nn;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

/** Max pooling over square windows; padding counts as -infinity (torch.nn.MaxPool2d). */
public record MaxPool2d(int window, int stride, int pad) implements StatelessModule {
    @Override
    public Tensor forward(ParameterArena arena, Tensor x, Mode mode) { return Ops.maxPool2d(x, window, stride, pad); }
}
