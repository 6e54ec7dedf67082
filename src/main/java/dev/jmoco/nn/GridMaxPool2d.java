package dev.jmoco.nn;

import dev.jmoco.autograd.Ops;
import dev.jmoco.autograd.ParameterArena;
import dev.jmoco.autograd.Tensor;

/**
 * Max pooling to a 2x2 grid over a square map, as {@code torch.nn.AdaptiveMaxPool2d(2)}: for a side of s,
 * the four windows are ceil(s/2) wide with stride floor(s/2), so an odd side gives overlapping quadrants
 * (7x7: windows 0-3 and 3-6), an even side disjoint halves; one ordinary max pool either way.
 */
public record GridMaxPool2d() implements StatelessModule {
    @Override
    public Tensor forward(ParameterArena arena, Tensor x, Mode mode) {
        int h = x.dim(2), w = x.dim(3);
        if (h != w || h < 2)
            throw new IllegalArgumentException("2x2 grid max pool: needs a square map of side >= 2, got " + h + "x" + w
                    + " (the small CNN takes square images of at least 5x5)");
        return Ops.maxPool2d(x, (h + 1) / 2, h / 2, 0);
    }
}
